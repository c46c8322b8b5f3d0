//! Times keyed (daily windows x 20 segments) updates of a binary plan over 20 chunks of 1M rows,
//! each read once, as a file's chunks are: memory traffic, not arithmetic, sets the pace
//! (development aid: `cargo run --release --example cold_keyed`). The benchmarks of record are
//! in benches/.
use scoreboard_core::cells::KeyColumn;
use scoreboard_core::{Chunk, Executor, Plan, Values};
use std::time::Instant;

const PLAN: &str = r#"{"format_version":1,"plan_hash":"h","task":"binary","max_classes":10,
    "accumulators":[{"kind":"binary_confusion","y_true":"y","y_pred":"p","positive":1,
    "negative":0,"threshold":0.5}],"metrics":[{"name":"f1","kind":"f1","accumulator":0}]}"#;
const DAY_US: i64 = 86_400_000_000;

fn main() {
    let n = 1 << 20;
    let chunks = 20;
    let mut x: u64 = 1;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    type Columns = (Vec<i8>, Vec<f64>, Vec<i64>, Vec<i32>);
    let data: Vec<Columns> = (0..chunks)
        .map(|c| {
            let y: Vec<i8> = (0..n).map(|_| (rnd() % 10 < 3) as i8).collect();
            let s: Vec<f64> = (0..n).map(|_| (rnd() % 1000) as f64 / 1e3).collect();
            // One day per chunk (as a daily row group).
            // One day per chunk (as a daily row group).
            let ts: Vec<i64> = vec![(20_000 + c as i64) * DAY_US + 5; n];
            let idx: Vec<i32> = (0..n).map(|_| (rnd() % 20) as i32).collect();
            (y, s, ts, idx)
        })
        .collect();
    let codes: Vec<i64> = (0..20).rev().collect();
    for round in 0..3 {
        let mut exec = Executor::new(Plan::from_json(PLAN).unwrap());
        let mut plain = Executor::new(Plan::from_json(PLAN).unwrap());
        let t = Instant::now();
        for (y, s, ts, idx) in &data {
            let chunk = Chunk::new()
                .with("y", Values::I8(y))
                .unwrap()
                .with("p", Values::F64(s))
                .unwrap();
            let keys = [
                KeyColumn::Panes {
                    column: "ts",
                    stamps: ts,
                    unit_ns: 1_000,
                    origin_ns: 0,
                    width_ns: DAY_US * 1_000,
                },
                KeyColumn::Codes {
                    indices: idx,
                    codes: &codes,
                },
            ];
            exec.update_cells(&chunk, &keys).unwrap();
        }
        let keyed = t.elapsed();
        let t = Instant::now();
        for (y, s, _, _) in &data {
            let chunk = Chunk::new()
                .with("y", Values::I8(y))
                .unwrap()
                .with("p", Values::F64(s))
                .unwrap();
            plain.update(&chunk).unwrap();
        }
        println!(
            "round {round}: keyed {:?}, plain {:?} for {} rows",
            keyed,
            t.elapsed(),
            n * chunks
        );
    }
}
