//! Count, compensated sum, min and max of any numeric column (`mean`, `sum`, `min`, `max`).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::moments::{spread_of, CompensatedSum, Spread};
use super::{add_count, split_ranges, BLOCK};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColumnStats {
    pub n: u64,
    pub sum: CompensatedSum,
    /// +inf while empty (the identity of min).
    pub min: f64,
    /// -inf while empty.
    pub max: f64,
    /// Mean and squared deviations: the variance behind the normal interval of `mean`.
    pub spread: Spread,
}

impl Default for ColumnStats {
    fn default() -> Self {
        ColumnStats {
            n: 0,
            sum: CompensatedSum::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            spread: Spread::default(),
        }
    }
}

/// The values of a numeric column as f64, or an error naming it if it holds strings.
pub(crate) fn numeric<'a>(name: &str, values: Values<'a>) -> Result<Values<'a>> {
    if matches!(values, Values::Dict { .. }) {
        return Err(CoreError::InvalidData {
            column: name.to_string(),
            message: "column holds strings, not numbers".into(),
            count: values.len() as u64,
            first_row: 0,
        });
    }
    Ok(values)
}

/// The first non-finite value of a column, as a data error (slow path).
pub(crate) fn non_finite_error(name: &str, values: Values<'_>, count: u64) -> CoreError {
    let first_row = dispatch_numeric!(values,
        s => s.iter().position(|x| !x.as_f64().is_finite()).unwrap_or(0) as u64,
        Values::Dict { .. } => 0);
    CoreError::InvalidData {
        column: name.to_string(),
        message: "value is NaN or infinite".into(),
        count,
        first_row,
    }
}

fn fold<T: AsF64>(s: &[T]) -> (ColumnStats, u64) {
    let mut out = ColumnStats::default();
    let mut bad = 0u64;
    for block in s.chunks(BLOCK) {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let shift = block[0].as_f64();
        let shift = if shift.is_finite() { shift } else { 0.0 };
        let (mut s1, mut s2) = (0.0, 0.0);
        for x in block {
            let v = x.as_f64();
            let d = v - shift;
            s1 += d;
            s2 += d * d;
            bad += (!v.is_finite()) as u64;
            // Compensated per value: sums of large values of both signs cancel exactly.
            out.sum.add(v);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        out.n += block.len() as u64;
        out.spread.merge(&spread_of(block.len(), shift, s1, s2));
        out.min = out.min.min(lo);
        out.max = out.max.max(hi);
    }
    (out, bad)
}

impl ColumnStats {
    pub fn update(&mut self, (name, values): (&str, Values<'_>)) -> Result<()> {
        let values = numeric(name, values)?;
        let parts: Vec<(ColumnStats, u64)> = split_ranges(values.len())
            .into_par_iter()
            .map(|r| dispatch_numeric!(values.slice(r), s => fold(s), Values::Dict { .. } => (ColumnStats::default(), 0)))
            .collect();
        let bad: u64 = parts.iter().map(|p| p.1).sum();
        if bad > 0 {
            return Err(non_finite_error(name, values, bad));
        }
        let mut next = *self;
        for (part, _) in &parts {
            next.merge(part)?;
        }
        *self = next;
        Ok(())
    }

    pub fn merge(&mut self, o: &ColumnStats) -> Result<()> {
        self.n = add_count(self.n, o.n, "column stats")?;
        self.sum.merge(&o.sum);
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.spread.merge(&o.spread);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_alternating_large_and_small_values_exactly() {
        let v: Vec<f64> = (0..1_000_000)
            .map(|i| if i % 2 == 0 { 1e8 } else { -1e8 + 0.1 })
            .collect();
        let mut s = ColumnStats::default();
        s.update(("x", Values::F64(&v))).unwrap();
        let want = 500_000.0 * (1e8 + (-1e8 + 0.1)); // each pair adds exactly
        assert!(
            (s.sum.value() - want).abs() / want < 1e-9,
            "{}",
            s.sum.value()
        );
        assert_eq!((s.min, s.max, s.n), (-1e8 + 0.1, 1e8, 1_000_000));
        let before = s;
        assert!(s.update(("x", Values::F64(&[1.0, f64::NAN]))).is_err());
        assert_eq!(s, before);
    }
}
