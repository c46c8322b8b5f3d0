//! Times the multiclass score state with ROC AUC curves (development aid: `cargo run --release
//! --example class_auc_timing`): K = 10 classes, 2M rows of distinct float scores, fed in one
//! chunk and in 64K-row chunks; then one-vs-rest and one-vs-one macro ROC AUC. `ROWS`, `K` and
//! `CHUNK` override the sizes; `NOCURVES=1` keeps no runs (the update's cost without ROC AUC);
//! `INTERVAL_GROUPS=32` keeps interval groups and also times the grouped DeLong interval of ovr.
//! The benchmarks of record are in benches/.
use scoreboard_core::accum::ClassScores;
use scoreboard_core::metrics::class_scores::{auc_interval, finalize};
use scoreboard_core::plan::{Label, MetricSpec};
use scoreboard_core::Values;
use std::time::Instant;

mod common;

fn main() {
    let env = common::env_size;
    let (n, k, chunk) = (env("ROWS", 2_000_000), env("K", 10), env("CHUNK", 65_536));
    let groups = env("INTERVAL_GROUPS", 0) as u8;
    let mut rng = common::Rng::new();
    let mut uniform = move || rng.uniform();
    let y: Vec<i64> = (0..n).map(|_| (uniform() * k as f64) as i64).collect();
    // Column c leans towards class c: distinct scores, informative but noisy.
    let columns: Vec<Vec<f64>> = (0..k)
        .map(|c| {
            y.iter()
                .map(|&l| uniform() + 0.5 * (l as usize == c) as u8 as f64)
                .collect()
        })
        .collect();
    let labels: Vec<Label> = (0..k as i64).map(Label::Int).collect();
    let names: Vec<String> = (0..k).map(|c| format!("s{c}")).collect();
    let metric = |multi: &str| -> MetricSpec {
        serde_json::from_str(&format!(
            r#"{{"name": "auc", "kind": "roc_auc", "accumulator": 0, "average": "macro",
                "multi_class": "{multi}"}}"#
        ))
        .unwrap()
    };
    let (ovr, ovo) = (metric("ovr"), metric("ovo"));
    for _ in 0..3 {
        for step in [n, chunk] {
            let t = Instant::now();
            let mut state = ClassScores::new(k, &[], std::env::var("NOCURVES").is_err());
            let mut start = 0;
            while start < n {
                let end = (start + step).min(n);
                let scores: Vec<(&str, Values<'_>)> = names
                    .iter()
                    .zip(&columns)
                    .map(|(name, c)| (name.as_str(), Values::F64(&c[start..end])))
                    .collect();
                state
                    .update(
                        ("y", Values::I64(&y[start..end])),
                        &scores,
                        None,
                        &labels,
                        false,
                        groups,
                    )
                    .unwrap();
                start = end;
            }
            let update = t.elapsed();
            let t = Instant::now();
            let a = finalize(&ovr, &state).value;
            let ovr_time = t.elapsed();
            let t = Instant::now();
            let b = finalize(&ovo, &state).value;
            let ovo_time = t.elapsed();
            let t = Instant::now();
            let interval = a.and_then(|v| auc_interval(&ovr, &state, v, 0.95));
            let interval_time = t.elapsed();
            let rate = n as f64 / (update + ovr_time).as_secs_f64() / 1e6;
            println!(
                "chunk {step}: update {update:?}, ovr {ovr_time:?} ({a:?}), ovo {ovo_time:?} \
                 ({b:?}); update+ovr {rate:.2} M rows/s; interval {interval_time:?} {interval:?}"
            );
        }
    }
}
