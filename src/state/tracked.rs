//! A name-ordered map that remembers which names were written since it was last asked,
//! so that every mutation can be logged as the records it produced.
//!
//! Reads go through `Deref` to the inner `BTreeMap`; writes only through the methods
//! here, so no mutation can escape the log.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

#[derive(Debug, Clone)]
pub struct Tracked<V> {
    map: BTreeMap<String, V>,
    dirty: BTreeSet<String>,
    /// Off when nothing is logged (no data directory): writes then cost nothing extra.
    tracking: bool,
}

impl<V> Default for Tracked<V> {
    fn default() -> Self {
        Tracked {
            map: BTreeMap::new(),
            dirty: BTreeSet::new(),
            tracking: true,
        }
    }
}

impl<V> Deref for Tracked<V> {
    type Target = BTreeMap<String, V>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<V> FromIterator<(String, V)> for Tracked<V> {
    /// A map whose entries are not counted as written (built-in or restored state).
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        Tracked {
            map: iter.into_iter().collect(),
            dirty: BTreeSet::new(),
            tracking: true,
        }
    }
}

impl<V> Tracked<V> {
    /// Turns the remembering of writes on or off.
    pub fn set_tracking(&mut self, on: bool) {
        self.tracking = on;
        if !on {
            self.dirty.clear();
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let value = self.map.get_mut(key)?;
        if self.tracking && !self.dirty.contains(key) {
            self.dirty.insert(key.to_owned());
        }
        Some(value)
    }

    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        if self.tracking {
            self.dirty.insert(key.clone());
        }
        self.map.insert(key, value)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        let old = self.map.remove(key);
        if old.is_some() && self.tracking {
            self.dirty.insert(key.to_owned());
        }
        old
    }

    /// Keeps the entries `keep` accepts; the others count as written (removed).
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut V) -> bool) {
        let dirty = &mut self.dirty;
        let tracking = self.tracking;
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            if !kept && tracking {
                dirty.insert(k.clone());
            }
            kept
        });
    }

    /// The names written since the last call, each with its value now (`None`: removed).
    pub fn take_written(&mut self) -> Vec<(String, Option<&V>)> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .map(|k| {
                let v = self.map.get(&k);
                (k, v)
            })
            .collect()
    }

    /// Forgets what was written, for a failed operation (which wrote nothing) or replay.
    pub fn forget_written(&mut self) {
        self.dirty.clear();
    }

    /// Sets or removes an entry without counting it as written (replaying the log).
    pub fn restore(&mut self, key: String, value: Option<V>) {
        match value {
            Some(v) => {
                self.map.insert(key, v);
            }
            None => {
                self.map.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_what_was_written() {
        let mut t: Tracked<u32> = [("a".to_owned(), 1), ("b".to_owned(), 2)]
            .into_iter()
            .collect();
        assert!(t.take_written().is_empty());
        t.insert("c".to_owned(), 3);
        *t.get_mut("a").unwrap() += 10;
        t.remove("b");
        t.remove("zz");
        assert!(t.get_mut("nope").is_none());
        let written: Vec<(String, Option<u32>)> = t
            .take_written()
            .into_iter()
            .map(|(k, v)| (k, v.copied()))
            .collect();
        assert_eq!(
            written,
            [
                ("a".to_owned(), Some(11)),
                ("b".to_owned(), None),
                ("c".to_owned(), Some(3))
            ]
        );
        assert!(t.take_written().is_empty());
        t.retain(|_, v| *v > 5);
        assert_eq!(t.take_written().len(), 1);
        t.restore("x".to_owned(), Some(9));
        assert!(t.take_written().is_empty());
        assert_eq!(t.get("x"), Some(&9));
        t.set_tracking(false);
        t.insert("y".to_owned(), 1);
        t.remove("x");
        assert!(t.take_written().is_empty());
    }
}
