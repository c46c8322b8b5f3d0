//! The executor: one plan's accumulator states per cell, fed chunk by chunk, merged, serialised,
//! finalized.
//!
//! Without windows or segments there is one cell (key `[]`) and a chunk goes straight to its
//! accumulators. With them, the caller gives each row a cell key; rows are grouped by cell (a
//! counting sort), gathered, and each cell's accumulators are updated once per chunk (or, for
//! accumulators that can, counted per cell in one pass). A chunk with one key for every row goes
//! straight to that cell, and one whose keys differ only in a dictionary column uses the rows'
//! dictionary indices as cell ids; a chunk in time order folds as runs of rows within one pane of
//! every window, each run then usually of one of those two kinds. Reported groups are merges of
//! cells (`results_for`).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accum::{AccState, PARALLEL_MIN_ROWS};
use crate::cells::{
    entry_keys, first_appearances, group_rows, pane_runs, CellIndex, EntryKeys, KeyColumn, PaneRun,
};
use crate::column::{Chunk, OwnedValues};
use crate::error::{CoreError, Result};
use crate::metrics::{finalize, MetricValue};
use crate::plan::Plan;

/// Version of the serialised state layout. Bump it when `StateBody` changes; `from_bytes` rejects
/// any other version explicitly rather than misreading it.
pub const STATE_VERSION: u32 = 7;
const MAGIC: &[u8; 4] = b"SBST";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CellState {
    key: Vec<i64>,
    rows: u64,
    accumulators: Vec<AccState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StateBody {
    plan_hash: String,
    rows: u64,
    cells: Vec<CellState>,
}

/// A chunk's updated cells: (cell id, rows added, new states).
type Updates = Vec<(usize, u64, Vec<AccState>)>;

/// The key of every row, when every key component is `Constant`.
fn constant_key(keys: &[KeyColumn<'_>]) -> Option<Vec<i64>> {
    keys.iter()
        .map(|key| match key {
            KeyColumn::Constant(value) => Some(*value),
            _ => None,
        })
        .collect()
}

/// Rows per cell id. Four interleaved count tables: rows of one cell usually come in runs, and
/// a single table would make every increment wait for the previous one.
fn count_ids(ids: &[u32], cell_count: usize) -> Vec<u64> {
    let mut tables = vec![[0u32; 4]; cell_count];
    let mut out = vec![0u64; cell_count];
    // u32 counters flushed every 2^31 rows at most (a chunk is far smaller, but stay exact).
    for part in ids.chunks(1 << 31) {
        let mut quads = part.chunks_exact(4);
        for q in &mut quads {
            tables[q[0] as usize][0] += 1;
            tables[q[1] as usize][1] += 1;
            tables[q[2] as usize][2] += 1;
            tables[q[3] as usize][3] += 1;
        }
        for &id in quads.remainder() {
            tables[id as usize][0] += 1;
        }
        for (total, table) in out.iter_mut().zip(tables.iter_mut()) {
            *total += table.iter().map(|&c| u64::from(c)).sum::<u64>();
            *table = [0; 4];
        }
    }
    out
}

/// Streaming state of a plan.
#[derive(Debug, Clone)]
pub struct Executor {
    plan: Plan,
    rows: u64,
    index: CellIndex,
    /// Per cell (by id): rows folded in and accumulator states.
    cells: Vec<(u64, Vec<AccState>)>,
    /// The cell id of each row of the chunk being folded, kept from chunk to chunk.
    ids: Scratch,
}

/// A buffer an executor reuses; a copy of the executor starts with an empty one.
#[derive(Debug, Default)]
struct Scratch(Vec<u32>);

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

impl Executor {
    pub fn new(plan: Plan) -> Executor {
        Executor {
            plan,
            rows: 0,
            index: CellIndex::default(),
            cells: Vec::new(),
            ids: Scratch::default(),
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Rows folded in so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The key of every cell, by cell id.
    pub fn cell_keys(&self) -> &[Vec<i64>] {
        self.index.keys()
    }

    /// Rows folded into each cell, by cell id.
    pub fn cell_rows(&self) -> Vec<u64> {
        self.cells.iter().map(|(rows, _)| *rows).collect()
    }

    fn empty_states(&self) -> Vec<AccState> {
        self.plan
            .accumulators
            .iter()
            .map(|spec| AccState::empty(spec, self.plan.max_classes))
            .collect()
    }

    fn ensure_cells(&mut self) {
        while self.cells.len() < self.index.len() {
            let empty = self.empty_states();
            self.cells.push((0, empty));
        }
    }

    fn fold(&self, states: &mut [AccState], chunk: &Chunk<'_>) -> Result<()> {
        for (state, spec) in states.iter_mut().zip(&self.plan.accumulators) {
            state.update(spec, chunk)?;
        }
        Ok(())
    }

    /// Folds one chunk in, every row into the single cell `[]`.
    pub fn update(&mut self, chunk: &Chunk<'_>) -> Result<()> {
        self.update_keyed(chunk, &[])
    }

    /// Folds one chunk in; row `i` goes to the cell keyed by `keys[k][i]` for each component `k`.
    /// All or nothing: if any row is rejected, the state is as it was before the call.
    pub fn update_keyed(&mut self, chunk: &Chunk<'_>, keys: &[&[i64]]) -> Result<()> {
        let keys: Vec<KeyColumn<'_>> = keys.iter().map(|k| KeyColumn::Values(k)).collect();
        self.update_cells(chunk, &keys)
    }

    /// Folds one chunk in; row `i` goes to the cell whose key component `k` is `keys[k]`'s value
    /// for row `i` (given, or derived from timestamps or dictionary indices). All or nothing.
    pub fn update_cells(&mut self, chunk: &Chunk<'_>, keys: &[KeyColumn<'_>]) -> Result<()> {
        // New cells go straight into the index (no copy of it per chunk) and are forgotten
        // again if the chunk is rejected.
        let known = self.index.len();
        let outcome = self.fold_cells(chunk, keys);
        match outcome {
            Ok(updated) => {
                self.commit(updated, chunk.len());
                Ok(())
            }
            Err(err) => {
                self.index.truncate(known);
                Err(err)
            }
        }
    }

    /// The updated states of every cell a chunk touches (new cells added to the index), without
    /// changing any existing state.
    fn fold_cells(&mut self, chunk: &Chunk<'_>, keys: &[KeyColumn<'_>]) -> Result<Updates> {
        let n = chunk.len();
        // One key for every row (no windows or segments; a day's row group and no segments):
        // one cell, no grouping pass.
        if let Some(key) = constant_key(keys).filter(|_| keys.is_empty() || n > 0) {
            let cell = self.index.id(&key) as usize;
            let mut states = self.states_of(cell);
            self.fold(&mut states, chunk)?;
            return Ok(vec![(cell, n as u64, states)]);
        }
        if let Some(runs) = pane_runs(keys, n) {
            let known = self.index.len();
            match self.fold_runs(chunk, &runs) {
                Ok(updated) => return Ok(updated),
                // The whole chunk again, for the error as one pass reports it (its first row and
                // count over every run).
                Err(_) => self.index.truncate(known),
            }
        }
        if let Some(entries) = entry_keys(keys, n)? {
            return self.fold_entries(chunk, &entries);
        }
        let mut ids = std::mem::take(&mut self.ids.0);
        let outcome = self.index.assign_into(keys, n, &mut ids);
        let cell_count = self.index.len();
        let updated = outcome.and_then(|()| {
            self.fold_assigned(chunk, &ids, cell_count, |c| self.states_of(c), || Ok(()))
        });
        self.ids.0 = ids;
        updated
    }

    /// `fold_cells` for a chunk in pane order, a run of rows at a time. Runs differ in some
    /// window's pane, so no two share a cell, and a run's new cells are numbered after those of
    /// the runs before it, as one pass over the rows would number them.
    fn fold_runs(&mut self, chunk: &Chunk<'_>, runs: &[PaneRun<'_>]) -> Result<Updates> {
        let entries: Option<Vec<EntryKeys<'_>>> = runs
            .iter()
            .map(|run| entry_keys(&run.keys, run.rows.len()).ok().flatten())
            .collect();
        let Some(entries) = entries else {
            let mut updated = Vec::new();
            for run in runs {
                updated.extend(self.fold_cells(&chunk.slice(run.rows.clone()), &run.keys)?);
            }
            return Ok(updated);
        };
        // Runs keyed by one segment column (the common case) fold on every thread at once, as
        // their cells are apart; many short runs then keep every core busy.
        let folded: Vec<Result<Updates>> = runs
            .par_iter()
            .zip(&entries)
            .map(|(run, entries)| self.entry_updates(&chunk.slice(run.rows.clone()), entries))
            .collect();
        let mut updated = Vec::new();
        for (entries, local) in entries.iter().zip(folded) {
            updated.extend(self.number_entries(entries, local?));
        }
        Ok(updated)
    }

    /// `fold_cells` for a chunk keyed by one dictionary column alone: its indices are the rows'
    /// cell ids within the chunk (no assignment pass), mapped to cells once folded.
    fn fold_entries(&mut self, chunk: &Chunk<'_>, entries: &EntryKeys<'_>) -> Result<Updates> {
        let local = self.entry_updates(chunk, entries)?;
        Ok(self.number_entries(entries, local))
    }

    /// The updates of a chunk keyed by dictionary entries, by entry rather than by cell.
    fn entry_updates(&self, chunk: &Chunk<'_>, entries: &EntryKeys<'_>) -> Result<Updates> {
        let existing: Vec<Option<u32>> = entries.keys.iter().map(|k| self.index.get(k)).collect();
        self.fold_assigned(
            chunk,
            entries.indices,
            entries.keys.len(),
            |entry| {
                existing[entry].map_or_else(|| self.empty_states(), |c| self.states_of(c as usize))
            },
            || entries.check_indices(),
        )
    }

    /// Entry updates as cell updates; the entries new to the index are numbered by first
    /// appearance, as the row-by-row assignment would number them.
    fn number_entries(&mut self, entries: &EntryKeys<'_>, local: Updates) -> Updates {
        let mut used = vec![false; entries.keys.len()];
        for (entry, _, _) in &local {
            used[*entry] = true;
        }
        let mut cell_of = vec![0usize; entries.keys.len()];
        for entry in first_appearances(entries.indices, &used) {
            cell_of[entry as usize] = self.index.id(&entries.keys[entry as usize]) as usize;
        }
        local
            .into_iter()
            .map(|(entry, rows, states)| (cell_of[entry], rows, states))
            .collect()
    }

    /// `fold_cells` once every row has its cell id; `states_of` gives a cell's states before the
    /// chunk. The one-pass kernels check that every id is below `cell_count`; `check_ids` does
    /// before the rows are grouped.
    fn fold_assigned(
        &self,
        chunk: &Chunk<'_>,
        ids: &[u32],
        cell_count: usize,
        states_of: impl Fn(usize) -> Vec<AccState> + Sync,
        check_ids: impl Fn() -> Result<()>,
    ) -> Result<Updates> {
        let n = chunk.len();
        if let Some(partials) = self.cell_partials(chunk, ids, cell_count) {
            // One pass over the rows for every accumulator: no regrouping, no copies.
            // Per-cell rows from the partial states when they count rows (no extra pass).
            let rows = partials
                .first()
                .and_then(|p| p.iter().map(AccState::rows).collect::<Option<Vec<u64>>>())
                .unwrap_or_else(|| count_ids(ids, cell_count));
            let mut updated = Vec::new();
            for (cell, &cell_rows) in rows.iter().enumerate().filter(|(_, &r)| r > 0) {
                let mut states = states_of(cell);
                for (state, partial) in states.iter_mut().zip(&partials) {
                    state.merge(&partial[cell])?;
                }
                updated.push((cell, cell_rows, states));
            }
            return Ok(updated);
        }
        check_ids()?;
        let grouping = group_rows(ids, cell_count);
        let single = grouping.cells.len() == 1;
        let fold_cell = |i: usize| -> Result<(usize, u64, Vec<AccState>)> {
            let cell = grouping.cells[i] as usize;
            let rows = &grouping.order[grouping.starts[i]..grouping.starts[i + 1]];
            let mut states = states_of(cell);
            let outcome = if single {
                self.fold(&mut states, chunk)
            } else {
                let owned: Vec<(&str, OwnedValues)> = chunk
                    .columns()
                    .map(|(name, values)| (name, OwnedValues::gather(values, rows)))
                    .collect();
                let mut sub = Chunk::new();
                for (name, values) in &owned {
                    sub = sub.with(*name, values.view())?;
                }
                self.fold(&mut states, &sub)
            };
            match outcome {
                Ok(()) => Ok((cell, rows.len() as u64, states)),
                Err(err) => Err(self.locate(err, chunk, rows, single)),
            }
        };
        // Cells are independent: gather and fold them on every thread (a cell's kernels are
        // too small to split, so one at a time they would leave the other cores idle).
        let outcomes: Vec<Result<(usize, u64, Vec<AccState>)>> = if n >= PARALLEL_MIN_ROWS {
            (0..grouping.cells.len())
                .into_par_iter()
                .map(fold_cell)
                .collect()
        } else {
            (0..grouping.cells.len()).map(fold_cell).collect()
        };
        // The first error in cell order, whatever thread found it first.
        outcomes.into_iter().collect()
    }

    /// A copy of a cell's states to update (empty states for a cell not seen yet).
    fn states_of(&self, cell: usize) -> Vec<AccState> {
        match self.cells.get(cell) {
            Some((_, states)) => states.clone(),
            None => self.empty_states(),
        }
    }

    /// Makes a chunk's updates visible at once, once every cell of it has been updated: each
    /// updated cell's (rows added, states), and the chunk's row count.
    fn commit(&mut self, updated: Updates, n: usize) {
        self.ensure_cells();
        for (cell, rows, states) in updated {
            self.cells[cell].0 += rows;
            self.cells[cell].1 = states;
        }
        self.rows += n as u64;
    }

    /// Per accumulator, per cell, the chunk's partial states, when every accumulator can compute
    /// them in one pass (`AccState::update_cells`).
    fn cell_partials(
        &self,
        chunk: &Chunk<'_>,
        ids: &[u32],
        cell_count: usize,
    ) -> Option<Vec<Vec<AccState>>> {
        self.plan
            .accumulators
            .iter()
            .map(|spec| AccState::update_cells(spec, chunk, ids, cell_count))
            .collect()
    }

    /// A row error found in a cell's gathered rows names a row of that subset; report the first
    /// bad row of the whole chunk instead, by re-running the chunk on an empty state.
    fn locate(&self, err: CoreError, chunk: &Chunk<'_>, rows: &[u32], single: bool) -> CoreError {
        if single {
            return err;
        }
        let mut scratch = self.empty_states();
        match self.fold(&mut scratch, chunk) {
            Err(whole @ CoreError::InvalidData { .. }) => whole,
            _ => match err {
                CoreError::InvalidData {
                    column,
                    message,
                    count,
                    first_row,
                } => CoreError::InvalidData {
                    column,
                    message,
                    count,
                    first_row: rows
                        .get(first_row as usize)
                        .map_or(first_row, |&r| r as u64),
                },
                other => other,
            },
        }
    }

    /// Folds another executor's state of the same plan into this one, cell by cell (by key).
    pub fn merge(&mut self, other: &Executor) -> Result<()> {
        self.merge_mapped(other, &[])
    }

    /// `merge`, translating the other state's key components first: `maps[k]`, when not empty,
    /// maps component `k`'s values (`maps[k][old] = new`), for codes assigned independently on
    /// each side (segment values).
    pub fn merge_mapped(&mut self, other: &Executor, maps: &[Vec<i64>]) -> Result<()> {
        if other.plan.plan_hash != self.plan.plan_hash {
            return Err(CoreError::IncompatibleState(format!(
                "states of different plans ({} vs {})",
                self.plan.plan_hash, other.plan.plan_hash
            )));
        }
        let mut index = self.index.clone();
        let mut cells = self.cells.clone();
        for (key, (rows, states)) in other.index.keys().iter().zip(&other.cells) {
            let mut key = key.clone();
            for (component, map) in maps.iter().enumerate() {
                if map.is_empty() {
                    continue;
                }
                let value = key.get_mut(component).ok_or_else(|| {
                    CoreError::IncompatibleState("a key map names a missing component".into())
                })?;
                *value = usize::try_from(*value)
                    .ok()
                    .and_then(|v| map.get(v))
                    .copied()
                    .ok_or_else(|| {
                        CoreError::IncompatibleState(format!("no mapping for key value {value}"))
                    })?;
            }
            let id = index.id(&key) as usize;
            if id == cells.len() {
                cells.push((0, self.empty_states()));
            }
            let (mine_rows, mine) = &mut cells[id];
            for (a, b) in mine.iter_mut().zip(states) {
                a.merge(b)?;
            }
            *mine_rows += rows;
        }
        self.index = index;
        self.cells = cells;
        self.rows += other.rows;
        Ok(())
    }

    /// Sets key component `component` to `to` in every cell whose value there is one of
    /// `values`, merging the cells whose keys become equal: the cells of window panes that can
    /// no longer change fold into one remainder per other key (their rows still count towards
    /// every group that does not read that component). Cell ids are renumbered, in order.
    pub fn collapse(&mut self, component: usize, values: &[i64], to: i64) -> Result<()> {
        let targets: std::collections::HashSet<i64> = values.iter().copied().collect();
        let mut index = CellIndex::default();
        let mut cells: Vec<(u64, Vec<AccState>)> = Vec::with_capacity(self.cells.len());
        for (key, (rows, states)) in self.index.keys().iter().zip(&self.cells) {
            let mut key = key.clone();
            let value = key.get_mut(component).ok_or_else(|| {
                CoreError::BadChunk(format!("no key component {component} to collapse"))
            })?;
            if targets.contains(value) {
                *value = to;
            }
            let id = index.id(&key) as usize;
            if id == cells.len() {
                cells.push((*rows, states.clone()));
            } else {
                let (mine_rows, mine) = &mut cells[id];
                for (a, b) in mine.iter_mut().zip(states) {
                    a.merge(b)?;
                }
                *mine_rows += rows;
            }
        }
        self.index = index;
        self.cells = cells;
        Ok(())
    }

    /// The merged state of the given cells.
    fn merged(&self, cells: &[u32]) -> Result<(u64, Vec<AccState>)> {
        let mut states = self.empty_states();
        let mut rows = 0;
        for &cell in cells {
            let (cell_rows, cell_states) = self.cells.get(cell as usize).ok_or_else(|| {
                CoreError::BadChunk(format!("no cell {cell} (there are {})", self.cells.len()))
            })?;
            rows += cell_rows;
            for (a, b) in states.iter_mut().zip(cell_states) {
                a.merge(b)?;
            }
        }
        Ok((rows, states))
    }

    fn finalize(&self, states: &[AccState]) -> Vec<MetricValue> {
        self.plan
            .metrics
            .iter()
            .flat_map(|m| finalize(m, &states[m.accumulator]))
            .collect()
    }

    /// Every declared metric's value(s) over all rows, in declaration order.
    pub fn results(&self) -> Vec<MetricValue> {
        let all: Vec<u32> = (0..self.cells.len() as u32).collect();
        self.results_for(&all).unwrap_or_default()
    }

    /// Every declared metric's value(s) over the union of `cells`.
    pub fn results_for(&self, cells: &[u32]) -> Result<Vec<MetricValue>> {
        let (_, states) = self.merged(cells)?;
        Ok(self.finalize(&states))
    }

    /// A new executor holding the merge of `cells` as its single cell `[]`: the state of one
    /// reported group, to store and merge with the same group of other runs.
    pub fn subset(&self, cells: &[u32]) -> Result<Executor> {
        let (rows, states) = self.merged(cells)?;
        let mut index = CellIndex::default();
        index.id(&[]);
        Ok(Executor {
            plan: self.plan.clone(),
            rows,
            index,
            cells: vec![(rows, states)],
            ids: Scratch::default(),
        })
    }

    /// `SBST`, the state version (u32 LE), then the postcard-encoded body.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let body = StateBody {
            plan_hash: self.plan.plan_hash.clone(),
            rows: self.rows,
            cells: self
                .index
                .keys()
                .iter()
                .zip(&self.cells)
                .map(|(key, (rows, accumulators))| CellState {
                    key: key.clone(),
                    rows: *rows,
                    accumulators: accumulators.clone(),
                })
                .collect(),
        };
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&STATE_VERSION.to_le_bytes());
        postcard::to_extend(&body, out).map_err(|e| CoreError::CorruptState(e.to_string()))
    }

    /// Reads a state written by `to_bytes` for the same plan.
    pub fn from_bytes(plan: Plan, bytes: &[u8]) -> Result<Executor> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(CoreError::CorruptState("not a scoreboard state".into()));
        }
        let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if version != STATE_VERSION {
            return Err(CoreError::IncompatibleState(format!(
                "state version {version} cannot be read by this build (state version {STATE_VERSION})"
            )));
        }
        let body: StateBody = postcard::from_bytes(&bytes[8..])
            .map_err(|e| CoreError::CorruptState(e.to_string()))?;
        if body.plan_hash != plan.plan_hash {
            return Err(CoreError::IncompatibleState(format!(
                "the state belongs to plan {} but this plan is {}",
                body.plan_hash, plan.plan_hash
            )));
        }
        let mut exec = Executor::new(plan);
        let expected = exec.empty_states();
        let mut keys = Vec::with_capacity(body.cells.len());
        for cell in body.cells {
            let shapes_match = cell.accumulators.len() == expected.len()
                && cell
                    .accumulators
                    .iter()
                    .zip(&expected)
                    .all(|(a, b)| std::mem::discriminant(a) == std::mem::discriminant(b));
            if !shapes_match {
                return Err(CoreError::CorruptState(
                    "the state's accumulators do not match the plan".into(),
                ));
            }
            keys.push(cell.key);
            exec.cells.push((cell.rows, cell.accumulators));
        }
        exec.index = CellIndex::from_keys(keys)?;
        exec.rows = body.rows;
        Ok(exec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::{pane_runs, KeyColumn};
    use crate::column::Values;

    fn plan(json: &str) -> Plan {
        Plan::from_json(json).unwrap()
    }

    /// Binary confusion of hard labels (`"threshold":null`; replace it for scores).
    const BINARY: &str = r#"{"format_version":1,"plan_hash":"h","task":"binary","max_classes":2,
        "accumulators":[{"kind":"binary_confusion","y_true":"y","y_pred":"p","positive":1,
        "negative":0,"threshold":null}],"metrics":[{"name":"f1","kind":"f1","accumulator":0}]}"#;

    const MULTICLASS: &str = r#"{"format_version":1,"plan_hash":"h","task":"multiclass",
        "max_classes":10,"accumulators":[{"kind":"multiclass_confusion","y_true":"y",
        "y_pred":"p","labels":null}],"metrics":[{"name":"accuracy","kind":"accuracy",
        "accumulator":0}]}"#;

    #[test]
    fn state_round_trips_with_string_and_int_labels() {
        let mut exec = Executor::new(plan(MULTICLASS));
        let dict = vec!["b".to_string(), "a".to_string()];
        let chunk = Chunk::new()
            .with(
                "y",
                Values::Dict {
                    dictionary: &dict,
                    indices: &[0, 1, 1],
                },
            )
            .unwrap()
            .with(
                "p",
                Values::Dict {
                    dictionary: &dict,
                    indices: &[0, 0, 1],
                },
            )
            .unwrap();
        exec.update_keyed(&chunk, &[&[5, 5, 6]]).unwrap();
        let bytes = exec.to_bytes().unwrap();
        let back = Executor::from_bytes(plan(MULTICLASS), &bytes).unwrap();
        assert_eq!(back.results(), exec.results());
        assert_eq!(back.cell_keys(), exec.cell_keys());
        assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn keyed_results_merge_to_the_whole() {
        let y = [0i64, 1, 2, 1, 0, 2, 2];
        let p = [0i64, 1, 1, 1, 2, 2, 0];
        let k = [1i64, 2, 1, 2, 1, 3, 3];
        let chunk = Chunk::new()
            .with("y", Values::I64(&y))
            .unwrap()
            .with("p", Values::I64(&p))
            .unwrap();
        let mut keyed = Executor::new(plan(MULTICLASS));
        keyed.update_keyed(&chunk, &[&k]).unwrap();
        let mut whole = Executor::new(plan(MULTICLASS));
        whole.update(&chunk).unwrap();
        assert_eq!(keyed.results(), whole.results());
        assert_eq!(keyed.cell_rows(), vec![3, 2, 2]);
        let first = keyed.results_for(&[0]).unwrap();
        assert_eq!(first[0].value, Some(1.0 / 3.0));
    }

    #[test]
    fn keyed_errors_name_the_row_of_the_chunk() {
        let labels = r#"{"format_version":1,"plan_hash":"h","task":"multiclass","max_classes":10,
            "accumulators":[{"kind":"multiclass_confusion","y_true":"y","y_pred":"p",
            "labels":[0,1]}],"metrics":[{"name":"accuracy","kind":"accuracy","accumulator":0}]}"#;
        let y = [0i64, 1, 0, 1, 7];
        let k = [1i64, 2, 1, 2, 2];
        let chunk = Chunk::new()
            .with("y", Values::I64(&y))
            .unwrap()
            .with("p", Values::I64(&y))
            .unwrap();
        let mut exec = Executor::new(plan(labels));
        let err = exec.update_keyed(&chunk, &[&k]).unwrap_err();
        assert!(matches!(err, CoreError::InvalidData { first_row: 4, .. }));
        assert_eq!(exec.rows(), 0);
        assert!(exec.cell_keys().is_empty());
    }

    /// A chunk large enough to fold its cells in parallel gives each cell what folding that
    /// cell's rows alone gives, and an error still names the chunk's first bad row.
    #[test]
    fn cells_folded_in_parallel_equal_each_cell_alone() {
        let labels = r#"{"format_version":1,"plan_hash":"h","task":"multiclass","max_classes":10,
            "accumulators":[{"kind":"multiclass_confusion","y_true":"y","y_pred":"p",
            "labels":[0,1,2]}],"metrics":[{"name":"accuracy","kind":"accuracy","accumulator":0}]}"#;
        let n = PARALLEL_MIN_ROWS + 5_000;
        let y: Vec<i64> = (0..n).map(|i| (i * 7 % 3) as i64).collect();
        let p: Vec<i64> = (0..n).map(|i| (i * 11 % 3) as i64).collect();
        let k: Vec<i64> = (0..n).map(|i| (i * 13 % 5) as i64).collect();
        let chunk = Chunk::new()
            .with("y", Values::I64(&y))
            .unwrap()
            .with("p", Values::I64(&p))
            .unwrap();
        let mut keyed = Executor::new(plan(labels));
        keyed.update_keyed(&chunk, &[&k]).unwrap();
        for (cell, key) in keyed.cell_keys().to_vec().iter().enumerate() {
            let rows: Vec<usize> = (0..n).filter(|&i| k[i] == key[0]).collect();
            let (cy, cp): (Vec<i64>, Vec<i64>) = rows.iter().map(|&i| (y[i], p[i])).unzip();
            let mut alone = Executor::new(plan(labels));
            alone
                .update(
                    &Chunk::new()
                        .with("y", Values::I64(&cy))
                        .unwrap()
                        .with("p", Values::I64(&cp))
                        .unwrap(),
                )
                .unwrap();
            assert_eq!(keyed.results_for(&[cell as u32]).unwrap(), alone.results());
        }
        let mut bad = y.clone();
        bad[n - 3] = 9;
        bad[n - 1] = 9;
        let chunk = Chunk::new()
            .with("y", Values::I64(&bad))
            .unwrap()
            .with("p", Values::I64(&p))
            .unwrap();
        let before = keyed.to_bytes().unwrap();
        let err = keyed.update_keyed(&chunk, &[&k]).unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidData { first_row, .. } if first_row == (n - 3) as u64)
        );
        assert_eq!(keyed.to_bytes().unwrap(), before);
    }

    /// Chunks keyed by a constant and one dictionary column (folded by dictionary entry, with no
    /// assignment pass) give the state, cell numbering included, that the same keys given as
    /// values give; a bad row or index is still an error that changes nothing.
    #[test]
    fn dictionary_keyed_chunks_equal_value_keyed_chunks() {
        let binary = BINARY;
        let multiclass = MULTICLASS.replace("\"labels\":null", "\"labels\":[0,1]");
        for json in [binary, multiclass.as_str()] {
            let n = PARALLEL_MIN_ROWS + 3_000;
            let y: Vec<i64> = (0..n).map(|i| (i * 7 % 11 < 4) as i64).collect();
            let p: Vec<i64> = (0..n).map(|i| (i * 5 % 13 < 6) as i64).collect();
            let mut bad = y.clone();
            bad[n - 2] = 5;
            let [chunk, bad_chunk] = [&y, &bad].map(|y| {
                Chunk::new()
                    .with("y", Values::I64(y))
                    .unwrap()
                    .with("p", Values::I64(&p))
                    .unwrap()
            });
            // Entry 3 is never used; entry 2 first appears after entry 0.
            let codes = [40i64, 10, 30, 20];
            let indices: Vec<i32> = (0..n).map(|i| [0, 2, 1, 0, 1][i % 5]).collect();
            let later: Vec<i32> = (0..n).map(|i| [1, 3][i % 2]).collect();
            let mut by_entry = Executor::new(plan(json));
            let mut by_value = Executor::new(plan(json));
            for (pane, idx) in [(7i64, &indices), (8, &later), (7, &later)] {
                let keys = [
                    KeyColumn::Constant(pane),
                    KeyColumn::Codes {
                        indices: idx,
                        codes: &codes,
                    },
                ];
                by_entry.update_cells(&chunk, &keys).unwrap();
                let panes = vec![pane; n];
                let segs: Vec<i64> = idx.iter().map(|&i| codes[i as usize]).collect();
                by_value.update_keyed(&chunk, &[&panes, &segs]).unwrap();
                assert_eq!(by_entry.to_bytes().unwrap(), by_value.to_bytes().unwrap());
            }
            // A constant key alone is one cell.
            by_entry
                .update_cells(&chunk, &[KeyColumn::Constant(9)])
                .unwrap();
            by_value.update_keyed(&chunk, &[&vec![9; n]]).unwrap();
            assert_eq!(by_entry.to_bytes().unwrap(), by_value.to_bytes().unwrap());
            let before = by_entry.to_bytes().unwrap();
            let new_entry = [
                KeyColumn::Constant(11),
                KeyColumn::Codes {
                    indices: &indices,
                    codes: &codes,
                },
            ];
            let err = by_entry.update_cells(&bad_chunk, &new_entry).unwrap_err();
            assert!(
                matches!(err, CoreError::InvalidData { first_row, .. } if first_row == (n - 2) as u64)
            );
            let past = [
                KeyColumn::Constant(11),
                KeyColumn::Codes {
                    indices: &later,
                    codes: &codes[..2],
                },
            ];
            assert!(matches!(
                by_entry.update_cells(&chunk, &past),
                Err(CoreError::BadChunk(_))
            ));
            assert_eq!(by_entry.to_bytes().unwrap(), before);
        }
    }

    /// Chunks in pane order (timestamps ascending, or out of order only within a pane) fold a
    /// pane run at a time, to the state, cell numbering included, that the same keys given as
    /// values give. Stamps out of order across panes fold row by row, and a bad row or index is
    /// an error as one pass reports it, changing nothing.
    #[test]
    fn chunks_in_pane_order_fold_as_runs_like_value_keys() {
        let scores = BINARY.replace("\"threshold\":null", "\"threshold\":0.5");
        let multiclass = MULTICLASS.replace("\"labels\":null", "\"labels\":[0,1]");
        let n = 3 * PARALLEL_MIN_ROWS + 1_234;
        let (day, origin) = (1_000_000i64, 250_000i64);
        // Over three and a half days, ascending but for swapped neighbours inside a day.
        let mut ts: Vec<i64> = (0..n as i64)
            .map(|i| 40 * day + i * 7 * day / (2 * n as i64))
            .collect();
        for i in (0..n - 1).step_by(97) {
            if ts[i].div_euclid(day) == ts[i + 1].div_euclid(day)
                && (ts[i] - origin).div_euclid(2 * day) == (ts[i + 1] - origin).div_euclid(2 * day)
            {
                ts.swap(i, i + 1);
            }
        }
        assert!(ts.windows(2).any(|pair| pair[0] > pair[1]));
        let y: Vec<i64> = (0..n).map(|i| (i * 7 % 11 < 4) as i64).collect();
        let score: Vec<f64> = (0..n).map(|i| (i * 5 % 13) as f64 / 13.0).collect();
        let p: Vec<i64> = score.iter().map(|&s| (s >= 0.5) as i64).collect();
        let codes = [40i64, 10, 30, 20];
        let indices: Vec<i32> = (0..n).map(|i| [0, 2, 1, 0, 1, 3][i % 6]).collect();
        let keys = |stamps: &'static [i64], indices: &'static [i32]| {
            [
                KeyColumn::Panes {
                    column: "ts",
                    stamps,
                    unit_ns: 1,
                    origin_ns: 0,
                    width_ns: day,
                },
                KeyColumn::Panes {
                    column: "ts",
                    stamps,
                    unit_ns: 1,
                    origin_ns: origin,
                    width_ns: 2 * day,
                },
                KeyColumn::Codes {
                    indices,
                    codes: &codes,
                },
            ]
        };
        let values = |stamps: &[i64], indices: &[i32]| -> [Vec<i64>; 3] {
            [
                stamps.iter().map(|t| t.div_euclid(day)).collect(),
                stamps
                    .iter()
                    .map(|t| (t - origin).div_euclid(2 * day))
                    .collect(),
                indices.iter().map(|&i| codes[i as usize]).collect(),
            ]
        };
        let leak = |v: Vec<i64>| -> &'static [i64] { Box::leak(v.into_boxed_slice()) };
        let sorted = leak(ts.clone());
        let indices: &'static [i32] = Box::leak(indices.into_boxed_slice());
        // Runs change at days 41, 42 and 43, and at 40.25 and 42.25 (two days from 0.25).
        let runs = pane_runs(&keys(sorted, indices), n).expect("pane runs");
        assert_eq!(runs.len(), 6);
        // One stamp moved into the day before its neighbours: no runs, same results.
        let mut late = ts.clone();
        late[2 * n / 3] = late[n / 3];
        let late = leak(late);
        assert!(pane_runs(&keys(late, indices), n).is_none());

        for (json, pred) in [
            (scores.as_str(), Values::F64(&score)),
            (multiclass.as_str(), Values::I64(&p)),
        ] {
            let chunk = Chunk::new()
                .with("y", Values::I64(&y))
                .unwrap()
                .with("p", pred)
                .unwrap();
            let mut by_runs = Executor::new(plan(json));
            let mut by_value = Executor::new(plan(json));
            for stamps in [sorted, late, sorted] {
                by_runs
                    .update_cells(&chunk, &keys(stamps, indices))
                    .unwrap();
                let [a, b, c] = values(stamps, indices);
                by_value.update_keyed(&chunk, &[&a, &b, &c]).unwrap();
                assert_eq!(by_runs.to_bytes().unwrap(), by_value.to_bytes().unwrap());
            }
            // Bad labels in the third and last runs: the error of one pass, naming the first.
            let before = by_runs.to_bytes().unwrap();
            let mut bad = y.clone();
            bad[n / 3] = 5;
            bad[n - 2] = 5;
            let bad_chunk = Chunk::new()
                .with("y", Values::I64(&bad))
                .unwrap()
                .with("p", pred)
                .unwrap();
            let err = by_runs
                .update_cells(&bad_chunk, &keys(sorted, indices))
                .unwrap_err();
            let [a, b, c] = values(sorted, indices);
            let one_pass = by_value
                .update_keyed(&bad_chunk, &[&a, &b, &c])
                .unwrap_err();
            assert_eq!(format!("{err:?}"), format!("{one_pass:?}"));
            assert!(
                matches!(err, CoreError::InvalidData { first_row, .. } if first_row == (n / 3) as u64)
            );
            // An index past the dictionary in the third run.
            let mut past = indices.to_vec();
            past[2 * n / 3] = 4;
            let past: &'static [i32] = Box::leak(past.into_boxed_slice());
            assert!(matches!(
                by_runs.update_cells(&chunk, &keys(sorted, past)),
                Err(CoreError::BadChunk(_))
            ));
            assert_eq!(by_runs.to_bytes().unwrap(), before);
        }
    }

    /// Many short runs (hourly panes) fold on every thread at once, and runs keyed by more than
    /// one segment column one after another; both give the state, cell numbering included, of
    /// the same keys given as values.
    #[test]
    fn short_runs_and_runs_of_two_segments_fold_like_value_keys() {
        let binary = BINARY;
        let (n, hour) = (200_000usize, 3_600i64);
        // Fifty hours: fifty runs of 4,000 rows.
        let ts: Vec<i64> = (0..n as i64)
            .map(|i| 1_000 * hour + i * 50 * hour / n as i64)
            .collect();
        let y: Vec<i64> = (0..n).map(|i| (i * 7 % 11 < 4) as i64).collect();
        let p: Vec<i64> = (0..n).map(|i| (i * 5 % 13 < 6) as i64).collect();
        let chunk = Chunk::new()
            .with("y", Values::I64(&y))
            .unwrap()
            .with("p", Values::I64(&p))
            .unwrap();
        let codes = [7i64, 3, 5];
        let indices: Vec<i32> = (0..n).map(|i| (i * 7 % 3) as i32).collect();
        let device: Vec<i64> = (0..n).map(|i| (i % 2) as i64).collect();
        let panes = KeyColumn::Panes {
            column: "ts",
            stamps: &ts,
            unit_ns: 1,
            origin_ns: 0,
            width_ns: hour,
        };
        let region = KeyColumn::Codes {
            indices: &indices,
            codes: &codes,
        };
        let hours: Vec<i64> = ts.iter().map(|t| t.div_euclid(hour)).collect();
        let regions: Vec<i64> = indices.iter().map(|&i| codes[i as usize]).collect();
        assert_eq!(pane_runs(&[panes, region], n).map(|r| r.len()), Some(50));
        let cases: [(Vec<KeyColumn<'_>>, Vec<&[i64]>); 2] = [
            (vec![panes, region], vec![&hours, &regions]),
            (
                vec![panes, region, KeyColumn::Values(&device)],
                vec![&hours, &regions, &device],
            ),
        ];
        for (keys, values) in cases {
            let mut by_runs = Executor::new(plan(binary));
            let mut by_value = Executor::new(plan(binary));
            for _ in 0..2 {
                by_runs.update_cells(&chunk, &keys).unwrap();
                by_value.update_keyed(&chunk, &values).unwrap();
                assert_eq!(by_runs.to_bytes().unwrap(), by_value.to_bytes().unwrap());
            }
        }
    }

    #[test]
    fn collapse_merges_cells_and_keeps_totals() {
        let y = [0i64, 1, 2, 1, 0, 2, 2];
        let p = [0i64, 1, 1, 1, 2, 2, 0];
        let pane = [1i64, 1, 2, 2, 3, 3, 3];
        let seg = [0i64, 1, 0, 1, 0, 1, 0];
        let chunk = Chunk::new()
            .with("y", Values::I64(&y))
            .unwrap()
            .with("p", Values::I64(&p))
            .unwrap();
        let mut exec = Executor::new(plan(MULTICLASS));
        exec.update_keyed(&chunk, &[&pane, &seg]).unwrap();
        let before = exec.results();
        exec.collapse(0, &[1, 2], i64::MIN).unwrap();
        assert_eq!(
            exec.cell_keys(),
            &[vec![i64::MIN, 0], vec![i64::MIN, 1], vec![3, 0], vec![3, 1]]
        );
        assert_eq!(exec.cell_rows(), vec![2, 2, 2, 1]);
        assert_eq!(exec.results(), before);
        assert!(exec.collapse(5, &[1], 0).is_err());
        // Updates after a collapse land in the renumbered cells.
        exec.update_keyed(&chunk, &[&pane, &seg]).unwrap();
        assert_eq!(exec.cell_rows(), vec![2, 2, 4, 2, 1, 1, 1, 1]);
    }

    #[test]
    fn a_rejected_chunk_adds_no_cell() {
        let labels = r#"{"format_version":1,"plan_hash":"h","task":"multiclass","max_classes":10,
            "accumulators":[{"kind":"multiclass_confusion","y_true":"y","y_pred":"p",
            "labels":[0,1]}],"metrics":[{"name":"accuracy","kind":"accuracy","accumulator":0}]}"#;
        let good = [0i64, 1];
        let chunk = |y: &'static [i64]| {
            Chunk::new()
                .with("y", Values::I64(y))
                .unwrap()
                .with("p", Values::I64(y))
                .unwrap()
        };
        let mut exec = Executor::new(plan(labels));
        exec.update_keyed(&chunk(&[0, 1]), &[&good]).unwrap();
        assert!(exec.update_keyed(&chunk(&[0, 7]), &[&[5, 6]]).is_err());
        assert!(exec.update_keyed(&chunk(&[0, 1]), &[&[1, 2, 3]]).is_err());
        assert_eq!(exec.cell_keys(), &[vec![0], vec![1]]);
        exec.update_keyed(&chunk(&[1, 0]), &[&[6, 0]]).unwrap();
        assert_eq!(exec.cell_keys(), &[vec![0], vec![1], vec![6]]);
        assert_eq!(exec.rows(), 4);
    }

    #[test]
    fn rejects_other_plans_and_versions() {
        let exec = Executor::new(plan(MULTICLASS));
        let mut bytes = exec.to_bytes().unwrap();
        let other = MULTICLASS.replace(r#""plan_hash":"h""#, r#""plan_hash":"other""#);
        assert!(matches!(
            Executor::from_bytes(plan(&other), &bytes),
            Err(CoreError::IncompatibleState(_))
        ));
        bytes[4] = 9;
        assert!(matches!(
            Executor::from_bytes(plan(MULTICLASS), &bytes),
            Err(CoreError::IncompatibleState(_))
        ));
    }
}
