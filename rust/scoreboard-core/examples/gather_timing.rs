//! Times keyed (daily windows x 20 segments) updates of a regression plan, whose accumulator
//! has no one-pass keyed kernel: rows are grouped by cell, gathered and folded per cell
//! (development aid: `cargo run --release --example gather_timing`).
use scoreboard_core::cells::KeyColumn;
use scoreboard_core::{Chunk, Executor, Plan, Values};
use std::time::Instant;

const PLAN: &str = r#"{"format_version":1,"plan_hash":"h","task":"regression","max_classes":10,
    "accumulators":[{"kind":"regression_moments","y_true":"y","y_pred":"p"}],
    "metrics":[{"name":"mse","kind":"mse","accumulator":0}]}"#;
const DAY_US: i64 = 86_400_000_000;

fn main() {
    let n = 1 << 20;
    let mut x: u64 = 1;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let y: Vec<f64> = (0..n).map(|_| (rnd() % 1000) as f64 / 1e3).collect();
    let s: Vec<f64> = (0..n).map(|_| (rnd() % 1000) as f64 / 1e3).collect();
    let mut ts: Vec<i64> = (0..n)
        .map(|_| 20_000 * DAY_US + (rnd() % (3 * DAY_US as u64 / 2)) as i64)
        .collect();
    ts.sort_unstable();
    let indices: Vec<i32> = (0..n).map(|_| (rnd() % 20) as i32).collect();
    let codes: Vec<i64> = (0..20).rev().collect();
    let chunk = Chunk::new()
        .with("y", Values::F64(&y))
        .unwrap()
        .with("p", Values::F64(&s))
        .unwrap();
    let fused = [
        KeyColumn::Panes {
            column: "ts",
            stamps: &ts,
            unit_ns: 1_000,
            origin_ns: 0,
            width_ns: DAY_US * 1_000,
        },
        KeyColumn::Codes {
            indices: &indices,
            codes: &codes,
        },
    ];
    let fastest = |f: &mut dyn FnMut()| {
        (0..20)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let mut exec = Executor::new(Plan::from_json(PLAN).unwrap());
    let keyed = fastest(&mut || exec.update_cells(&chunk, &fused).unwrap());
    let mut plain = Executor::new(Plan::from_json(PLAN).unwrap());
    let update = fastest(&mut || plain.update(&chunk).unwrap());
    println!("regression: keyed {keyed:?}, plain {update:?} per {n} rows");
}
