//! A cache of byte buffers by key, within a budget, in two generations.

use std::collections::HashMap;
use std::hash::Hash;

/// Values by key in two generations: lookups promote to the young one, and when the young
/// one holds half the budget the old one is dropped. Cheap LRU-like behaviour with no
/// bookkeeping. Each value is counted at the size it was inserted with.
pub(super) struct Generations<K, V> {
    young: HashMap<K, (V, usize)>,
    old: HashMap<K, (V, usize)>,
    young_bytes: usize,
    budget: usize,
}

impl<K: Hash + Eq + Copy, V: Clone> Generations<K, V> {
    pub(super) fn new(budget: usize) -> Self {
        Generations {
            young: HashMap::new(),
            old: HashMap::new(),
            young_bytes: 0,
            budget,
        }
    }

    pub(super) fn get(&mut self, key: &K) -> Option<V> {
        if let Some((v, _)) = self.young.get(key) {
            return Some(v.clone());
        }
        let (v, bytes) = self.old.remove(key)?;
        self.insert(*key, v.clone(), bytes);
        Some(v)
    }

    pub(super) fn insert(&mut self, key: K, value: V, bytes: usize) {
        self.young_bytes += bytes;
        self.young.insert(key, (value, bytes));
        if self.young_bytes > self.budget / 2 {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value read again moves to the young generation and outlives one never read again.
    #[test]
    fn what_is_read_again_outlives_what_is_not() {
        let mut cache = Generations::new(10);
        cache.insert(1, "a", 3);
        cache.insert(2, "b", 3); // 6 > 5: both become the old generation.
        assert_eq!(cache.get(&1), Some("a")); // promoted: young holds 3
        cache.insert(3, "c", 3); // 6 > 5: {1, 3} old, 2 dropped
        assert_eq!(cache.get(&2), None);
        assert_eq!(cache.get(&1), Some("a"));
        assert_eq!(cache.get(&3), Some("c"));
    }
}
