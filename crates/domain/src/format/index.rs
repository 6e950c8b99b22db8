//! Compact id indexes for resolving references while streaming.
//!
//! An org with a million applications has several million ids. Keeping each as a `String` key
//! would cost ~70 bytes an id; instead an id is kept as a 128-bit hash (two SipHash-1-3 passes
//! under different keys), ~24 bytes an entry. A false match needs two distinct ids of one org to
//! collide in 128 bits, which for 10^7 ids has a probability around 10^-25.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// The 128-bit key of an id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Key(u128);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The key already is a well-mixed hash: hand the table 64 bits of it as they are.
        #[allow(clippy::cast_possible_truncation)]
        state.write_u64(self.0 as u64);
    }
}

pub(crate) fn key(id: &str) -> Key {
    let half = |salt: u8| {
        // `DefaultHasher::new()` is SipHash-1-3 with fixed keys: the same on every run.
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    Key((u128::from(half(1)) << 64) | u128::from(half(2)))
}

/// Passes the already-hashed key through.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Key`; fold anything else in so the hasher stays total.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Ids of one entity, each with a value (its line, its position in a side table, ...).
pub(crate) struct IdMap<V>(HashMap<Key, V, BuildHasherDefault<PassThrough>>);

impl<V: Copy> IdMap<V> {
    pub fn new() -> Self {
        IdMap(HashMap::default())
    }

    pub fn get(&self, id: &str) -> Option<V> {
        self.0.get(&key(id)).copied()
    }

    /// Inserts `id`; if it is already there, returns the value it had and changes nothing.
    pub fn insert(&mut self, id: &str, value: V) -> Result<(), V> {
        match self.0.entry(key(id)) {
            std::collections::hash_map::Entry::Occupied(e) => Err(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(value);
                Ok(())
            }
        }
    }
}
