//! Cells: the finest groups a plan reports on. A cell is identified by a key of `width` integers
//! (window pane ids, segment value codes...) chosen by the caller; every reported group (a window
//! instance, a segment value, both, or everything) is a merge of cells, done at finalize time, so
//! each row is folded into exactly one state however many groups it belongs to.

use std::collections::HashMap;

use crate::error::{CoreError, Result};

/// Above this many possible (mixed-radix) keys in a chunk, cells are looked up by hashing.
const DENSE_KEYS: usize = 1 << 22;
const UNSEEN: u32 = u32::MAX;

/// Maps keys to dense cell ids, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct CellIndex {
    keys: Vec<Vec<i64>>,
    ids: HashMap<Vec<i64>, u32>,
}

impl CellIndex {
    pub fn from_keys(keys: Vec<Vec<i64>>) -> Result<CellIndex> {
        let mut ids = HashMap::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            if ids.insert(key.clone(), i as u32).is_some() {
                return Err(CoreError::CorruptState("a cell key repeats".into()));
            }
        }
        Ok(CellIndex { keys, ids })
    }

    pub fn keys(&self) -> &[Vec<i64>] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The id of `key`, adding it if new.
    pub fn id(&mut self, key: &[i64]) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.to_vec());
        self.ids.insert(key.to_vec(), id);
        id
    }

    /// The cell id of every row, given one key column per key component.
    pub fn assign(&mut self, components: &[&[i64]], rows: usize) -> Vec<u32> {
        if components.is_empty() {
            return vec![self.id(&[]); rows];
        }
        match dense_layout(components) {
            Some((mins, strides, total)) => {
                self.assign_dense(components, rows, &mins, &strides, total)
            }
            None => self.assign_hashed(components, rows),
        }
    }

    fn assign_dense(
        &mut self,
        components: &[&[i64]],
        rows: usize,
        mins: &[i64],
        strides: &[usize],
        total: usize,
    ) -> Vec<u32> {
        // The mixed-radix slot of every row, one component at a time (each pass vectorises);
        // `total` is at most DENSE_KEYS, so a slot fits in u32.
        let mut slots = vec![0u32; rows];
        for (k, comp) in components.iter().enumerate() {
            let (min, stride) = (mins[k], strides[k] as u32);
            for (slot, &value) in slots.iter_mut().zip(comp.iter()) {
                *slot += (value - min) as u32 * stride;
            }
        }
        let mut table = vec![UNSEEN; total];
        let mut key = vec![0i64; components.len()];
        for (row, slot) in slots.iter_mut().enumerate() {
            let at = *slot as usize;
            if table[at] == UNSEEN {
                for (k, comp) in components.iter().enumerate() {
                    key[k] = comp[row];
                }
                table[at] = self.id(&key);
            }
            *slot = table[at];
        }
        slots
    }

    fn assign_hashed(&mut self, components: &[&[i64]], rows: usize) -> Vec<u32> {
        let mut out = vec![0u32; rows];
        let mut key = vec![0i64; components.len()];
        let mut last: Option<(Vec<i64>, u32)> = None;
        for (row, slot) in out.iter_mut().enumerate() {
            for (k, comp) in components.iter().enumerate() {
                key[k] = comp[row];
            }
            *slot = match &last {
                Some((k, id)) if *k == key => *id,
                _ => {
                    let id = self.id(&key);
                    last = Some((key.clone(), id));
                    id
                }
            };
        }
        out
    }
}

/// Mixed-radix layout of the chunk's keys when the key space is small enough for a table.
fn dense_layout(components: &[&[i64]]) -> Option<(Vec<i64>, Vec<usize>, usize)> {
    let mut mins = Vec::with_capacity(components.len());
    let mut strides = Vec::with_capacity(components.len());
    let mut total: usize = 1;
    for comp in components {
        let (lo, hi) = comp
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let range = usize::try_from(hi.checked_sub(lo)?.checked_add(1)?).ok()?;
        mins.push(lo);
        strides.push(total);
        total = total.checked_mul(range)?;
        if total > DENSE_KEYS {
            return None;
        }
    }
    Some((mins, strides, total))
}

/// Rows grouped by cell: `order[starts[i]..starts[i + 1]]` are the rows of `cells[i]`, ascending.
pub struct Grouping {
    pub cells: Vec<u32>,
    pub starts: Vec<usize>,
    pub order: Vec<u32>,
}

/// A counting sort of the rows by cell id (stable: rows stay in input order within a cell).
pub fn group_rows(ids: &[u32], cell_count: usize) -> Grouping {
    let mut counts = vec![0usize; cell_count];
    for &id in ids {
        counts[id as usize] += 1;
    }
    let cells: Vec<u32> = (0..cell_count as u32)
        .filter(|&c| counts[c as usize] > 0)
        .collect();
    let mut starts = Vec::with_capacity(cells.len() + 1);
    let mut next = vec![0usize; cell_count];
    let mut at = 0;
    for &c in &cells {
        starts.push(at);
        next[c as usize] = at;
        at += counts[c as usize];
    }
    starts.push(at);
    let mut order = vec![0u32; ids.len()];
    for (row, &id) in ids.iter().enumerate() {
        let slot = &mut next[id as usize];
        order[*slot] = row as u32;
        *slot += 1;
    }
    Grouping {
        cells,
        starts,
        order,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_hashed_paths_agree() {
        let a: Vec<i64> = (0..1000).map(|i| i % 7).collect();
        let b: Vec<i64> = (0..1000).map(|i| (i * 31) % 5).collect();
        let mut dense = CellIndex::default();
        let ids = dense.assign(&[&a, &b], 1000);
        let wide: Vec<i64> = b.iter().map(|v| v * (1 << 40)).collect();
        let mut hashed = CellIndex::default();
        let ids2 = hashed.assign(&[&a, &wide], 1000);
        assert_eq!(ids, ids2);
        assert_eq!(dense.len(), 35);
    }

    #[test]
    fn grouping_is_a_stable_partition() {
        let ids = [2u32, 0, 2, 1, 0, 2];
        let g = group_rows(&ids, 3);
        assert_eq!(g.cells, vec![0, 1, 2]);
        assert_eq!(g.order, vec![1, 4, 3, 0, 2, 5]);
        assert_eq!(g.starts, vec![0, 2, 3, 6]);
    }
}
