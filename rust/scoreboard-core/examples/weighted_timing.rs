//! Times the weighted kernels on 10M rows (development aid: `cargo run --release --example
//! weighted_timing`; `ROWS=...` to change the size): exact weighted score runs, the weighted
//! confusion at 0.5, the weighted 5-class matrix, weighted confusion at 3 thresholds and the
//! weighted 1,024-bin histogram. Scores are mostly distinct floats, weights gamma-like. The
//! benchmarks of record are in benches/.
use scoreboard_core::accum::binary::BinaryLabels;
use scoreboard_core::accum::{
    MulticlassConfusion, ScoreHistogram, ThresholdConfusion, WeightedConfusion, WeightedScoreRuns,
};
use scoreboard_core::plan::Label;
use scoreboard_core::Values;
use std::time::Duration;

mod common;

fn best(f: impl FnMut()) -> Duration {
    common::fastest(3, f)
}

fn main() {
    let n = common::env_size("ROWS", 10_000_000);
    let mut rng = common::Rng::new();
    let mut uniform = move || rng.uniform();
    let y: Vec<i8> = (0..n).map(|_| (uniform() < 0.3) as i8).collect();
    let s: Vec<f64> = y
        .iter()
        .map(|&l| (0.3 * l as f64 + 0.7 * uniform()).clamp(0.0, 1.0))
        .collect();
    // Sum of two exponentials: Gamma(2, 1).
    let w: Vec<f64> = (0..n)
        .map(|_| -(uniform().max(1e-300)).ln() - (uniform().max(1e-300)).ln())
        .collect();
    let classes: Vec<i64> = (0..n).map(|_| (uniform() * 5.0) as i64).collect();
    let predicted: Vec<i64> = classes
        .iter()
        .map(|&c| {
            if uniform() < 0.7 {
                c
            } else {
                (uniform() * 5.0) as i64
            }
        })
        .collect();
    let (p, q) = (Label::Int(1), Label::Int(0));
    let labels = BinaryLabels::new(&p, &q);
    let (yv, sv, wv) = (
        ("y", Values::I8(&y)),
        ("s", Values::F64(&s)),
        ("w", Values::F64(&w)),
    );

    let runs = best(|| {
        let mut r = WeightedScoreRuns::default();
        r.update(yv, sv, wv, &labels, true).unwrap();
        assert!(!r.points().is_empty());
    });
    let confusion = best(|| {
        let mut c = WeightedConfusion::default();
        c.update(yv, sv, wv, &labels, Some(0.5)).unwrap();
    });
    let multiclass = best(|| {
        let mut m = MulticlassConfusion::new_weighted(None, 100);
        m.update(
            ("t", Values::I64(&classes)),
            ("p", Values::I64(&predicted)),
            Some(wv),
        )
        .unwrap();
    });
    let thresholds = best(|| {
        let mut t = ThresholdConfusion::new(&[0.3, 0.5, 0.7]);
        t.update(yv, sv, Some(wv), &labels).unwrap();
    });
    let histogram = best(|| {
        let mut h = ScoreHistogram::new_weighted(1024);
        h.update(yv, sv, Some(wv), &labels).unwrap();
    });
    println!(
        "{n} rows, best of 3: weighted score runs {runs:?}, confusion {confusion:?}, \
         multiclass (5) {multiclass:?}, thresholds (3) {thresholds:?}, histogram (1024) \
         {histogram:?}"
    );
}
