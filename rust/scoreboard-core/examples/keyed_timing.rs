//! Times keyed (windows x segments) updates on 1M-row chunks (development aid:
//! `cargo run --release --example keyed_timing`). The benchmarks of record are in benches/.
use scoreboard_core::{Chunk, Executor, Plan, Values};
use std::time::Instant;

const PLAN: &str = r#"{"format_version":1,"plan_hash":"h","task":"binary","max_classes":10,
    "accumulators":[{"kind":"binary_confusion","y_true":"y","y_pred":"p","positive":1,
    "negative":0,"threshold":0.5}],"metrics":[{"name":"f1","kind":"f1","accumulator":0}]}"#;

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
    let day: Vec<i64> = (0..n).map(|_| 20_000 + (rnd() % 30) as i64).collect();
    let seg: Vec<i64> = (0..n).map(|_| (rnd() % 20) as i64).collect();
    let chunk = Chunk::new()
        .with("y", Values::I8(&y))
        .unwrap()
        .with("p", Values::F64(&s))
        .unwrap();
    let mut exec = Executor::new(Plan::from_json(PLAN).unwrap());
    let t = Instant::now();
    for _ in 0..20 {
        exec.update_keyed(&chunk, &[&day, &seg]).unwrap();
    }
    println!("20 keyed chunks of {n} rows: {:?}", t.elapsed());
    let mut index = scoreboard_core::cells::CellIndex::default();
    let t = Instant::now();
    for _ in 0..20 {
        std::hint::black_box(index.assign(&[&day, &seg], n));
    }
    println!("20 cell assignments: {:?}", t.elapsed());
    let mut plain = Executor::new(Plan::from_json(PLAN).unwrap());
    let t = Instant::now();
    for _ in 0..20 {
        plain.update(&chunk).unwrap();
    }
    println!("20 plain chunks: {:?}", t.elapsed());
}
