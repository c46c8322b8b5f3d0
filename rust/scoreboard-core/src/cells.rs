//! Cells: the finest groups a plan reports on. A cell is identified by a key of `width` integers
//! (window pane ids, segment value codes...) chosen by the caller; every reported group (a window
//! instance, a segment value, both, or everything) is a merge of cells, done at finalize time, so
//! each row is folded into exactly one state however many groups it belongs to.
//!
//! A key component arrives as its values, or as what they derive from (raw timestamps and a
//! fixed pane width; dictionary indices and a code per dictionary entry; one value for every
//! row), so the pane division and the code lookup happen in the same pass that assigns cells,
//! with no intermediate column.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{CoreError, Result};

/// Above this many possible (mixed-radix) keys in a chunk, cells are looked up by hashing.
const DENSE_KEYS: usize = 1 << 22;
const UNSEEN: u32 = u32::MAX;
/// Rows per block of the dense pass: the block's slots stay in L1 across components.
const BLOCK: usize = 2048;
/// Rows whose keys are ranged and assigned together: their stamps (512 KiB) stay in L2 between
/// the two passes.
const SPAN: usize = 1 << 16;
/// Up to this many panes in a chunk, a stamp's pane is found by comparing it with pane starts.
const FEW_PANES: usize = 8;

/// One component of the rows' cell keys.
#[derive(Debug, Clone, Copy)]
pub enum KeyColumn<'a> {
    /// The key values themselves.
    Values(&'a [i64]),
    /// Fixed-width time panes of integer UTC epoch timestamps counted in `unit_ns` nanoseconds:
    /// the key of `t` is `floor((t * unit_ns - origin_ns) / width_ns)`. `width_ns` and
    /// `origin_ns` must be multiples of `unit_ns`, so the division runs in the raw unit.
    Panes {
        column: &'a str,
        stamps: &'a [i64],
        unit_ns: i64,
        origin_ns: i64,
        width_ns: i64,
    },
    /// Dictionary indices and the key of each dictionary entry: the key of row `i` is
    /// `codes[indices[i]]`.
    Codes {
        indices: &'a [i32],
        codes: &'a [i64],
    },
    /// The same key for every row, whatever their number (a timestamp column that a Parquet row
    /// group's statistics put inside one pane, so it was never decoded).
    Constant(i64),
}

impl<'a> KeyColumn<'a> {
    /// The same component over rows `range` only.
    fn slice(&self, range: std::ops::Range<usize>) -> KeyColumn<'a> {
        match *self {
            KeyColumn::Values(v) => KeyColumn::Values(&v[range]),
            KeyColumn::Panes {
                column,
                stamps,
                unit_ns,
                origin_ns,
                width_ns,
            } => KeyColumn::Panes {
                column,
                stamps: &stamps[range],
                unit_ns,
                origin_ns,
                width_ns,
            },
            KeyColumn::Codes { indices, codes } => KeyColumn::Codes {
                indices: &indices[range],
                codes,
            },
            KeyColumn::Constant(value) => KeyColumn::Constant(value),
        }
    }

    /// Whether the component gives a key to each of `rows` rows.
    fn covers(&self, rows: usize) -> bool {
        match self {
            KeyColumn::Values(v) => v.len() == rows,
            KeyColumn::Panes { stamps, .. } => stamps.len() == rows,
            KeyColumn::Codes { indices, .. } => indices.len() == rows,
            KeyColumn::Constant(_) => true,
        }
    }
}

/// A validated key component of one chunk: its value range and how a row's value is computed.
struct Component<'a> {
    source: Source<'a>,
    lo: i64,
    hi: i64,
    /// Whether the dense pass may compute this component (its arithmetic cannot overflow).
    dense: bool,
}

enum Source<'a> {
    Values(&'a [i64]),
    /// Raw-unit timestamps; `base` is the start of pane `lo` and every stamp is at or after it.
    Panes {
        stamps: &'a [i64],
        origin: i64,
        width: i64,
        base: i64,
        inverse: f64,
    },
    Codes {
        indices: &'a [i32],
        codes: &'a [i64],
    },
    Constant(i64),
}

impl Component<'_> {
    fn value(&self, row: usize) -> i64 {
        match &self.source {
            Source::Values(v) => v[row],
            Source::Panes {
                stamps,
                origin,
                width,
                ..
            } => (stamps[row] - origin).div_euclid(*width),
            Source::Codes { indices, codes } => codes[indices[row] as usize],
            Source::Constant(value) => *value,
        }
    }

    /// Adds `(value - lo) * stride` of rows `start..start + slots.len()` to `slots`; an error if
    /// a dictionary index is out of range.
    fn add_slots(
        &self,
        start: usize,
        slots: &mut [u32],
        stride: u32,
        scaled: &[u32],
    ) -> Result<()> {
        let rows = start..start + slots.len();
        match &self.source {
            Source::Values(v) => {
                for (slot, &value) in slots.iter_mut().zip(&v[rows]) {
                    *slot += (value - self.lo) as u32 * stride;
                }
            }
            Source::Panes {
                stamps,
                width,
                base,
                inverse,
                ..
            } => {
                let stamps = &stamps[rows];
                let panes = (self.hi - self.lo + 1) as usize;
                if panes == 1 {
                    return Ok(()); // every row is in pane `lo`: nothing to add
                }
                if panes == 2 {
                    // The common case of a chunk that crosses one pane boundary.
                    let start = base + width;
                    for (slot, &t) in slots.iter_mut().zip(stamps) {
                        *slot += u32::from(t >= start) * stride;
                    }
                    return Ok(());
                }
                if panes <= FEW_PANES {
                    // Count the pane starts at or before each stamp: compares, no division.
                    let mut starts = [0i64; FEW_PANES];
                    for (k, start) in starts.iter_mut().enumerate().take(panes).skip(1) {
                        *start = base + k as i64 * width;
                    }
                    let starts = &starts[1..panes];
                    for (slot, &t) in slots.iter_mut().zip(stamps) {
                        let q: u32 = starts.iter().map(|&s| u32::from(t >= s)).sum();
                        *slot += q * stride;
                    }
                    return Ok(());
                }
                // floor(d / width) by a float multiply, corrected by one either way: exact,
                // since the quotient is small (a chunk spans at most DENSE_KEYS panes), and far
                // cheaper than a 64-bit division.
                for (slot, &t) in slots.iter_mut().zip(stamps) {
                    let d = t - base;
                    let mut q = (d as f64 * inverse) as i64;
                    q -= i64::from(q * width > d);
                    q += i64::from((q + 1) * width <= d);
                    *slot += q as u32 * stride;
                }
            }
            Source::Codes { indices, codes } => {
                // Clamped lookups and one check per block: no branch in the loop.
                let last = scaled.len() - 1;
                let mut widest = 0u32;
                for (slot, &i) in slots.iter_mut().zip(&indices[rows]) {
                    let i = i as u32; // a negative index becomes huge, and is caught below
                    widest = widest.max(i);
                    *slot += scaled[(i as usize).min(last)];
                }
                if widest as usize > last {
                    return Err(bad_indices(indices, codes));
                }
            }
            Source::Constant(_) => {} // every row's value is `lo`: nothing to add
        }
        Ok(())
    }
}

fn min_max<T: Copy + Ord>(values: &[T], init: (T, T)) -> (T, T) {
    values
        .iter()
        .fold(init, |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

fn bad_indices(indices: &[i32], codes: &[i64]) -> CoreError {
    let (first, last) = min_max(indices, (i32::MAX, i32::MIN));
    CoreError::BadChunk(format!(
        "dictionary index out of range (indices {first}..={last}, {} codes)",
        codes.len()
    ))
}

fn out_of_range(column: &str, stamps: &[i64], ok: impl Fn(i64) -> bool) -> CoreError {
    let first = stamps.iter().position(|&t| !ok(t)).unwrap_or(0);
    CoreError::InvalidData {
        column: column.to_string(),
        message: "timestamp out of range (nanoseconds since 1970 must fit in 64 bits: \
                  years 1677 to 2262)"
            .into(),
        count: stamps.iter().filter(|&&t| !ok(t)).count() as u64,
        first_row: first as u64,
    }
}

/// A pane's width and origin in the timestamps' unit; `None` unless both are whole multiples of
/// a positive unit (and the width is positive).
fn raw_pane_unit(unit_ns: i64, origin_ns: i64, width_ns: i64) -> Option<(i64, i64)> {
    let whole = unit_ns > 0 && width_ns > 0 && width_ns % unit_ns == 0 && origin_ns % unit_ns == 0;
    whole.then(|| (width_ns / unit_ns, origin_ns / unit_ns))
}

/// Checks one key component of a chunk of `rows` rows and finds its value range.
fn component<'a>(key: &KeyColumn<'a>, rows: usize) -> Result<Component<'a>> {
    if !key.covers(rows) {
        return Err(CoreError::BadChunk(format!(
            "cell keys and columns differ in length ({rows} rows)"
        )));
    }
    Ok(match *key {
        KeyColumn::Values(v) => {
            let (lo, hi) = min_max(v, (i64::MAX, i64::MIN));
            Component {
                source: Source::Values(v),
                lo,
                hi,
                dense: true,
            }
        }
        KeyColumn::Panes {
            column,
            stamps,
            unit_ns,
            origin_ns,
            width_ns,
        } => {
            let (width, origin) = raw_pane_unit(unit_ns, origin_ns, width_ns).ok_or_else(|| {
                CoreError::BadChunk(format!(
                    "pane width {width_ns} ns and origin {origin_ns} ns must be multiples of the \
                     timestamp unit {unit_ns} ns"
                ))
            })?;
            let (lo_t, hi_t) = min_max(stamps, (i64::MAX, i64::MIN));
            // Every stamp must be a valid nanosecond timestamp (as the other paths require), and
            // the pane arithmetic below (up to two widths past the last stamp) must not overflow.
            let in_range = |t: i64| {
                t.checked_mul(unit_ns).is_some()
                    && t.checked_sub(origin)
                        .and_then(|d| d.checked_sub(width))
                        .is_some()
            };
            if rows > 0 && (!in_range(lo_t) || !in_range(hi_t)) {
                return Err(out_of_range(column, stamps, in_range));
            }
            let lo = (lo_t - origin).div_euclid(width);
            let hi = (hi_t - origin).div_euclid(width);
            let base = origin + lo * width;
            // The dense pass computes `(q + 1) * width` for offsets up to `hi_t - base`.
            let dense = hi_t
                .checked_sub(base)
                .zip(width.checked_mul(2))
                .and_then(|(span, two)| span.checked_add(two))
                .is_some();
            Component {
                source: Source::Panes {
                    stamps,
                    origin,
                    width,
                    base,
                    inverse: 1.0 / width as f64,
                },
                lo,
                hi,
                dense,
            }
        }
        KeyColumn::Codes { indices, codes } => {
            // The indices are checked by the pass that reads them (`add_slots`, or
            // `check_indices` before the hashed pass): no pass of their own.
            if rows > 0 && codes.is_empty() {
                return Err(bad_indices(indices, codes));
            }
            let (lo, hi) = min_max(codes, (i64::MAX, i64::MIN));
            Component {
                source: Source::Codes { indices, codes },
                lo,
                hi,
                dense: true,
            }
        }
        KeyColumn::Constant(value) => Component {
            source: Source::Constant(value),
            lo: value,
            hi: value,
            dense: true,
        },
    })
}

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

    /// Forgets the cells added after the first `len` (undoes a failed update's new cells).
    pub fn truncate(&mut self, len: usize) {
        for key in self.keys.drain(len.min(self.keys.len())..) {
            self.ids.remove(&key);
        }
    }

    /// The id of `key`, if it has one.
    pub fn get(&self, key: &[i64]) -> Option<u32> {
        self.ids.get(key).copied()
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

    /// The cell id of every row, given one key column per key component. On an error (a key
    /// column of the wrong length, an index past its dictionary, a timestamp out of range) no
    /// cell has been added.
    pub fn assign(&mut self, keys: &[KeyColumn<'_>], rows: usize) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        self.assign_into(keys, rows, &mut ids)?;
        Ok(ids)
    }

    /// `assign` into a buffer the caller keeps from chunk to chunk (a fresh 4 MiB vector per
    /// chunk costs a page fault per 4 KiB).
    pub fn assign_into(
        &mut self,
        keys: &[KeyColumn<'_>],
        rows: usize,
        ids: &mut Vec<u32>,
    ) -> Result<()> {
        ids.clear();
        if keys.is_empty() {
            let id = self.id(&[]);
            ids.resize(rows, id);
            return Ok(());
        }
        if let Some(key) = keys.iter().find(|k| !k.covers(rows)) {
            component(key, rows)?; // the length error
        }
        ids.resize(rows, 0);
        let known = self.len();
        if rows <= SPAN {
            let outcome = self.assign_span(keys, ids);
            if outcome.is_err() {
                self.truncate(known);
            }
            return outcome;
        }
        // A span at a time, so that the pass finding a span's key range and the pass assigning
        // its cells read the same stamps from cache, not twice from memory; the spans on every
        // thread, each with cell ids of its own, then renumbered in span order, so that cells
        // are numbered by first appearance as one pass would.
        let spans: Vec<Result<Vec<Vec<i64>>>> = ids
            .par_chunks_mut(SPAN)
            .enumerate()
            .map(|(span, out)| {
                let range = span * SPAN..span * SPAN + out.len();
                let sliced: Vec<KeyColumn<'_>> =
                    keys.iter().map(|k| k.slice(range.clone())).collect();
                let mut local = CellIndex::default();
                local.assign_span(&sliced, out)?;
                Ok(local.keys)
            })
            .collect();
        let mut renumbering = Vec::with_capacity(spans.len());
        for span in spans {
            match span {
                Ok(local_keys) => renumbering.push(local_keys.iter().map(|k| self.id(k)).collect()),
                Err(err) => {
                    self.truncate(known);
                    // The error as the whole chunk gives it (rows and counts over every span).
                    for key in keys {
                        component(key, rows)?;
                    }
                    return Err(err);
                }
            }
        }
        ids.par_chunks_mut(SPAN).zip(renumbering).for_each(
            |(out, global): (&mut [u32], Vec<u32>)| {
                for id in out {
                    *id = global[*id as usize];
                }
            },
        );
        Ok(())
    }

    fn assign_span(&mut self, keys: &[KeyColumn<'_>], ids: &mut [u32]) -> Result<()> {
        let rows = ids.len();
        let components = keys
            .iter()
            .map(|k| component(k, rows))
            .collect::<Result<Vec<_>>>()?;
        match dense_layout(&components) {
            Some((strides, total)) => self.assign_dense(&components, &strides, total, ids),
            None => {
                for comp in &components {
                    if let Source::Codes { indices, codes } = comp.source {
                        if indices.iter().any(|&i| i < 0 || i as usize >= codes.len()) {
                            return Err(bad_indices(indices, codes));
                        }
                    }
                }
                self.assign_hashed(&components, ids);
                Ok(())
            }
        }
    }

    fn assign_dense(
        &mut self,
        components: &[Component<'_>],
        strides: &[u32],
        total: usize,
        ids: &mut [u32],
    ) -> Result<()> {
        // Per dictionary entry, its slot offset: one lookup per row instead of two.
        let scaled: Vec<Vec<u32>> = components
            .iter()
            .zip(strides)
            .map(|(c, &stride)| match &c.source {
                Source::Codes { codes, .. } => codes
                    .iter()
                    .map(|&code| (code - c.lo) as u32 * stride)
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let mut table = vec![UNSEEN; total];
        let mut key = vec![0i64; components.len()];
        let mut slots = [0u32; BLOCK];
        for (block, out) in ids.chunks_mut(BLOCK).enumerate() {
            let start = block * BLOCK;
            let slots = &mut slots[..out.len()];
            slots.fill(0);
            for ((comp, &stride), scaled) in components.iter().zip(strides).zip(&scaled) {
                comp.add_slots(start, slots, stride, scaled)?; // the caller forgets new cells
            }
            for (i, (id, &slot)) in out.iter_mut().zip(slots.iter()).enumerate() {
                let at = slot as usize;
                if table[at] == UNSEEN {
                    for (k, comp) in components.iter().enumerate() {
                        key[k] = comp.value(start + i);
                    }
                    table[at] = self.id(&key);
                }
                *id = table[at];
            }
        }
        Ok(())
    }

    fn assign_hashed(&mut self, components: &[Component<'_>], out: &mut [u32]) {
        let mut key = vec![0i64; components.len()];
        let mut last: Option<(Vec<i64>, u32)> = None;
        for (row, slot) in out.iter_mut().enumerate() {
            for (k, comp) in components.iter().enumerate() {
                key[k] = comp.value(row);
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
    }
}

/// A chunk whose keys differ only in one dictionary-coded component (every other component is
/// `Constant`): the key of each dictionary entry, and the rows' dictionary indices, which then
/// name the rows' cells with no assignment pass.
pub struct EntryKeys<'a> {
    /// The indices as cell ids; a negative index reads as a huge one. Not checked against the
    /// dictionary: a kernel checks the ids it reads, and `check_indices` serves the others.
    pub indices: &'a [u32],
    pub keys: Vec<Vec<i64>>,
    raw: (&'a [i32], &'a [i64]),
}

impl EntryKeys<'_> {
    /// An error if an index is outside the dictionary.
    pub fn check_indices(&self) -> Result<()> {
        // A negative index becomes huge as u32: one maximum checks both bounds (and vectorises);
        // on every thread, as the pass is bound by memory.
        let widest = |part: &[u32]| part.iter().fold(0u32, |m, &i| m.max(i));
        let widest = if self.indices.len() < SPAN {
            widest(self.indices)
        } else {
            self.indices.par_chunks(SPAN).map(widest).max().unwrap_or(0)
        };
        if !self.indices.is_empty() && widest as usize >= self.keys.len() {
            return Err(bad_indices(self.raw.0, self.raw.1));
        }
        Ok(())
    }
}

/// The chunk's keys as `EntryKeys`, when they are of that form and no two dictionary entries
/// share a key (then an entry is a cell).
pub fn entry_keys<'a>(keys: &[KeyColumn<'a>], rows: usize) -> Result<Option<EntryKeys<'a>>> {
    let mut coded = None;
    for (k, key) in keys.iter().enumerate() {
        match key {
            KeyColumn::Constant(_) => {}
            KeyColumn::Codes { indices, codes } if coded.is_none() => {
                coded = Some((k, *indices, *codes));
            }
            _ => return Ok(None),
        }
    }
    let Some((at, indices, codes)) = coded else {
        return Ok(None);
    };
    component(&keys[at], rows)?; // the length and empty-dictionary checks
    let mut distinct = codes.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != codes.len() {
        return Ok(None);
    }
    let base: Vec<i64> = keys
        .iter()
        .map(|key| match key {
            KeyColumn::Constant(value) => *value,
            _ => 0,
        })
        .collect();
    let entry_keys = codes
        .iter()
        .map(|&code| {
            let mut key = base.clone();
            key[at] = code;
            key
        })
        .collect();
    // SAFETY: i32 and u32 have the same size and alignment, and every bit pattern is a valid
    // u32.
    let cells = unsafe { std::slice::from_raw_parts(indices.as_ptr().cast::<u32>(), rows) };
    Ok(Some(EntryKeys {
        indices: cells,
        keys: entry_keys,
        raw: (indices, codes),
    }))
}

/// Rows a pane run must have on average: a run has a fixed cost of some microseconds (though
/// keying many short runs row by row costs more still, for every cell they hold).
const MIN_RUN_ROWS: usize = 1 << 11;

/// Rows `rows` of a chunk, all in one pane of every window: its keys, with those panes as
/// `Constant`s.
pub struct PaneRun<'a> {
    pub rows: std::ops::Range<usize>,
    pub keys: Vec<KeyColumn<'a>>,
}

/// A chunk whose rows come in pane order (as a log's do, timestamps ascending) as runs of rows
/// with the same pane in every window, so that each run folds as a chunk of constant panes, with
/// no assignment pass. `None` when the chunk has no panes, is small, or has runs averaging
/// fewer than `MIN_RUN_ROWS` rows or than its dictionary entries, or when a row is outside its
/// run's pane (timestamps out of order; then the assignment pass, which also reports bad
/// timestamps, keys the rows).
pub fn pane_runs<'a>(keys: &[KeyColumn<'a>], rows: usize) -> Option<Vec<PaneRun<'a>>> {
    if rows < 2 * MIN_RUN_ROWS || keys.iter().any(|k| !k.covers(rows)) {
        return None;
    }
    let mut windows = Vec::new();
    for (at, key) in keys.iter().enumerate() {
        if let KeyColumn::Panes { .. } = key {
            windows.push((at, RawPanes::of(key)?));
        }
    }
    if windows.is_empty() {
        return None;
    }
    // A run ends where any window's pane changes: found by binary search, which assumes the
    // order that the check below then verifies.
    let mut ends = vec![rows];
    for (_, panes) in &windows {
        let (first, last) = (panes.stamps[0], panes.stamps[rows - 1]);
        if first > last {
            return None;
        }
        let (lo, hi) = (panes.pane(first)?, panes.pane(last)?);
        if hi - lo >= (rows / MIN_RUN_ROWS) as i64 {
            return None;
        }
        for pane in lo + 1..=hi {
            let start = panes.start(pane)?;
            ends.push(panes.stamps.partition_point(|&t| t < start));
        }
    }
    ends.sort_unstable();
    ends.dedup();
    // A run also costs a lookup per dictionary entry: runs must outnumber neither.
    let entries: usize = keys
        .iter()
        .map(|key| match key {
            KeyColumn::Codes { codes, .. } => codes.len(),
            _ => 0,
        })
        .sum();
    if ends.len() * MIN_RUN_ROWS.max(entries) > rows {
        return None;
    }
    // Every stamp of a run must lie in the run's pane of every window; windows over one
    // timestamp column read the same stamps, so the intersection of their panes is checked once.
    let mut runs = Vec::with_capacity(ends.len());
    let mut checks: Vec<(&[i64], i64, i64)> = Vec::new();
    let mut start = 0;
    for end in ends.into_iter().filter(|&end| end > 0) {
        let mut run_keys: Vec<KeyColumn<'a>> = keys.iter().map(|k| k.slice(start..end)).collect();
        let run_checks = checks.len();
        for (at, panes) in &windows {
            let stamps = &panes.stamps[start..end];
            let pane = panes.pane(stamps[0])?;
            run_keys[*at] = KeyColumn::Constant(pane);
            let (lo, hi) = (panes.start(pane)?, panes.start(pane + 1)?);
            match checks[run_checks..]
                .iter_mut()
                .find(|(read, ..)| std::ptr::eq(*read, stamps))
            {
                Some((_, from, until)) => (*from, *until) = ((*from).max(lo), (*until).min(hi)),
                None => checks.push((stamps, lo, hi)),
            }
        }
        runs.push(PaneRun {
            rows: start..end,
            keys: run_keys,
        });
        start = end;
    }
    let in_panes = checks
        .par_iter()
        .flat_map(|&(stamps, lo, hi)| stamps.par_chunks(SPAN).map(move |part| (part, lo, hi)))
        .all(|(part, lo, hi)| within(part, lo, hi - 1));
    in_panes.then_some(runs)
}

/// Whether every stamp is in `lo..=last`, for `last - lo` below 2^63 (a pane's width). `t - lo`
/// and `last - t` (wrapping) are both non-negative for exactly those stamps: when one difference
/// wraps, the other is negative. So one OR per stamp gathers the sign bits, in vector lanes (no
/// 64-bit compare before SSE4.2).
fn within(stamps: &[i64], lo: i64, last: i64) -> bool {
    let signs = stamps.iter().fold(0i64, |signs, &t| {
        signs | t.wrapping_sub(lo) | last.wrapping_sub(t)
    });
    signs >= 0
}

/// The fixed-width panes of one window over raw stamps, as `component` computes them.
struct RawPanes<'a> {
    stamps: &'a [i64],
    origin: i64,
    width: i64,
}

impl<'a> RawPanes<'a> {
    /// `None` unless the parameters and the first and last stamps are valid (the assignment pass
    /// reports what is not).
    fn of(key: &KeyColumn<'a>) -> Option<RawPanes<'a>> {
        let KeyColumn::Panes {
            stamps,
            unit_ns,
            origin_ns,
            width_ns,
            ..
        } = *key
        else {
            return None;
        };
        let (width, origin) = raw_pane_unit(unit_ns, origin_ns, width_ns)?;
        let panes = RawPanes {
            stamps,
            origin,
            width,
        };
        // Valid nanosecond timestamps whose pane arithmetic (up to two widths past the last
        // pane's start) cannot overflow; the check that every stamp lies between them follows.
        let valid = |t: i64| {
            t.checked_mul(unit_ns).is_some()
                && panes
                    .pane(t)
                    .and_then(|pane| panes.start(pane + 2))
                    .is_some()
        };
        let (first, last) = (*stamps.first()?, *stamps.last()?);
        (valid(first) && valid(last)).then_some(panes)
    }

    /// The pane of `t` (`None` if `t` is too far from the origin to say).
    fn pane(&self, t: i64) -> Option<i64> {
        Some(t.checked_sub(self.origin)?.div_euclid(self.width))
    }

    fn start(&self, pane: i64) -> Option<i64> {
        pane.checked_mul(self.width)?.checked_add(self.origin)
    }
}

/// The ids marked in `used`, in the order of their first row in `ids` (the order in which a
/// row-by-row assignment meets them); stops once all are seen.
pub fn first_appearances(ids: &[u32], used: &[bool]) -> Vec<u32> {
    let wanted = used.iter().filter(|&&u| u).count();
    let mut seen = vec![false; used.len()];
    let mut order = Vec::with_capacity(wanted);
    for &id in ids {
        if order.len() == wanted {
            break;
        }
        if used[id as usize] && !seen[id as usize] {
            seen[id as usize] = true;
            order.push(id);
        }
    }
    order
}

/// Mixed-radix strides of the chunk's keys when the key space is small enough for a table.
fn dense_layout(components: &[Component<'_>]) -> Option<(Vec<u32>, usize)> {
    let mut strides = Vec::with_capacity(components.len());
    let mut total: usize = 1;
    for comp in components {
        if !comp.dense {
            return None;
        }
        let range = usize::try_from(comp.hi.checked_sub(comp.lo)?.checked_add(1)?).ok()?;
        strides.push(u32::try_from(total).ok()?);
        total = total.checked_mul(range)?;
        if total > DENSE_KEYS {
            return None;
        }
    }
    Some((strides, total))
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

    fn values(keys: &[&[i64]]) -> Vec<KeyColumn<'static>> {
        keys.iter()
            .map(|k| KeyColumn::Values(Box::leak(k.to_vec().into_boxed_slice())))
            .collect()
    }

    #[test]
    fn within_is_exact_at_the_extremes() {
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -5,
            -1,
            0,
            1,
            5,
            i64::MAX - 1,
            i64::MAX,
        ];
        for lo in edges {
            for last in edges
                .into_iter()
                .filter(|&l| l >= lo && l.checked_sub(lo).is_some())
            {
                for t in edges {
                    assert_eq!(
                        within(&[t], lo, last),
                        (lo..=last).contains(&t),
                        "{t} {lo} {last}"
                    );
                }
                assert!(within(&[], lo, last));
            }
        }
    }

    #[test]
    fn dense_and_hashed_paths_agree() {
        let a: Vec<i64> = (0..10_000).map(|i| i % 7).collect();
        let b: Vec<i64> = (0..10_000).map(|i| (i * 31) % 5).collect();
        let mut dense = CellIndex::default();
        let ids = dense.assign(&values(&[&a, &b]), 10_000).unwrap();
        let wide: Vec<i64> = b.iter().map(|v| v * (1 << 40)).collect();
        let mut hashed = CellIndex::default();
        let ids2 = hashed.assign(&values(&[&a, &wide]), 10_000).unwrap();
        assert_eq!(ids, ids2);
        assert_eq!(dense.len(), 35);
    }

    /// Pseudo-random stamps around `center`, spread over about `spread` raw units.
    fn stamps(n: usize, center: i64, spread: i64) -> Vec<i64> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                center + (x % (2 * spread as u64)) as i64 - spread
            })
            .collect()
    }

    #[test]
    fn panes_equal_floor_division_in_nanoseconds() {
        let day = 86_400_000_000_000i64;
        let week_origin = 4 * day;
        for (unit, width, origin) in [
            (1_000, day, 0),
            (1, 3_600_000_000_000, 0),
            (1_000_000_000, 7 * day, week_origin),
            (1_000_000, 60_000_000_000, 0),
        ] {
            // Negative stamps (before 1970), exact pane starts and their neighbours included.
            let mut t = stamps(5_000, 0, 40 * day / unit);
            t.extend([0, -1, 1, width / unit, width / unit - 1, origin / unit - 1]);
            let expected: Vec<i64> = t
                .iter()
                .map(|&s| (s * unit - origin).div_euclid(width))
                .collect();
            let panes = KeyColumn::Panes {
                column: "ts",
                stamps: &t,
                unit_ns: unit,
                origin_ns: origin,
                width_ns: width,
            };
            let mut fused = CellIndex::default();
            let ids = fused.assign(&[panes], t.len()).unwrap();
            let mut plain = CellIndex::default();
            let ids2 = plain.assign(&values(&[&expected]), t.len()).unwrap();
            assert_eq!(ids, ids2);
            assert_eq!(fused.keys(), plain.keys());
        }
    }

    #[test]
    fn codes_map_dictionary_indices() {
        let indices: Vec<i32> = (0..5_000).map(|i| i * 7 % 4).collect();
        let codes = [3i64, 0, 9, 3];
        let t: Vec<i64> = (0..5_000).map(|i| i * 1_000_000).collect();
        let mapped: Vec<i64> = indices.iter().map(|&i| codes[i as usize]).collect();
        let panes: Vec<i64> = t
            .iter()
            .map(|s| (s * 1_000).div_euclid(3_600_000_000_000))
            .collect();
        let fused_keys = [
            KeyColumn::Panes {
                column: "ts",
                stamps: &t,
                unit_ns: 1_000,
                origin_ns: 0,
                width_ns: 3_600_000_000_000,
            },
            KeyColumn::Codes {
                indices: &indices,
                codes: &codes,
            },
        ];
        let mut fused = CellIndex::default();
        let ids = fused.assign(&fused_keys, 5_000).unwrap();
        let mut plain = CellIndex::default();
        let ids2 = plain.assign(&values(&[&panes, &mapped]), 5_000).unwrap();
        assert_eq!(ids, ids2);
        assert_eq!(fused.keys(), plain.keys());
    }

    #[test]
    fn a_constant_component_is_its_value_on_every_row() {
        // Over more than one span (the parallel path) and with a second component.
        let rows = 3 * SPAN + 5;
        let segment: Vec<i64> = (0..rows as i64).map(|i| i % 3).collect();
        let pane = vec![19_000i64; rows];
        let mut constant = CellIndex::default();
        let ids = constant
            .assign(
                &[KeyColumn::Constant(19_000), KeyColumn::Values(&segment)],
                rows,
            )
            .unwrap();
        let mut plain = CellIndex::default();
        let ids2 = plain.assign(&values(&[&pane, &segment]), rows).unwrap();
        assert_eq!(ids, ids2);
        assert_eq!(constant.keys(), plain.keys());
        // A chunk of only a constant key is one cell.
        let mut alone = CellIndex::default();
        assert_eq!(
            alone.assign(&[KeyColumn::Constant(-4)], 10).unwrap(),
            vec![0; 10]
        );
        assert_eq!(alone.keys(), &[vec![-4]]);
    }

    #[test]
    fn bad_keys_are_errors_that_add_no_cell() {
        let mut index = CellIndex::default();
        let bad_index = [KeyColumn::Codes {
            indices: &[0, 2],
            codes: &[5, 6],
        }];
        assert!(matches!(
            index.assign(&bad_index, 2),
            Err(CoreError::BadChunk(_))
        ));
        let far = [0i64, i64::MAX / 1000];
        let too_far = [KeyColumn::Panes {
            column: "ts",
            stamps: &far,
            unit_ns: 1_000_000,
            origin_ns: 0,
            width_ns: 86_400_000_000_000,
        }];
        assert!(matches!(
            index.assign(&too_far, 2),
            Err(CoreError::InvalidData { first_row: 1, .. })
        ));
        let misaligned = [KeyColumn::Panes {
            column: "ts",
            stamps: &[1, 2],
            unit_ns: 1_000_000_000,
            origin_ns: 0,
            width_ns: 1_500_000_000,
        }];
        assert!(index.assign(&misaligned, 2).is_err());
        assert!(index.assign(&values(&[&[1, 2, 3]]), 2).is_err());
        assert!(index.is_empty());
    }

    /// Keys are assigned a span at a time: an error in a later span still names the chunk's
    /// first bad row and counts every bad row, and no cell of the earlier spans is kept.
    #[test]
    fn errors_in_a_later_span_are_located_in_the_chunk() {
        let rows = 3 * SPAN + 10;
        let mut stamps: Vec<i64> = (0..rows as i64).map(|i| i * 1_000).collect();
        stamps[2 * SPAN + 7] = i64::MAX / 1000;
        stamps[rows - 1] = i64::MIN / 1000;
        let indices: Vec<i32> = (0..rows).map(|i| (i % 3) as i32).collect();
        let panes = KeyColumn::Panes {
            column: "ts",
            stamps: &stamps,
            unit_ns: 1_000_000,
            origin_ns: 0,
            width_ns: 3_600_000_000_000,
        };
        let codes = KeyColumn::Codes {
            indices: &indices,
            codes: &[4, 5, 6],
        };
        let mut index = CellIndex::default();
        let err = index.assign(&[codes, panes], rows).unwrap_err();
        assert!(matches!(
            err,
            CoreError::InvalidData { first_row, count: 2, .. } if first_row == (2 * SPAN + 7) as u64
        ));
        assert!(index.is_empty());
        let mut bad = indices.clone();
        bad[SPAN + 1] = 3;
        let bad_codes = KeyColumn::Codes {
            indices: &bad,
            codes: &[4, 5, 6],
        };
        assert!(matches!(
            index.assign(&[bad_codes], rows),
            Err(CoreError::BadChunk(_))
        ));
        assert!(index.is_empty());
        // And the good rows of every span land where a one-span pass puts them.
        stamps[2 * SPAN + 7] = 0;
        stamps[rows - 1] = 0;
        let panes = KeyColumn::Panes {
            column: "ts",
            stamps: &stamps,
            unit_ns: 1_000_000,
            origin_ns: 0,
            width_ns: 3_600_000_000_000,
        };
        let ids = index.assign(&[codes, panes], rows).unwrap();
        for (row, &id) in ids.iter().enumerate() {
            let hour = (stamps[row] * 1_000_000).div_euclid(3_600_000_000_000);
            assert_eq!(index.keys()[id as usize], vec![4 + (row % 3) as i64, hour]);
        }
        // Spans run on every thread, yet cells are numbered by first appearance, as one pass
        // over the rows numbers them.
        let mut first_seen: Vec<u32> = Vec::new();
        for &id in &ids {
            if !first_seen.contains(&id) {
                first_seen.push(id);
            }
        }
        assert_eq!(first_seen, (0..index.len() as u32).collect::<Vec<_>>());
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
