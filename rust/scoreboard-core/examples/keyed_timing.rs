//! Times keyed (daily windows x 20 segments) updates on 1M-row chunks (development aid:
//! `cargo run --release --example keyed_timing`). The benchmarks of record are in benches/.
//!
//! * binary at a threshold, one chunk updated again and again (warm caches): keys given as
//!   values, and fused (raw timestamps and dictionary indices), against the plain update;
//! * the same over 20 chunks read once each, as a file's chunks are (cold: memory traffic, not
//!   arithmetic, sets the pace), one day each and a day and a half each (runs of rows in one
//!   pane), and the latter in hourly windows (36 runs a chunk);
//! * regression, whose accumulator has no one-pass keyed kernel: rows are grouped by cell,
//!   gathered and folded per cell.
use scoreboard_core::cells::{CellIndex, KeyColumn};
use scoreboard_core::{Chunk, Executor, Plan, Values};
use std::time::{Duration, Instant};

mod common;

const BINARY: &str = r#"{"format_version":1,"plan_hash":"h","task":"binary","max_classes":10,
    "accumulators":[{"kind":"binary_confusion","y_true":"y","y_pred":"p","positive":1,
    "negative":0,"threshold":0.5}],"metrics":[{"name":"f1","kind":"f1","accumulator":0}]}"#;
const REGRESSION: &str = r#"{"format_version":1,"plan_hash":"h","task":"regression",
    "max_classes":10,"accumulators":[{"kind":"regression_moments","y_true":"y","y_pred":"p"}],
    "metrics":[{"name":"mse","kind":"mse","accumulator":0}]}"#;
const DAY_US: i64 = 86_400_000_000;
const ROWS: usize = 1 << 20;

/// One chunk: labels, scores in [0, 1), sorted microsecond stamps over `span_us` from `start_us`,
/// and dictionary indices of 20 segment values.
struct Columns {
    y: Vec<i8>,
    s: Vec<f64>,
    ts: Vec<i64>,
    indices: Vec<i32>,
}

fn columns(rng: &mut common::Rng, start_us: i64, span_us: u64) -> Columns {
    let mut ts: Vec<i64> = (0..ROWS)
        .map(|_| start_us + (rng.next_u64() % span_us.max(1)) as i64)
        .collect();
    ts.sort_unstable();
    Columns {
        y: (0..ROWS).map(|_| (rng.next_u64() % 10 < 3) as i8).collect(),
        s: (0..ROWS)
            .map(|_| (rng.next_u64() % 1000) as f64 / 1e3)
            .collect(),
        ts,
        indices: (0..ROWS).map(|_| (rng.next_u64() % 20) as i32).collect(),
    }
}

fn fused<'a>(c: &'a Columns, codes: &'a [i64]) -> [KeyColumn<'a>; 2] {
    [
        KeyColumn::Panes {
            column: "ts",
            stamps: &c.ts,
            unit_ns: 1_000,
            origin_ns: 0,
            width_ns: DAY_US * 1_000,
        },
        KeyColumn::Codes {
            indices: &c.indices,
            codes,
        },
    ]
}

/// The keyed (panes of `pane_us`, and the segment) and plain updates of `chunks`, each timed
/// over every chunk once.
fn read_once(chunks: &[Columns], codes: &[i64], pane_us: i64) -> (Duration, Duration) {
    let mut keyed = Executor::new(Plan::from_json(BINARY).unwrap());
    let mut plain = Executor::new(Plan::from_json(BINARY).unwrap());
    let (mut keyed_time, mut plain_time) = (Duration::ZERO, Duration::ZERO);
    for c in chunks {
        let chunk = Chunk::new()
            .with("y", Values::I8(&c.y))
            .unwrap()
            .with("p", Values::F64(&c.s))
            .unwrap();
        let mut keys = fused(c, codes);
        if let KeyColumn::Panes { width_ns, .. } = &mut keys[0] {
            *width_ns = pane_us * 1_000;
        }
        let t = Instant::now();
        keyed.update_cells(&chunk, &keys).unwrap();
        keyed_time += t.elapsed();
        let t = Instant::now();
        plain.update(&chunk).unwrap();
        plain_time += t.elapsed();
    }
    (keyed_time, plain_time)
}

/// The fastest of 20 runs.
fn fastest(f: impl FnMut()) -> Duration {
    common::fastest(20, f)
}

fn main() {
    let mut rng = common::Rng::new();
    let codes: Vec<i64> = (0..20).rev().collect();
    // Warm: one chunk over a day and a half, again and again.
    let warm = columns(&mut rng, 20_000 * DAY_US, 3 * DAY_US as u64 / 2);
    let chunk = Chunk::new()
        .with("y", Values::I8(&warm.y))
        .unwrap()
        .with("p", Values::F64(&warm.s))
        .unwrap();
    let day: Vec<i64> = warm.ts.iter().map(|t| t.div_euclid(DAY_US)).collect();
    let seg: Vec<i64> = warm.indices.iter().map(|&i| codes[i as usize]).collect();
    let given = [KeyColumn::Values(&day), KeyColumn::Values(&seg)];
    for (label, keys) in [("given keys", given), ("fused keys", fused(&warm, &codes))] {
        let mut exec = Executor::new(Plan::from_json(BINARY).unwrap());
        let update = fastest(|| exec.update_cells(&chunk, &keys).unwrap());
        let mut index = CellIndex::default();
        let assign = fastest(|| {
            std::hint::black_box(index.assign(&keys, ROWS).unwrap());
        });
        println!("binary, {label}: keyed update {update:?}; row-by-row cell assignment {assign:?}");
    }
    let mut plain = Executor::new(Plan::from_json(BINARY).unwrap());
    let update = fastest(|| plain.update(&chunk).unwrap());
    println!("binary, plain update {update:?} (chunks of {ROWS} rows)");

    // Cold: 20 chunks, one day each, each read once.
    let chunks: Vec<Columns> = (0..20)
        .map(|d| columns(&mut rng, (20_000 + d) * DAY_US, DAY_US as u64))
        .collect();
    let (keyed, plain) = read_once(&chunks, &codes, DAY_US);
    println!("binary, 20 chunks read once: keyed {keyed:?}, plain {plain:?}");

    // Cold, 20 chunks of a day and a half each (as 1M-row groups of a time-ordered file): each
    // chunk folds as the runs of rows within one pane, in daily and in hourly windows.
    let spread: Vec<Columns> = (0..20)
        .map(|d| {
            let start_us = 20_000 * DAY_US + d * 3 * DAY_US / 2;
            columns(&mut rng, start_us, 3 * DAY_US as u64 / 2)
        })
        .collect();
    let (keyed, plain) = read_once(&spread, &codes, DAY_US);
    println!("binary, 20 chunks of a day and a half read once: keyed {keyed:?}, plain {plain:?}");
    let (hourly, _) = read_once(&spread, &codes, DAY_US / 24);
    println!("binary, the same in hourly windows: keyed {hourly:?}");

    // Gathered per cell: regression.
    let chunk = Chunk::new()
        .with("y", Values::F64(&warm.s))
        .unwrap()
        .with("p", Values::F64(&chunks[0].s))
        .unwrap();
    let mut keyed = Executor::new(Plan::from_json(REGRESSION).unwrap());
    let update = fastest(|| keyed.update_cells(&chunk, &fused(&warm, &codes)).unwrap());
    let mut plain = Executor::new(Plan::from_json(REGRESSION).unwrap());
    let plain_update = fastest(|| plain.update(&chunk).unwrap());
    println!("regression: keyed update {update:?}, plain {plain_update:?}");
}
