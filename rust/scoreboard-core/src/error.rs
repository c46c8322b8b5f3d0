//! Errors of the core. They are structured (a stable kind plus context) and become text, or a
//! Python exception, only at the edge.

use thiserror::Error;

/// Every way a core operation can fail.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// A data column holds values the plan cannot accept (a label outside the task, NaN...).
    /// `first_row` is the 0-based row of the first bad value within the chunk.
    #[error("{message} ({count} row(s), first at row {first_row})")]
    InvalidData {
        column: String,
        message: String,
        count: u64,
        first_row: u64,
    },
    /// Columns of one chunk disagree in length, or a needed column is absent.
    #[error("{0}")]
    BadChunk(String),
    /// More distinct labels than `max_classes`: almost always a float or id column used as label.
    #[error("column {column:?} has more than {limit} distinct labels; raise max_classes if this is intended")]
    TooManyClasses { column: String, limit: usize },
    /// Two states that cannot be merged (other plan, other state version...).
    #[error("incompatible states: {0}")]
    IncompatibleState(String),
    /// Serialized state that cannot be decoded.
    #[error("corrupt or unsupported state: {0}")]
    CorruptState(String),
    /// The plan JSON is malformed or of an unsupported version.
    #[error("invalid plan: {0}")]
    InvalidPlan(String),
    /// A count would overflow u64.
    #[error("counter overflow in {0}")]
    Overflow(&'static str),
}

pub type Result<T> = std::result::Result<T, CoreError>;
