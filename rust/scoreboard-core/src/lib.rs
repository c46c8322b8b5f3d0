//! scoreboard-core: streaming, mergeable metric accumulators and their finalizers.
//!
//! Pure Rust with no Python dependency: `cargo test` runs without an interpreter. The Python
//! package compiles a YAML spec into a [`plan::Plan`] (JSON); an [`executor::Executor`] folds
//! chunks of columns ([`column::Chunk`]) into accumulator states, merges states, serialises them,
//! and finalizes them into metric values.

pub mod accum;
pub mod cells;
pub mod column;
pub mod error;
pub mod executor;
pub mod metrics;
pub mod plan;
pub mod text;

pub use column::{Chunk, Values};
pub use error::{CoreError, Result};
pub use executor::Executor;
pub use metrics::MetricValue;
pub use plan::Plan;
