//! Radix sort of score keys (`u64`) carrying a payload per key (a row's interval group, or
//! nothing), skipping every byte all keys share: the per-class sorts of the multiclass score runs
//! (`class_scores.rs`). A payload rides beside its key rather than inside a wider item, so a
//! grouped sort moves 9 bytes a key per pass instead of 16.

/// Below this many keys a comparison sort beats the radix passes.
pub(crate) const RADIX_MIN: usize = 256;
/// From this many keys on, one pass on the most significant varying byte first splits the keys
/// into buckets that each sort in cache (LSD passes over the whole array would each miss it).
const MSD_MIN: usize = 1 << 15;

/// Buffers a sort reuses between calls.
pub(crate) struct Scratch<P> {
    keys: Vec<u64>,
    payload: Vec<P>,
    pairs: Vec<(u64, P)>,
}

impl<P> Default for Scratch<P> {
    fn default() -> Self {
        Scratch {
            keys: Vec::new(),
            payload: Vec::new(),
            pairs: Vec::new(),
        }
    }
}

/// Sorts `keys` by radix on bytes, moving `payload[i]` with `keys[i]`; stable, so keys that are
/// equal keep their payloads in input order. A zero-sized payload (`()`) costs nothing. Large
/// slices are first split on their most significant varying byte, then each bucket is sorted
/// LSD on the bytes that vary; small slices use a (stable) comparison sort.
pub(crate) fn radix_sort<P: Copy + Default>(
    keys: &mut [u64],
    payload: &mut [P],
    scratch: &mut Scratch<P>,
) {
    debug_assert_eq!(keys.len(), payload.len());
    let len = keys.len();
    if len < RADIX_MIN {
        let pairs = &mut scratch.pairs;
        pairs.clear();
        pairs.extend(keys.iter().copied().zip(payload.iter().copied()));
        pairs.sort_by_key(|&(key, _)| key);
        for ((k, p), &(key, item)) in keys.iter_mut().zip(payload.iter_mut()).zip(pairs.iter()) {
            (*k, *p) = (key, item);
        }
        return;
    }
    let mut counts = [[0usize; 256]; 8];
    for &key in keys.iter() {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[digit(key, byte)] += 1;
        }
    }
    // The bytes on which keys differ, least significant first.
    let varying: Vec<usize> = (0..8).filter(|&b| !counts[b].contains(&len)).collect();
    scratch.keys.clear();
    scratch.keys.resize(len, 0);
    scratch.payload.clear();
    scratch.payload.resize(len, P::default());
    if let (true, [.., _, top]) = (len >= MSD_MIN, varying.as_slice()) {
        let mut next = starts(&counts[*top]);
        scatter(
            (&*keys, &*payload),
            (&mut scratch.keys, &mut scratch.payload),
            *top,
            &mut next,
        );
        keys.copy_from_slice(&scratch.keys);
        payload.copy_from_slice(&scratch.payload);
        let mut start = 0;
        for &size in &counts[*top] {
            let end = start + size;
            radix_sort(&mut keys[start..end], &mut payload[start..end], scratch);
            start = end;
        }
        return;
    }
    let mut in_place = true;
    for &byte in &varying {
        let mut next = starts(&counts[byte]);
        if in_place {
            scatter(
                (&*keys, &*payload),
                (&mut scratch.keys, &mut scratch.payload),
                byte,
                &mut next,
            );
        } else {
            scatter(
                (&scratch.keys, &scratch.payload),
                (keys, payload),
                byte,
                &mut next,
            );
        }
        in_place = !in_place;
    }
    if !in_place {
        keys.copy_from_slice(&scratch.keys);
        payload.copy_from_slice(&scratch.payload);
    }
}

/// The first slot of each byte value, from the counts of each.
fn starts(count: &[usize; 256]) -> [usize; 256] {
    let mut next = [0usize; 256];
    let mut start = 0;
    for (n, c) in next.iter_mut().zip(count) {
        *n = start;
        start += c;
    }
    next
}

#[inline(always)]
fn digit(key: u64, byte: usize) -> usize {
    ((key >> (8 * byte)) & 0xff) as usize
}

/// One stable radix pass: each key (and its payload) to the next free slot of its byte.
fn scatter<P: Copy>(
    (keys, payload): (&[u64], &[P]),
    (to_keys, to_payload): (&mut [u64], &mut [P]),
    byte: usize,
    next: &mut [usize; 256],
) {
    for (&key, &item) in keys.iter().zip(payload) {
        let slot = &mut next[digit(key, byte)];
        to_keys[*slot] = key;
        to_payload[*slot] = item;
        *slot += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accum::scores::score_key;

    /// Keys of every sign and magnitude, heavy ties, and keys sharing their top bytes.
    fn keys(len: usize, seed: u64) -> Vec<u64> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match x % 4 {
                    0 => score_key(0.0),
                    1 => score_key((x >> 11) as f64 / (1u64 << 53) as f64),
                    2 => score_key(-((x >> 30) as f64)),
                    _ => x,
                }
            })
            .collect()
    }

    #[test]
    fn radix_sort_matches_a_stable_comparison_sort_payloads_included() {
        let mut scratch = Scratch::default();
        for len in [
            0,
            1,
            RADIX_MIN - 1,
            RADIX_MIN,
            MSD_MIN - 1,
            MSD_MIN,
            200_000,
        ] {
            let mut got = keys(len, 7);
            // Each key's input position as its payload: equal keys must keep their order.
            let mut positions: Vec<u32> = (0..len as u32).collect();
            let mut expected: Vec<(u64, u32)> =
                got.iter().copied().zip(positions.iter().copied()).collect();
            expected.sort_by_key(|&(key, _)| key);
            radix_sort(&mut got, &mut positions, &mut scratch);
            let got: Vec<(u64, u32)> = got.into_iter().zip(positions).collect();
            assert_eq!(got, expected, "{len} keys");
        }
    }

    #[test]
    fn radix_sort_without_payload_sorts_the_keys() {
        let mut scratch = Scratch::default();
        for len in [5, RADIX_MIN + 1, 20_000] {
            let mut got = keys(len, 11);
            let mut expected = got.clone();
            expected.sort_unstable();
            radix_sort(&mut got, &mut vec![(); len], &mut scratch);
            assert_eq!(got, expected, "{len} keys");
        }
    }
}
