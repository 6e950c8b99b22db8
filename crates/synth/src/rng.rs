//! Deterministic random streams.
//!
//! Every entity draws from its own ChaCha8 stream, derived from the configured seed, a
//! stream kind and the entity's index. Changing how one entity is generated therefore does
//! not shift the random numbers of every other entity, and entities can be generated in any
//! order (or in parallel) with identical results.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type Rng = ChaCha8Rng;

/// Kinds of streams; each kind is a separate family of sub-streams.
#[derive(Clone, Copy)]
pub enum Stream {
    Org = 1,
    User = 3,
    Job = 4,
    Pool = 5,
    Candidate = 6,
    Application = 7,
    Interviews = 8,
    Offers = 9,
    Busy = 10,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for entity `index` of `kind` under `seed`.
pub fn stream(seed: u64, kind: Stream, index: u64) -> Rng {
    let mut state = seed ^ (kind as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    state = splitmix(&mut state) ^ index;
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// Draws `true` with probability `p`.
pub fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.random_bool(p.clamp(0.0, 1.0))
}

/// A uniformly chosen element; `items` must not be empty.
pub fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A uniformly chosen string of a static list; `items` must not be empty.
pub fn pick_str(rng: &mut Rng, items: &'static [&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// An index chosen with the given weights (all ≥ 0, not all 0).
pub fn weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// An element chosen with weights given alongside the values.
pub fn pick_weighted<'a, T>(rng: &mut Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0.0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// A cumulative weight table for fast repeated weighted choice.
pub struct Cumulative {
    sums: Vec<f64>,
}

impl Cumulative {
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Cumulative {
        let mut acc = 0.0;
        let sums = weights
            .into_iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        Cumulative { sums }
    }

    pub fn is_empty(&self) -> bool {
        self.sums.last().is_none_or(|t| *t <= 0.0)
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.sums.last().copied().unwrap_or(0.0);
        let x = rng.random_range(0.0..total);
        self.sums
            .partition_point(|s| *s <= x)
            .min(self.sums.len() - 1)
    }
}

/// `count` distinct indices below `n` (fewer if `n` is smaller), in draw order.
pub fn distinct(rng: &mut Rng, n: usize, count: usize) -> Vec<usize> {
    let count = count.min(n);
    let mut out: Vec<usize> = Vec::with_capacity(count);
    while out.len() < count {
        let i = rng.random_range(0..n);
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}
