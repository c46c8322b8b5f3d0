//! Serde mirror of the compiled plan that Python builds (`scoreboard.plan`). Plain data only: the
//! Python side decides *what* to compute; this side only knows *how*.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// Plan format this core understands. Bumped whenever the JSON shape changes.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Binary,
    Multiclass,
    Regression,
}

/// A class label: an integer or a string, as it appears in the data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Int(i64),
    Str(String),
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Int(v) => write!(f, "{v}"),
            Label::Str(s) => write!(f, "{s}"),
        }
    }
}

/// The sufficient statistics a plan keeps. Each is updated once per chunk, however many metrics
/// read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccumulatorSpec {
    /// tp/fp/fn/tn of one binary decision. `threshold: Some(t)` reads `y_pred` as a score and
    /// predicts positive when `score >= t`; `None` reads it as a hard label.
    BinaryConfusion {
        y_true: String,
        y_pred: String,
        positive: Label,
        negative: Label,
        threshold: Option<f64>,
    },
    /// A K x K confusion matrix. `labels: Some(..)` fixes the classes (others are an error);
    /// `None` discovers them in the data.
    MulticlassConfusion {
        y_true: String,
        y_pred: String,
        labels: Option<Vec<Label>>,
        /// Sample weights: the matrix also sums them per cell.
        #[serde(default)]
        weight: Option<String>,
    },
    /// Error and target moments for regression metrics.
    RegressionMoments { y_true: String, y_pred: String },
    /// Exact sorted runs of distinct scores with their label counts (threshold-free binary
    /// metrics). `unit_interval` rejects scores outside [0, 1] (a probabilistic metric reads it).
    ScoreRuns {
        y_true: String,
        y_score: String,
        positive: Label,
        negative: Label,
        #[serde(default)]
        unit_interval: bool,
    },
    /// Confusion counts at each of several thresholds, in one pass (metrics with their own
    /// `threshold`).
    ThresholdConfusion {
        y_true: String,
        y_score: String,
        positive: Label,
        negative: Label,
        thresholds: Vec<f64>,
        #[serde(default)]
        weight: Option<String>,
    },
    /// Count, compensated sum, min and max of one numeric column.
    ColumnStats { column: String },
    /// Sums of squared log errors (`log`) and of pinball losses at each alpha.
    ErrorSums {
        y_true: String,
        y_pred: String,
        #[serde(default)]
        log: bool,
        #[serde(default)]
        alphas: Vec<f64>,
        #[serde(default)]
        weight: Option<String>,
    },
    /// `BinaryConfusion` with sums of sample weights.
    WeightedBinaryConfusion {
        y_true: String,
        y_pred: String,
        positive: Label,
        negative: Label,
        threshold: Option<f64>,
        weight: String,
    },
    /// `ScoreRuns` with sums of sample weights.
    WeightedScoreRuns {
        y_true: String,
        y_score: String,
        positive: Label,
        negative: Label,
        #[serde(default)]
        unit_interval: bool,
        weight: String,
    },
    /// `RegressionMoments` with sample weights.
    WeightedRegressionMoments {
        y_true: String,
        y_pred: String,
        weight: String,
    },
    /// Per-class scores of a multiclass task (one column per class, in `labels` order): log loss,
    /// top-k hits at each of `ks`, and per-column score runs when `curves` (ROC AUC).
    ClassScores {
        y_true: String,
        scores: Vec<String>,
        labels: Vec<Label>,
        #[serde(default)]
        ks: Vec<usize>,
        #[serde(default)]
        curves: bool,
        #[serde(default)]
        unit_interval: bool,
        /// Sample weights, summed alongside the counts.
        #[serde(default)]
        weight: Option<String>,
        /// Interval groups of the score runs (0: none): the grouped DeLong interval of
        /// multiclass ROC AUC (`metrics::class_scores::auc_interval`).
        #[serde(default)]
        interval_groups: u8,
    },
    /// A relative-error quantile sketch of one numeric column.
    QuantileSketch { column: String },
    /// Every value of the columns (O(n) memory): medians and exact quantiles.
    ExactValues {
        columns: Vec<String>,
        /// Sample weights, kept with the values.
        #[serde(default)]
        weight: Option<String>,
    },
    /// A `bins`-bin histogram of positive and negative rows over scores in [0, 1].
    ScoreHistogram {
        y_true: String,
        y_score: String,
        positive: Label,
        negative: Label,
        bins: usize,
        /// Sample weights, summed per bin alongside the counts.
        #[serde(default)]
        weight: Option<String>,
    },
}

impl AccumulatorSpec {
    /// The data columns this accumulator reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            AccumulatorSpec::BinaryConfusion { y_true, y_pred, .. }
            | AccumulatorSpec::MulticlassConfusion {
                y_true,
                y_pred,
                weight: None,
                ..
            }
            | AccumulatorSpec::RegressionMoments { y_true, y_pred } => vec![y_true, y_pred],
            AccumulatorSpec::MulticlassConfusion {
                y_true,
                y_pred,
                weight: Some(weight),
                ..
            } => vec![y_true, y_pred, weight],
            AccumulatorSpec::ScoreRuns {
                y_true, y_score, ..
            }
            | AccumulatorSpec::ThresholdConfusion {
                y_true,
                y_score,
                weight: None,
                ..
            }
            | AccumulatorSpec::ScoreHistogram {
                y_true,
                y_score,
                weight: None,
                ..
            } => vec![y_true, y_score],
            AccumulatorSpec::ScoreHistogram {
                y_true,
                y_score,
                weight: Some(weight),
                ..
            } => vec![y_true, y_score, weight],
            AccumulatorSpec::ThresholdConfusion {
                y_true,
                y_score,
                weight: Some(weight),
                ..
            } => vec![y_true, y_score, weight],
            AccumulatorSpec::ErrorSums {
                y_true,
                y_pred,
                weight,
                ..
            } => {
                let mut out = vec![y_true.as_str(), y_pred.as_str()];
                out.extend(weight.as_deref());
                out
            }
            AccumulatorSpec::WeightedBinaryConfusion {
                y_true,
                y_pred,
                weight,
                ..
            }
            | AccumulatorSpec::WeightedRegressionMoments {
                y_true,
                y_pred,
                weight,
            } => vec![y_true, y_pred, weight],
            AccumulatorSpec::WeightedScoreRuns {
                y_true,
                y_score,
                weight,
                ..
            } => vec![y_true, y_score, weight],
            AccumulatorSpec::ColumnStats { column }
            | AccumulatorSpec::QuantileSketch { column } => {
                vec![column]
            }
            AccumulatorSpec::ClassScores {
                y_true,
                scores,
                weight,
                ..
            } => {
                let mut out = vec![y_true.as_str()];
                out.extend(scores.iter().map(|s| s.as_str()));
                out.extend(weight.as_deref());
                out
            }
            AccumulatorSpec::ExactValues { columns, weight } => columns
                .iter()
                .map(|c| c.as_str())
                .chain(weight.as_deref())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Accuracy,
    Precision,
    Recall,
    F1,
    Fbeta,
    Specificity,
    Npv,
    Fpr,
    Fnr,
    BalancedAccuracy,
    Mcc,
    CohenKappa,
    Jaccard,
    Prevalence,
    PredictedPositiveRate,
    Count,
    Mse,
    Rmse,
    Mae,
    Mape,
    R2,
    ExplainedVariance,
    MaxError,
    MeanError,
    LogLoss,
    Brier,
    RocAuc,
    PrAuc,
    Ece,
    RecallAtPrecision,
    PrecisionAtRecall,
    Msle,
    MedianAbsoluteError,
    MeanPinballLoss,
    D2AbsoluteError,
    Mean,
    Min,
    Max,
    Sum,
    Quantile,
    TopKAccuracy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiClass {
    Ovr,
    Ovo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    Binary,
    Micro,
    Macro,
    Weighted,
    None,
}

/// scikit-learn's `zero_division`: `"warn"` yields 0 (and we record a reason), `"nan"` yields an
/// undefined value, a number yields that number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ZeroDivision {
    Mode(ZeroDivisionMode),
    Value(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroDivisionMode {
    Warn,
    Nan,
}

impl ZeroDivision {
    /// The value a zero denominator produces (`None` is undefined).
    pub fn value(self) -> Option<f64> {
        match self {
            ZeroDivision::Mode(ZeroDivisionMode::Warn) => Some(0.0),
            ZeroDivision::Mode(ZeroDivisionMode::Nan) => None,
            ZeroDivision::Value(v) => Some(v),
        }
    }
}

impl Default for ZeroDivision {
    fn default() -> Self {
        ZeroDivision::Mode(ZeroDivisionMode::Warn)
    }
}

/// One declared metric: its name, how to finalize it, and which accumulator it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    pub name: String,
    pub kind: MetricKind,
    pub accumulator: usize,
    #[serde(default)]
    pub average: Option<Average>,
    #[serde(default)]
    pub beta: Option<f64>,
    #[serde(default)]
    pub zero_division: ZeroDivision,
    /// `ece`: the number of equal-width bins over [0, 1].
    #[serde(default)]
    pub n_bins: Option<usize>,
    /// `recall_at_precision`: the precision an operating point must reach.
    #[serde(default)]
    pub min_precision: Option<f64>,
    /// `precision_at_recall`: the recall an operating point must reach.
    #[serde(default)]
    pub min_recall: Option<f64>,
    /// A threshold metric's own threshold (reads a threshold confusion accumulator).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `mean_pinball_loss`: the quantile level.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// `quantile`: the level in [0, 1].
    #[serde(default)]
    pub q: Option<f64>,
    /// `top_k_accuracy`: how many top-scored classes may contain the true one.
    #[serde(default)]
    pub k: Option<usize>,
    /// Multiclass `roc_auc`: one-vs-rest or one-vs-one.
    #[serde(default)]
    pub multi_class: Option<MultiClass>,
    /// Confidence interval to report with the value.
    #[serde(default)]
    pub ci: Option<CiSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiMethod {
    Wilson,
    Bootstrap,
    Delong,
    /// Mean ± z·sd/√n of a mean of per-row losses (CLT), from the state's second moments.
    Normal,
    /// Distribution-free interval of a quantile between two order statistics (binomial ranks).
    OrderStatistic,
}

/// A confidence interval request (the compiler resolves `auto` to a method).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiSpec {
    pub level: f64,
    pub method: CiMethod,
    #[serde(default = "default_resamples")]
    pub resamples: u32,
    #[serde(default)]
    pub seed: u64,
}

fn default_resamples() -> u32 {
    1000
}

/// The executable part of a compiled plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub plan_hash: String,
    pub task: Task,
    pub max_classes: usize,
    pub accumulators: Vec<AccumulatorSpec>,
    pub metrics: Vec<MetricSpec>,
}

impl Plan {
    /// Parses and checks a plan's JSON.
    pub fn from_json(text: &str) -> Result<Plan> {
        let plan: Plan =
            serde_json::from_str(text).map_err(|e| CoreError::InvalidPlan(e.to_string()))?;
        plan.check()?;
        Ok(plan)
    }

    fn check(&self) -> Result<()> {
        if self.format_version != PLAN_FORMAT_VERSION {
            return Err(CoreError::InvalidPlan(format!(
                "plan format {} is not supported (this build reads format {PLAN_FORMAT_VERSION})",
                self.format_version
            )));
        }
        for spec in &self.accumulators {
            if let AccumulatorSpec::ScoreHistogram { bins, .. } = spec {
                if !(1..=(1 << 24)).contains(bins) {
                    return Err(CoreError::InvalidPlan(format!(
                        "a score histogram needs 1 to 16777216 bins, not {bins}"
                    )));
                }
            }
            if let AccumulatorSpec::ClassScores {
                interval_groups, ..
            } = spec
            {
                if *interval_groups > crate::accum::class_scores::MAX_GROUPS {
                    return Err(CoreError::InvalidPlan(format!(
                        "class scores keep at most {} interval groups, not {interval_groups}",
                        crate::accum::class_scores::MAX_GROUPS
                    )));
                }
            }
        }
        for metric in &self.metrics {
            if let (Some(t), Some(AccumulatorSpec::ThresholdConfusion { thresholds, .. })) =
                (metric.threshold, self.accumulators.get(metric.accumulator))
            {
                if !thresholds.contains(&t) {
                    return Err(CoreError::InvalidPlan(format!(
                        "metric {:?} reads threshold {t}, which its accumulator does not count",
                        metric.name
                    )));
                }
            }
            if let Some(ci) = &metric.ci {
                if !(ci.level > 0.0 && ci.level < 1.0) || ci.resamples == 0 {
                    return Err(CoreError::InvalidPlan(format!(
                        "metric {:?}: ci level must be in (0, 1) and resamples >= 1",
                        metric.name
                    )));
                }
            }
            if metric.n_bins == Some(0) {
                return Err(CoreError::InvalidPlan(format!(
                    "metric {:?} needs n_bins >= 1",
                    metric.name
                )));
            }
            if metric.accumulator >= self.accumulators.len() {
                return Err(CoreError::InvalidPlan(format!(
                    "metric {:?} reads accumulator {} of {}",
                    metric.name,
                    metric.accumulator,
                    self.accumulators.len()
                )));
            }
        }
        Ok(())
    }
}
