//! Times the threshold-free binary states on 20M rows (development aid: `cargo run --release
//! --example auc_timing`): exact score runs (update, then ROC AUC + AP) and the 65,536-bin
//! histogram. The scores follow benches/bench_catalogue.py: clipped normals, mostly distinct.
//! The benchmarks of record are in benches/.
use scoreboard_core::accum::binary::BinaryLabels;
use scoreboard_core::accum::{ScoreHistogram, ScoreRuns};
use scoreboard_core::metrics::scores::finalize_exact;
use scoreboard_core::plan::{Label, MetricSpec};
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
    let metric = |kind: &str| -> MetricSpec {
        serde_json::from_str(&format!(
            r#"{{"name": "{kind}", "kind": "{kind}", "accumulator": 0}}"#
        ))
        .unwrap()
    };
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
        // As the engine finalizes them: each metric on its own.
        let auc = finalize_exact(&metric("roc_auc"), &runs);
        let ap = finalize_exact(&metric("pr_auc"), &runs);
        let finalize = t.elapsed();
        let t = Instant::now();
        let mut h = ScoreHistogram::new(65_536);
        h.update(("y", Values::I8(&y)), ("s", Values::F64(&s)), None, &labels)
            .unwrap();
        let binned = t.elapsed();
        println!(
            "exact: update {update:?} + finalize {finalize:?} ({} points, auc {:?}, ap {:?}); \
             binned update {binned:?}",
            runs.points().len(),
            auc.value,
            ap.value
        );
    }
}
