//! Times the threshold-free binary states on 20M rows (development aid: `cargo run --release
//! --example auc_timing`): exact score runs (update, then ROC AUC + AP) and the 65,536-bin
//! histogram. The scores follow benches/bench_catalogue.py: clipped normals, mostly distinct.
//! The benchmarks of record are in benches/.
use scoreboard_core::accum::binary::BinaryLabels;
use scoreboard_core::accum::{ScoreHistogram, ScoreRuns};
use scoreboard_core::metrics::scores::{average_precision, roc_auc};
use scoreboard_core::plan::{Label, ZeroDivision};
use scoreboard_core::Values;
use std::time::Instant;

mod common;

fn main() {
    let n = common::env_size("ROWS", 20_000_000);
    let mut rng = common::Rng::new();
    let mut uniform = move || rng.uniform();
    let y: Vec<i8> = (0..n).map(|_| (uniform() < 0.3) as i8).collect();
    let s: Vec<f64> = y
        .iter()
        .map(|&l| {
            // Box-Muller: one normal draw per row.
            let (u, v) = (uniform().max(1e-300), uniform());
            let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            (0.35 + 0.3 * l as f64 + 0.2 * z).clamp(0.0, 1.0)
        })
        .collect();
    let (p, q) = (Label::Int(1), Label::Int(0));
    let labels = BinaryLabels::new(&p, &q);
    for _ in 0..5 {
        let t = Instant::now();
        let mut runs = ScoreRuns::default();
        runs.update(
            ("y", Values::I8(&y)),
            ("s", Values::F64(&s)),
            &labels,
            false,
        )
        .unwrap();
        let update = t.elapsed();
        let t = Instant::now();
        let points = runs.points();
        let (pos, neg) = points
            .iter()
            .fold((0, 0), |(a, b), q| (a + q.pos, b + q.neg));
        let auc = roc_auc(points.iter().rev().map(|q| (q.pos, q.neg)), pos, neg);
        let ap = average_precision(
            points.iter().rev().map(|q| (q.pos as f64, q.neg as f64)),
            pos as f64,
            ZeroDivision::default(),
        );
        let finalize = t.elapsed();
        let t = Instant::now();
        let mut h = ScoreHistogram::new(65_536);
        h.update(("y", Values::I8(&y)), ("s", Values::F64(&s)), None, &labels)
            .unwrap();
        let binned = t.elapsed();
        println!(
            "exact: update {update:?} + finalize {finalize:?} ({} points, auc {:?}, ap {:?}); \
             binned update {binned:?}",
            points.len(),
            auc.value,
            ap.value
        );
    }
}
