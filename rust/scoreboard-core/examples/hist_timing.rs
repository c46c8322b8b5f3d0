//! Times the 65,536-bin score histogram update on 20M rows (development aid: `cargo run
//! --release --example hist_timing`). The benchmarks of record are in benches/.
use scoreboard_core::accum::binary::BinaryLabels;
use scoreboard_core::accum::ScoreHistogram;
use scoreboard_core::plan::Label;
use scoreboard_core::Values;

mod common;

fn main() {
    let n = common::env_size("ROWS", 20_000_000);
    let mut rng = common::Rng::new();
    // As benches/: 30% positives, a noisy sigmoid of the label (Box-Muller normals).
    let y: Vec<i8> = (0..n).map(|_| (rng.uniform() < 0.3) as i8).collect();
    let s: Vec<f64> = y
        .iter()
        .map(|&label| {
            let (u, v) = (rng.uniform().max(1e-300), rng.uniform());
            let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            let logit = normal + if label == 1 { 1.5 } else { -1.5 };
            1.0 / (1.0 + (-logit).exp())
        })
        .collect();
    let (p, q) = (Label::Int(1), Label::Int(0));
    let labels = BinaryLabels::new(&p, &q);
    let mut total = 0;
    let best = common::fastest(15, || {
        let mut h = ScoreHistogram::new(65_536);
        h.update(("y", Values::I8(&y)), ("s", Values::F64(&s)), None, &labels)
            .unwrap();
        total += h.n();
    });
    println!(
        "{n} rows: {best:?} ({:.2} G rows/s)",
        n as f64 / best.as_secs_f64() / 1e9
    );
    assert_eq!(total, 15 * n as u64);
}
