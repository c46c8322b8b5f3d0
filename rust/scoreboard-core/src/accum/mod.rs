//! Accumulators: the sufficient statistics of a plan, one file per family. Each has `update`
//! (fold one chunk in), `merge` (associative, commutative, empty state is identity) and is plain
//! serde data so a state can travel between threads, processes and runs.

pub mod binary;
pub mod class_scores;
pub mod column_stats;
pub mod error_sums;
pub mod exact_values;
pub mod moments;
pub mod multiclass;
mod prefault;
pub mod quantile_sketch;
mod radix;
pub mod score_histogram;
pub mod scores;
pub mod thresholds;
pub mod weighted;
pub mod weighted_scores;

use serde::{Deserialize, Serialize};

use crate::column::Chunk;
use crate::error::{CoreError, Result};
use crate::plan::AccumulatorSpec;

pub use binary::BinaryConfusion;
pub use class_scores::ClassScores;
pub use column_stats::ColumnStats;
pub use error_sums::ErrorSums;
pub use exact_values::ExactValues;
pub use moments::RegressionMoments;
pub use multiclass::MulticlassConfusion;
pub use quantile_sketch::QuantileSketch;
pub use score_histogram::ScoreHistogram;
pub use scores::ScoreRuns;
pub use thresholds::ThresholdConfusion;
pub use weighted::{WeightedConfusion, WeightedMoments};
pub use weighted_scores::WeightedScoreRuns;

/// Rows per block in the kernels: small enough that a block's scratch lives in L1.
pub(crate) const BLOCK: usize = 4096;
/// Below this many rows a chunk is processed on the calling thread (parallel start-up would cost
/// more than it saves, and services send small batches).
pub(crate) const PARALLEL_MIN_ROWS: usize = 1 << 18;

/// The state of one accumulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccState {
    Binary(BinaryConfusion),
    Multiclass(MulticlassConfusion),
    Moments(RegressionMoments),
    ScoreRuns(ScoreRuns),
    ScoreHistogram(ScoreHistogram),
    Thresholds(ThresholdConfusion),
    ColumnStats(ColumnStats),
    ErrorSums(ErrorSums),
    ExactValues(ExactValues),
    QuantileSketch(QuantileSketch),
    ClassScores(ClassScores),
    WeightedBinary(WeightedConfusion),
    WeightedScoreRuns(WeightedScoreRuns),
    WeightedMoments(WeightedMoments),
}

impl AccState {
    pub fn empty(spec: &AccumulatorSpec, max_classes: usize) -> AccState {
        match spec {
            AccumulatorSpec::BinaryConfusion { .. } => AccState::Binary(BinaryConfusion::default()),
            AccumulatorSpec::MulticlassConfusion { labels, weight, .. } => {
                AccState::Multiclass(match weight {
                    Some(_) => MulticlassConfusion::new_weighted(labels.clone(), max_classes),
                    None => MulticlassConfusion::new(labels.clone(), max_classes),
                })
            }
            AccumulatorSpec::RegressionMoments { .. } => {
                AccState::Moments(RegressionMoments::default())
            }
            AccumulatorSpec::ScoreRuns { .. } => AccState::ScoreRuns(ScoreRuns::default()),
            AccumulatorSpec::ScoreHistogram { bins, weight, .. } => {
                AccState::ScoreHistogram(match weight {
                    Some(_) => ScoreHistogram::new_weighted(*bins),
                    None => ScoreHistogram::new(*bins),
                })
            }
            AccumulatorSpec::ThresholdConfusion { thresholds, .. } => {
                AccState::Thresholds(ThresholdConfusion::new(thresholds))
            }
            AccumulatorSpec::ColumnStats { .. } => AccState::ColumnStats(ColumnStats::default()),
            AccumulatorSpec::QuantileSketch { .. } => {
                AccState::QuantileSketch(QuantileSketch::default())
            }
            AccumulatorSpec::ClassScores {
                scores,
                ks,
                curves,
                weight,
                ..
            } => AccState::ClassScores(match weight {
                Some(_) => ClassScores::new_weighted(scores.len(), ks, *curves),
                None => ClassScores::new(scores.len(), ks, *curves),
            }),
            AccumulatorSpec::WeightedBinaryConfusion { .. } => {
                AccState::WeightedBinary(WeightedConfusion::default())
            }
            AccumulatorSpec::WeightedScoreRuns { .. } => {
                AccState::WeightedScoreRuns(WeightedScoreRuns::default())
            }
            AccumulatorSpec::WeightedRegressionMoments { .. } => {
                AccState::WeightedMoments(WeightedMoments::default())
            }
            AccumulatorSpec::ErrorSums { alphas, .. } => {
                AccState::ErrorSums(ErrorSums::new(alphas))
            }
            AccumulatorSpec::ExactValues { weight, .. } => AccState::ExactValues(match weight {
                Some(_) => ExactValues::new_weighted(),
                None => ExactValues::default(),
            }),
        }
    }

    pub fn update(&mut self, spec: &AccumulatorSpec, chunk: &Chunk<'_>) -> Result<()> {
        match (self, spec) {
            (
                AccState::Binary(state),
                AccumulatorSpec::BinaryConfusion {
                    y_true,
                    y_pred,
                    positive,
                    negative,
                    threshold,
                },
            ) => {
                let labels = binary::BinaryLabels::new(positive, negative);
                state.update(
                    (y_true, chunk.get(y_true)?),
                    (y_pred, chunk.get(y_pred)?),
                    &labels,
                    *threshold,
                )
            }
            (
                AccState::Multiclass(state),
                AccumulatorSpec::MulticlassConfusion {
                    y_true,
                    y_pred,
                    weight,
                    ..
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_pred, chunk.get(y_pred)?),
                optional_column(chunk, weight)?,
            ),
            (AccState::Moments(state), AccumulatorSpec::RegressionMoments { y_true, y_pred }) => {
                state.update((y_true, chunk.get(y_true)?), (y_pred, chunk.get(y_pred)?))
            }
            (
                AccState::ScoreRuns(state),
                AccumulatorSpec::ScoreRuns {
                    y_true,
                    y_score,
                    positive,
                    negative,
                    unit_interval,
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_score, chunk.get(y_score)?),
                &binary::BinaryLabels::new(positive, negative),
                *unit_interval,
            ),
            (
                AccState::ScoreHistogram(state),
                AccumulatorSpec::ScoreHistogram {
                    y_true,
                    y_score,
                    positive,
                    negative,
                    weight,
                    ..
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_score, chunk.get(y_score)?),
                optional_column(chunk, weight)?,
                &binary::BinaryLabels::new(positive, negative),
            ),
            (
                AccState::Thresholds(state),
                AccumulatorSpec::ThresholdConfusion {
                    y_true,
                    y_score,
                    positive,
                    negative,
                    weight,
                    ..
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_score, chunk.get(y_score)?),
                optional_column(chunk, weight)?,
                &binary::BinaryLabels::new(positive, negative),
            ),
            (AccState::ColumnStats(state), AccumulatorSpec::ColumnStats { column }) => {
                state.update((column, chunk.get(column)?))
            }
            (AccState::QuantileSketch(state), AccumulatorSpec::QuantileSketch { column }) => {
                state.update((column, chunk.get(column)?))
            }
            (
                AccState::ClassScores(state),
                AccumulatorSpec::ClassScores {
                    y_true,
                    scores,
                    labels,
                    unit_interval,
                    weight,
                    interval_groups,
                    ..
                },
            ) => {
                let columns = scores
                    .iter()
                    .map(|c| Ok((c.as_str(), chunk.get(c)?)))
                    .collect::<Result<Vec<_>>>()?;
                state.update(
                    (y_true, chunk.get(y_true)?),
                    &columns,
                    optional_column(chunk, weight)?,
                    labels,
                    *unit_interval,
                    *interval_groups,
                )
            }
            (
                AccState::WeightedBinary(state),
                AccumulatorSpec::WeightedBinaryConfusion {
                    y_true,
                    y_pred,
                    positive,
                    negative,
                    threshold,
                    weight,
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_pred, chunk.get(y_pred)?),
                (weight, chunk.get(weight)?),
                &binary::BinaryLabels::new(positive, negative),
                *threshold,
            ),
            (
                AccState::WeightedScoreRuns(state),
                AccumulatorSpec::WeightedScoreRuns {
                    y_true,
                    y_score,
                    positive,
                    negative,
                    unit_interval,
                    weight,
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_score, chunk.get(y_score)?),
                (weight, chunk.get(weight)?),
                &binary::BinaryLabels::new(positive, negative),
                *unit_interval,
            ),
            (
                AccState::WeightedMoments(state),
                AccumulatorSpec::WeightedRegressionMoments {
                    y_true,
                    y_pred,
                    weight,
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_pred, chunk.get(y_pred)?),
                (weight, chunk.get(weight)?),
            ),
            (
                AccState::ErrorSums(state),
                AccumulatorSpec::ErrorSums {
                    y_true,
                    y_pred,
                    log,
                    weight,
                    ..
                },
            ) => state.update(
                (y_true, chunk.get(y_true)?),
                (y_pred, chunk.get(y_pred)?),
                optional_column(chunk, weight)?,
                *log,
            ),
            (AccState::ExactValues(state), AccumulatorSpec::ExactValues { columns, weight }) => {
                let values = columns
                    .iter()
                    .map(|c| Ok((c.as_str(), chunk.get(c)?)))
                    .collect::<Result<Vec<_>>>()?;
                state.update(&values, optional_column(chunk, weight)?)
            }
            _ => Err(CoreError::IncompatibleState(
                "accumulator state does not match its spec".into(),
            )),
        }
    }

    /// Per-cell states of one chunk computed in a single pass over the rows, for the
    /// accumulators that can (binary confusions); `None` when this one cannot, or when the chunk
    /// holds an invalid value or a cell id of `cell_count` or more (the grouped path then reports
    /// it).
    pub fn update_cells(
        spec: &AccumulatorSpec,
        chunk: &Chunk<'_>,
        cells: &[u32],
        cell_count: usize,
    ) -> Option<Vec<AccState>> {
        let AccumulatorSpec::BinaryConfusion {
            y_true,
            y_pred,
            positive,
            negative,
            threshold,
        } = spec
        else {
            return None;
        };
        let labels = binary::BinaryLabels::new(positive, negative);
        let mut out = vec![BinaryConfusion::default(); cell_count];
        let (t, p) = (chunk.get(y_true).ok()?, chunk.get(y_pred).ok()?);
        BinaryConfusion::update_cells(t, p, &labels, *threshold, cells, &mut out)
            .then(|| out.into_iter().map(AccState::Binary).collect())
    }

    /// Rows counted, for the states that know it (a binary confusion: every row is one count).
    pub fn rows(&self) -> Option<u64> {
        match self {
            AccState::Binary(state) => Some(state.n()),
            _ => None,
        }
    }

    pub fn merge(&mut self, other: &AccState) -> Result<()> {
        match (self, other) {
            (AccState::Binary(a), AccState::Binary(b)) => a.merge(b),
            (AccState::Multiclass(a), AccState::Multiclass(b)) => a.merge(b),
            (AccState::Moments(a), AccState::Moments(b)) => {
                a.merge(b);
                Ok(())
            }
            (AccState::ScoreRuns(a), AccState::ScoreRuns(b)) => a.merge(b),
            (AccState::ScoreHistogram(a), AccState::ScoreHistogram(b)) => a.merge(b),
            (AccState::Thresholds(a), AccState::Thresholds(b)) => a.merge(b),
            (AccState::ColumnStats(a), AccState::ColumnStats(b)) => a.merge(b),
            (AccState::ErrorSums(a), AccState::ErrorSums(b)) => a.merge(b),
            (AccState::ExactValues(a), AccState::ExactValues(b)) => a.merge(b),
            (AccState::QuantileSketch(a), AccState::QuantileSketch(b)) => a.merge(b),
            (AccState::WeightedBinary(a), AccState::WeightedBinary(b)) => a.merge(b),
            (AccState::ClassScores(a), AccState::ClassScores(b)) => a.merge(b),
            (AccState::WeightedScoreRuns(a), AccState::WeightedScoreRuns(b)) => a.merge(b),
            (AccState::WeightedMoments(a), AccState::WeightedMoments(b)) => a.merge(b),
            _ => Err(CoreError::IncompatibleState(
                "accumulators of different kinds".into(),
            )),
        }
    }
}

/// The named column of a chunk, if a name is given (optional weight columns).
fn optional_column<'s, 'c>(
    chunk: &Chunk<'c>,
    name: &'s Option<String>,
) -> Result<Option<(&'s str, crate::column::Values<'c>)>> {
    match name {
        Some(n) => Ok(Some((n.as_str(), chunk.get(n)?))),
        None => Ok(None),
    }
}

/// Adds two counts, refusing to wrap.
#[inline]
pub(crate) fn add_count(a: u64, b: u64, what: &'static str) -> Result<u64> {
    a.checked_add(b).ok_or(CoreError::Overflow(what))
}

/// Rows per parallel task. Fixed (not derived from the thread count) so that floating-point
/// results depend only on the data and its chunking, never on the machine.
pub(crate) const TASK_ROWS: usize = 1 << 16;

/// `f` over the ranges of `0..len` (see `split_ranges`), in parallel when there are several, and
/// on the calling thread for one: the small chunks of a service, or of one cell, never pay for a
/// trip through the thread pool.
pub(crate) fn map_ranges<T: Send>(
    len: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync + Send,
) -> Vec<T> {
    use rayon::prelude::*;
    let ranges = split_ranges(len);
    if ranges.len() == 1 {
        return ranges.into_iter().map(f).collect();
    }
    ranges.into_par_iter().map(f).collect()
}

/// Consecutive slices of `items` of the given sizes (which must add up to at most its length).
pub(crate) fn split_sizes<'a, T>(mut items: &'a mut [T], sizes: &[usize]) -> Vec<&'a mut [T]> {
    sizes
        .iter()
        .map(|&size| {
            let (head, tail) = std::mem::take(&mut items).split_at_mut(size);
            items = tail;
            head
        })
        .collect()
}

/// Splits `0..len` into contiguous ranges for the parallel kernels (one range when the chunk is
/// small). Partial results are always combined in range order, never in completion order.
pub(crate) fn split_ranges(len: usize) -> Vec<std::ops::Range<usize>> {
    let step = if len < PARALLEL_MIN_ROWS {
        len.max(1)
    } else {
        TASK_ROWS
    };
    (0..len)
        .step_by(step)
        .map(|start| start..(start + step).min(len))
        .collect()
}
