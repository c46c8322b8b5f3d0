//! Times the binary confusion kernel on 20M rows (development aid: `cargo run --release
//! --example kernel_timing`). The benchmarks of record are in benches/.
use scoreboard_core::accum::binary::BinaryLabels;
use scoreboard_core::accum::BinaryConfusion;
use scoreboard_core::plan::Label;
use scoreboard_core::Values;
use std::time::Instant;

mod common;

fn main() {
    let n = 20_000_000usize;
    let mut rng = common::Rng::new();
    let y: Vec<i8> = (0..n).map(|_| (rng.next_u64() % 10 < 3) as i8).collect();
    let s: Vec<f64> = (0..n)
        .map(|_| (rng.next_u64() % 1_000_000) as f64 / 1e6)
        .collect();
    let hard: Vec<bool> = s.iter().map(|&v| v >= 0.5).collect();
    let (p, q) = (Label::Int(1), Label::Int(0));
    let labels = BinaryLabels::new(&p, &q);
    for _ in 0..5 {
        let t = Instant::now();
        let mut c = BinaryConfusion::default();
        c.update(
            ("y", Values::I8(&y)),
            ("s", Values::F64(&s)),
            &labels,
            Some(0.5),
        )
        .unwrap();
        let scores = t.elapsed();
        let t = Instant::now();
        let mut d = BinaryConfusion::default();
        d.update(
            ("y", Values::I8(&y)),
            ("p", Values::Bool(&hard)),
            &labels,
            None,
        )
        .unwrap();
        assert_eq!(c, d);
        println!("scores {scores:?}, hard labels {:?}", t.elapsed());
    }
}
