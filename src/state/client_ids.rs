//! The client order ids an account has used, for the duplicate-client-id rule:
//! the last `capacity` distinct ids, oldest forgotten first.
//!
//! Probed on every order and written on every accepted one, so it is laid out
//! for that: the ids live inline in one ring buffer (no allocation per id,
//! none to free when one is forgotten), and a hash table holds only their
//! positions in the ring. A lookup hashes the id, and each candidate position
//! (hashbrown's control bytes filter out all but about 1 in 128 non-matching
//! ones) is compared with the id stored in the ring. The answer is exact: no
//! false duplicates and no missed ones among the remembered ids.
//!
//! Owns only this memory; the book decides when an id is remembered.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

use crate::model::ClientOrderId;

#[derive(Debug)]
pub struct ClientIdMemory {
    /// Remembered ids. Until full, in the order remembered; once full, a
    /// ring whose oldest entry is at `next`.
    ring: Vec<ClientOrderId>,
    /// Where the next id goes once the ring is full (the oldest entry).
    next: usize,
    capacity: usize,
    /// Positions in `ring`, by the hash of the id there.
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl ClientIdMemory {
    /// Remembers up to `capacity` ids (at most `u32::MAX`).
    pub fn new(capacity: usize) -> ClientIdMemory {
        ClientIdMemory {
            ring: Vec::new(),
            next: 0,
            capacity: capacity.clamp(1, u32::MAX as usize),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id);
        self.index
            .find(hash, |&at| self.ring[at as usize].as_str() == id)
            .is_some()
    }

    /// Remembers `id` unless it already is; when full, forgets the oldest.
    pub fn remember(&mut self, id: &str) {
        let hash = self.hasher.hash_one(id);
        let Self {
            ring,
            next,
            capacity,
            index,
            hasher,
        } = self;
        if index
            .find(hash, |&at| ring[at as usize].as_str() == id)
            .is_some()
        {
            return;
        }
        let at = if ring.len() < *capacity {
            if ring.len() == ring.capacity() {
                // Grow by doubling, but never past the bound.
                let more = ring.len().max(64).min(*capacity - ring.len());
                ring.reserve_exact(more);
            }
            ring.push(ClientOrderId::new(id));
            ring.len() - 1
        } else {
            let at = *next;
            let old_hash = hasher.hash_one(ring[at].as_str());
            if let Ok(entry) = index.find_entry(old_hash, |&i| i as usize == at) {
                entry.remove();
            }
            ring[at] = ClientOrderId::new(id);
            *next = (at + 1) % *capacity;
            at
        };
        // `at` < capacity <= u32::MAX (see `new`); no entry names `at` now.
        index.insert_unique(hash, at as u32, |&i| {
            hasher.hash_one(ring[i as usize].as_str())
        });
    }

    /// The remembered ids, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &ClientOrderId> {
        let (newer, older) = self.ring.split_at(self.next);
        older.iter().chain(newer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::{HashSet, VecDeque};

    /// The plain reading: a set and a queue of owned strings.
    struct Reference {
        set: HashSet<String>,
        order: VecDeque<String>,
        capacity: usize,
    }

    impl Reference {
        fn remember(&mut self, id: &str) {
            if self.set.insert(id.to_string()) {
                self.order.push_back(id.to_string());
                if self.order.len() > self.capacity {
                    let old = self.order.pop_front().unwrap();
                    self.set.remove(&old);
                }
            }
        }
    }

    #[test]
    fn agrees_with_a_set_and_a_queue() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for capacity in [1, 2, 3, 17, 64, 100] {
            let mut fast = ClientIdMemory::new(capacity);
            let mut slow = Reference {
                set: HashSet::new(),
                order: VecDeque::new(),
                capacity,
            };
            // Ids drawn from a pool about twice the capacity, some longer
            // than the inline bytes: repeats, evictions and re-remembering
            // a forgotten id all happen.
            let pool = capacity * 2 + 3;
            for step in 0..5_000 {
                let n = rng.random_range(0..pool);
                let id = if n % 7 == 0 {
                    format!("a-client-order-id-longer-than-inline-{n:08}")
                } else {
                    format!("id{n}")
                };
                assert_eq!(
                    fast.contains(&id),
                    slow.set.contains(&id),
                    "capacity {capacity}, step {step}, {id}"
                );
                fast.remember(&id);
                slow.remember(&id);
                assert_eq!(fast.len(), slow.order.len());
            }
            let ours: Vec<&str> = fast.iter().map(|s| s.as_str()).collect();
            let theirs: Vec<&str> = slow.order.iter().map(|s| s.as_str()).collect();
            assert_eq!(ours, theirs, "capacity {capacity}");
            for n in 0..pool {
                for id in [
                    format!("id{n}"),
                    format!("a-client-order-id-longer-than-inline-{n:08}"),
                ] {
                    assert_eq!(fast.contains(&id), slow.set.contains(&id), "{id}");
                }
            }
        }
    }

    #[test]
    fn never_grows_past_its_bound() {
        let mut m = ClientIdMemory::new(1000);
        for i in 0..5000 {
            m.remember(&format!("order-{i}"));
        }
        assert_eq!(m.len(), 1000);
        assert!(m.ring.capacity() <= 1000);
        assert!(m.contains("order-4999") && m.contains("order-4000"));
        assert!(!m.contains("order-3999"));
        assert_eq!(m.iter().next().map(|s| s.as_str()), Some("order-4000"));
    }
}
