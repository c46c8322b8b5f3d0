//! Confidence intervals: Wilson for proportions, DeLong for ROC AUC, and a percentile bootstrap
//! that resamples the confusion table (multinomially, at finalize time, O(state) per resample,
//! with a fixed seed so the same state always gives the same interval).

use super::binary::{finalize_counts, Counts};
use crate::accum::{AccState, BinaryConfusion, ScoreHistogram};
use crate::plan::{CiMethod, CiSpec, MetricKind, MetricSpec};

/// The interval of `metric` given its state, or `None` where the method does not apply or the
/// value is undefined.
pub fn interval(metric: &MetricSpec, state: &AccState, value: Option<f64>) -> Option<(f64, f64)> {
    let ci = metric.ci.as_ref()?;
    value?;
    let z = normal_quantile(0.5 + ci.level / 2.0);
    match (ci.method, state) {
        (CiMethod::Wilson, AccState::Binary(c)) => wilson_of(metric, c, z),
        (CiMethod::Wilson, AccState::Thresholds(t)) => {
            wilson_of(metric, &t.at(metric.threshold?)?, z)
        }
        (CiMethod::Bootstrap, AccState::Binary(c)) => bootstrap(metric, c, ci),
        (CiMethod::Bootstrap, AccState::Thresholds(t)) => {
            bootstrap(metric, &t.at(metric.threshold?)?, ci)
        }
        (CiMethod::Delong, AccState::ScoreRuns(r)) if metric.kind == MetricKind::RocAuc => {
            let groups: Vec<(f64, f64)> = r
                .points()
                .iter()
                .rev()
                .map(|q| (q.pos as f64, q.neg as f64))
                .collect();
            delong(&groups, value?, z)
        }
        (CiMethod::Delong, AccState::ScoreHistogram(h)) if metric.kind == MetricKind::RocAuc => {
            delong(&histogram_groups(h), value?, z)
        }
        _ => None,
    }
}

fn histogram_groups(h: &ScoreHistogram) -> Vec<(f64, f64)> {
    (0..h.bins())
        .rev()
        .map(|b| {
            let (p, n) = h.bin(b);
            (p as f64, n as f64)
        })
        .collect()
}

/// The (successes, trials) of a proportion metric.
fn proportion(kind: MetricKind, c: &BinaryConfusion) -> Option<(u64, u64)> {
    let (tp, fp, fn_, tn) = (c.tp, c.fp, c.fn_, c.tn);
    Some(match kind {
        MetricKind::Accuracy => (tp + tn, c.n()),
        MetricKind::Precision => (tp, tp + fp),
        MetricKind::Recall => (tp, tp + fn_),
        MetricKind::Specificity => (tn, tn + fp),
        MetricKind::Npv => (tn, tn + fn_),
        MetricKind::Fpr => (fp, fp + tn),
        MetricKind::Fnr => (fn_, fn_ + tp),
        MetricKind::Jaccard => (tp, tp + fp + fn_),
        MetricKind::Prevalence => (tp + fn_, c.n()),
        MetricKind::PredictedPositiveRate => (tp + fp, c.n()),
        _ => return None,
    })
}

fn wilson_of(metric: &MetricSpec, c: &BinaryConfusion, z: f64) -> Option<(f64, f64)> {
    let (k, n) = proportion(metric.kind, c)?;
    wilson(k as f64, n as f64, z)
}

/// Wilson score interval of k successes in n trials.
pub fn wilson(k: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    if n <= 0.0 {
        return None;
    }
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

/// DeLong's interval for ROC AUC from tied groups in decreasing score order: each positive's
/// placement is the fraction of negatives below it (ties count 1/2), each negative's the fraction
/// of positives above it; Var(AUC) = Var(positive placements) / P + Var(negative placements) / N.
pub fn delong(groups_desc: &[(f64, f64)], auc: f64, z: f64) -> Option<(f64, f64)> {
    let p: f64 = groups_desc.iter().map(|g| g.0).sum();
    let n: f64 = groups_desc.iter().map(|g| g.1).sum();
    if p < 2.0 || n < 2.0 {
        return None;
    }
    let (mut pos_above, mut neg_above) = (0.0, 0.0);
    let (mut s10, mut s01) = (0.0, 0.0);
    for &(pos, neg) in groups_desc {
        // Negatives below this group's positives: n - neg_above - neg (ties count half).
        let v10 = (n - neg_above - neg + 0.5 * neg) / n;
        let v01 = (pos_above + 0.5 * pos) / p;
        s10 += pos * (v10 - auc) * (v10 - auc);
        s01 += neg * (v01 - auc) * (v01 - auc);
        pos_above += pos;
        neg_above += neg;
    }
    let variance = s10 / (p - 1.0) / p + s01 / (n - 1.0) / n;
    let half = z * variance.max(0.0).sqrt();
    Some(((auc - half).max(0.0), (auc + half).min(1.0)))
}

/// Percentile bootstrap: resample (tp, fp, fn, tn) multinomially from the observed table and
/// finalize each resample; intervals come from the resamples whose value is defined.
fn bootstrap(metric: &MetricSpec, c: &BinaryConfusion, ci: &CiSpec) -> Option<(f64, f64)> {
    let n = c.n();
    if n == 0 {
        return None;
    }
    let cells = [c.tp, c.fp, c.fn_, c.tn];
    let mut rng = SplitMix64(ci.seed ^ 0x5C0E_B0A2_D000_0001);
    let mut values = Vec::with_capacity(ci.resamples as usize);
    for _ in 0..ci.resamples {
        let drawn = multinomial(&mut rng, n, &cells);
        let counts = Counts {
            tp: drawn[0] as f64,
            fp: drawn[1] as f64,
            fn_: drawn[2] as f64,
            tn: drawn[3] as f64,
        };
        let exact = BinaryConfusion {
            tp: drawn[0],
            fp: drawn[1],
            fn_: drawn[2],
            tn: drawn[3],
        };
        if let Some(v) = finalize_counts(metric, &counts, n, Some(&exact)).value {
            values.push(v);
        }
    }
    if values.len() < 2 {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let alpha = (1.0 - ci.level) / 2.0;
    Some((percentile(&values, alpha), percentile(&values, 1.0 - alpha)))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = (sorted.len() - 1) as f64 * q;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// A small, fast, seedable generator (SplitMix64): deterministic intervals need no crate.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Multinomial draw of `n` over cells with the given counts (probabilities `count / n`), by
/// sequential conditional binomials.
fn multinomial(rng: &mut SplitMix64, n: u64, cells: &[u64]) -> Vec<u64> {
    let total: u64 = cells.iter().sum();
    let mut left_n = n;
    let mut left_mass = total;
    let mut out = Vec::with_capacity(cells.len());
    for (i, &c) in cells.iter().enumerate() {
        if i + 1 == cells.len() || left_mass == 0 {
            out.push(if left_mass == 0 { 0 } else { left_n });
            left_n = 0;
            continue;
        }
        let k = binomial(rng, left_n, c as f64 / left_mass as f64);
        out.push(k);
        left_n -= k;
        left_mass -= c;
    }
    out
}

/// Binomial(n, p): waiting-time inversion when n·min(p, 1 - p) is small, a rounded normal
/// approximation (clamped to [0, n]) when the variance is large.
fn binomial(rng: &mut SplitMix64, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    let mean = n as f64 * p;
    if mean < 30.0 {
        // Count geometric gaps between successes until they pass n.
        let log_q = (1.0 - p).ln();
        let mut k = 0u64;
        let mut position = 0f64;
        loop {
            position += (rng.uniform().ln() / log_q).floor() + 1.0;
            if position > n as f64 {
                return k;
            }
            k += 1;
        }
    }
    let sd = (mean * (1.0 - p)).sqrt();
    (mean + sd * rng.normal()).round().clamp(0.0, n as f64) as u64
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_and_wilson() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        let (lo, hi) = wilson(50.0, 100.0, 1.96).unwrap();
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3);
    }

    #[test]
    fn binomial_moments() {
        let mut rng = SplitMix64(1);
        for &(n, p) in &[(20u64, 0.3), (1000, 0.01), (100_000, 0.4), (50, 0.9)] {
            let draws: Vec<f64> = (0..20_000)
                .map(|_| binomial(&mut rng, n, p) as f64)
                .collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let want = n as f64 * p;
            assert!((mean - want).abs() < 0.05 * want.max(1.0), "{n} {p} {mean}");
        }
        let drawn = multinomial(&mut rng, 100, &[10, 0, 30, 60]);
        assert_eq!(drawn.iter().sum::<u64>(), 100);
        assert_eq!(drawn[1], 0);
    }
}
