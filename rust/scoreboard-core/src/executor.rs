//! The executor: one plan's accumulator states, fed chunk by chunk, merged, serialised, finalized.

use serde::{Deserialize, Serialize};

use crate::accum::AccState;
use crate::column::Chunk;
use crate::error::{CoreError, Result};
use crate::metrics::{finalize, MetricValue};
use crate::plan::Plan;

/// Version of the serialised state layout. Bump it when `StateBody` changes; `from_bytes` rejects
/// any other version explicitly rather than misreading it.
pub const STATE_VERSION: u32 = 1;
const MAGIC: &[u8; 4] = b"SBST";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StateBody {
    plan_hash: String,
    rows: u64,
    accumulators: Vec<AccState>,
}

/// Streaming state of a plan.
#[derive(Debug, Clone)]
pub struct Executor {
    plan: Plan,
    rows: u64,
    states: Vec<AccState>,
}

impl Executor {
    pub fn new(plan: Plan) -> Executor {
        let states = plan
            .accumulators
            .iter()
            .map(|spec| AccState::empty(spec, plan.max_classes))
            .collect();
        Executor {
            plan,
            rows: 0,
            states,
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Rows folded in so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Folds one chunk into every accumulator. All or nothing: if any accumulator rejects the
    /// chunk, the state is as it was before the call.
    pub fn update(&mut self, chunk: &Chunk<'_>) -> Result<()> {
        let mut next = self.states.clone();
        for (state, spec) in next.iter_mut().zip(&self.plan.accumulators) {
            state.update(spec, chunk)?;
        }
        self.states = next;
        self.rows += chunk.len() as u64;
        Ok(())
    }

    /// Folds another executor's state of the same plan into this one.
    pub fn merge(&mut self, other: &Executor) -> Result<()> {
        if other.plan.plan_hash != self.plan.plan_hash {
            return Err(CoreError::IncompatibleState(format!(
                "states of different plans ({} vs {})",
                self.plan.plan_hash, other.plan.plan_hash
            )));
        }
        let mut next = self.states.clone();
        for (mine, theirs) in next.iter_mut().zip(&other.states) {
            mine.merge(theirs)?;
        }
        self.states = next;
        self.rows += other.rows;
        Ok(())
    }

    /// Every declared metric's value(s), in declaration order.
    pub fn results(&self) -> Vec<MetricValue> {
        self.plan
            .metrics
            .iter()
            .flat_map(|m| finalize(m, &self.states[m.accumulator]))
            .collect()
    }

    /// `SBST`, the state version (u32 LE), then the postcard-encoded body.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let body = StateBody {
            plan_hash: self.plan.plan_hash.clone(),
            rows: self.rows,
            accumulators: self.states.clone(),
        };
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&STATE_VERSION.to_le_bytes());
        postcard::to_extend(&body, out).map_err(|e| CoreError::CorruptState(e.to_string()))
    }

    /// Reads a state written by `to_bytes` for the same plan.
    pub fn from_bytes(plan: Plan, bytes: &[u8]) -> Result<Executor> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(CoreError::CorruptState("not a scoreboard state".into()));
        }
        let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if version != STATE_VERSION {
            return Err(CoreError::IncompatibleState(format!(
                "state version {version} cannot be read by this build (state version {STATE_VERSION})"
            )));
        }
        let body: StateBody = postcard::from_bytes(&bytes[8..])
            .map_err(|e| CoreError::CorruptState(e.to_string()))?;
        if body.plan_hash != plan.plan_hash {
            return Err(CoreError::IncompatibleState(format!(
                "the state belongs to plan {} but this plan is {}",
                body.plan_hash, plan.plan_hash
            )));
        }
        let expected: Vec<AccState> = plan
            .accumulators
            .iter()
            .map(|spec| AccState::empty(spec, plan.max_classes))
            .collect();
        let shapes_match = body.accumulators.len() == expected.len()
            && body
                .accumulators
                .iter()
                .zip(&expected)
                .all(|(a, b)| std::mem::discriminant(a) == std::mem::discriminant(b));
        if !shapes_match {
            return Err(CoreError::CorruptState(
                "the state's accumulators do not match the plan".into(),
            ));
        }
        Ok(Executor {
            plan,
            rows: body.rows,
            states: body.accumulators,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Values;

    fn plan(json: &str) -> Plan {
        Plan::from_json(json).unwrap()
    }

    const MULTICLASS: &str = r#"{"format_version":1,"plan_hash":"h","task":"multiclass",
        "max_classes":10,"accumulators":[{"kind":"multiclass_confusion","y_true":"y",
        "y_pred":"p","labels":null}],"metrics":[{"name":"accuracy","kind":"accuracy",
        "accumulator":0}]}"#;

    #[test]
    fn state_round_trips_with_string_and_int_labels() {
        let mut exec = Executor::new(plan(MULTICLASS));
        let dict = vec!["b".to_string(), "a".to_string()];
        let chunk = Chunk::new()
            .with(
                "y",
                Values::Dict {
                    dictionary: &dict,
                    indices: &[0, 1, 1],
                },
            )
            .unwrap()
            .with(
                "p",
                Values::Dict {
                    dictionary: &dict,
                    indices: &[0, 0, 1],
                },
            )
            .unwrap();
        exec.update(&chunk).unwrap();
        let bytes = exec.to_bytes().unwrap();
        let back = Executor::from_bytes(plan(MULTICLASS), &bytes).unwrap();
        assert_eq!(back.results(), exec.results());
        assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn rejects_other_plans_and_versions() {
        let exec = Executor::new(plan(MULTICLASS));
        let mut bytes = exec.to_bytes().unwrap();
        let other = MULTICLASS.replace(r#""plan_hash":"h""#, r#""plan_hash":"other""#);
        assert!(matches!(
            Executor::from_bytes(plan(&other), &bytes),
            Err(CoreError::IncompatibleState(_))
        ));
        bytes[4] = 9;
        assert!(matches!(
            Executor::from_bytes(plan(MULTICLASS), &bytes),
            Err(CoreError::IncompatibleState(_))
        ));
    }
}
