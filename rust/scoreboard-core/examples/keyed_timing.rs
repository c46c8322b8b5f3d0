//! Times keyed (windows x segments) updates on 1M-row chunks (development aid:
//! `cargo run --release --example keyed_timing`). The benchmarks of record are in benches/.
use scoreboard_core::cells::{CellIndex, KeyColumn};
use scoreboard_core::{Chunk, Executor, Plan, Values};
use std::time::Instant;

const PLAN: &str = r#"{"format_version":1,"plan_hash":"h","task":"binary","max_classes":10,
    "accumulators":[{"kind":"binary_confusion","y_true":"y","y_pred":"p","positive":1,
    "negative":0,"threshold":0.5}],"metrics":[{"name":"f1","kind":"f1","accumulator":0}]}"#;
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
    let y: Vec<i8> = (0..n).map(|_| (rnd() % 10 < 3) as i8).collect();
    let s: Vec<f64> = (0..n).map(|_| (rnd() % 1000) as f64 / 1e3).collect();
    // Microsecond timestamps over 1.5 days, sorted (as in a time-ordered row group).
    let mut ts: Vec<i64> = (0..n)
        .map(|_| 20_000 * DAY_US + (rnd() % (3 * DAY_US as u64 / 2)) as i64)
        .collect();
    ts.sort_unstable();
    let day: Vec<i64> = ts.iter().map(|t| t.div_euclid(DAY_US)).collect();
    let indices: Vec<i32> = (0..n).map(|_| (rnd() % 20) as i32).collect();
    let codes: Vec<i64> = (0..20).rev().collect();
    let seg: Vec<i64> = indices.iter().map(|&i| codes[i as usize]).collect();
    let chunk = Chunk::new()
        .with("y", Values::I8(&y))
        .unwrap()
        .with("p", Values::F64(&s))
        .unwrap();
    let given = [KeyColumn::Values(&day), KeyColumn::Values(&seg)];
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
    // The fastest of 20 single-chunk runs: the machine may be shared, and the minimum is the
    // least disturbed figure.
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
    for (label, keys) in [("given keys", &given), ("fused keys", &fused)] {
        let mut exec = Executor::new(Plan::from_json(PLAN).unwrap());
        let update = fastest(&mut || exec.update_cells(&chunk, keys).unwrap());
        let mut index = CellIndex::default();
        let assign = fastest(&mut || {
            std::hint::black_box(index.assign(keys, n).unwrap());
        });
        println!("{label}: keyed update {update:?}, of which cell assignment {assign:?}");
    }
    let mut plain = Executor::new(Plan::from_json(PLAN).unwrap());
    let update = fastest(&mut || plain.update(&chunk).unwrap());
    println!("plain update {update:?} (chunks of {n} rows)");
}
