//! Shared by the timing examples (`mod common;` in each): reproducible data without a
//! dependency, sizes from the environment, and a timer that keeps the least disturbed run.
#![allow(dead_code)] // each example uses part of it

use std::time::{Duration, Instant};

/// xorshift64, seeded with 1.
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        Rng(1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The environment variable `name` as a size, else `default`.
pub fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The fastest of `runs` runs of `f`: the machine may be shared, and the minimum is the least
/// disturbed figure.
pub fn fastest(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}
