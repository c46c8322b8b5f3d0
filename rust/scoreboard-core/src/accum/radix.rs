//! LSD radix sort of score keys (`u64`, or `u128` = key << 64 | group), skipping every byte all
//! keys share: the per-class sorts of the multiclass score runs (`class_scores.rs`).

/// Below this many keys a comparison sort beats the radix passes.
pub(crate) const RADIX_MIN: usize = 2048;

/// What `radix_sort` sorts: its bytes, least significant first, as digits.
pub(crate) trait RadixKey: Copy + Ord + Default {
    /// Bit offsets of the bytes that can differ.
    const SHIFTS: &'static [u32];
    fn digit(self, shift: u32) -> usize;
}

impl RadixKey for u64 {
    const SHIFTS: &'static [u32] = &[0, 8, 16, 24, 32, 40, 48, 56];
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) & 0xff) as usize
    }
}

/// `key << 64 | group`: the group's byte, then the key's.
impl RadixKey for u128 {
    const SHIFTS: &'static [u32] = &[0, 64, 72, 80, 88, 96, 104, 112, 120];
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) & 0xff) as usize
    }
}

/// Sorts keys by LSD radix on bytes, skipping every byte all keys share (the top bytes of scores
/// in a narrow range); `scratch` is reused between calls. Small slices use a comparison sort.
pub(crate) fn radix_sort<T: RadixKey>(keys: &mut [T], scratch: &mut Vec<T>) {
    if keys.len() < RADIX_MIN {
        keys.sort_unstable();
        return;
    }
    let mut counts = vec![[0usize; 256]; T::SHIFTS.len()];
    for &key in keys.iter() {
        for (&shift, count) in T::SHIFTS.iter().zip(counts.iter_mut()) {
            count[key.digit(shift)] += 1;
        }
    }
    scratch.clear();
    scratch.resize(keys.len(), T::default());
    let mut in_keys = true;
    for (&shift, count) in T::SHIFTS.iter().zip(&counts) {
        if count.contains(&keys.len()) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut start = 0;
        for (n, c) in next.iter_mut().zip(count) {
            *n = start;
            start += c;
        }
        if in_keys {
            scatter(keys, scratch, shift, &mut next);
        } else {
            scatter(scratch, keys, shift, &mut next);
        }
        in_keys = !in_keys;
    }
    if !in_keys {
        keys.copy_from_slice(scratch);
    }
}

/// One stable radix pass: each key to the next free slot of its byte at `shift`.
fn scatter<T: RadixKey>(from: &[T], to: &mut [T], shift: u32, next: &mut [usize; 256]) {
    for &key in from {
        let slot = &mut next[key.digit(shift)];
        to[*slot] = key;
        *slot += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accum::scores::score_key;

    #[test]
    fn radix_sort_of_keys_with_groups_orders_by_key_then_group() {
        let mut x: u64 = 11;
        let mut scratch = Vec::new();
        for len in [5, RADIX_MIN + 1, 20_000] {
            let items: Vec<u128> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = score_key((x % 97) as f64 / 97.0);
                    (key as u128) << 64 | (x >> 58) as u128
                })
                .collect();
            let mut expected = items.clone();
            expected.sort_unstable();
            let mut got = items;
            radix_sort(&mut got, &mut scratch);
            assert_eq!(got, expected, "{len} items");
        }
    }

    #[test]
    fn radix_sort_matches_a_comparison_sort() {
        let mut x: u64 = 7;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut scratch = Vec::new();
        for len in [0, 1, RADIX_MIN - 1, RADIX_MIN, 50_000] {
            // Scores of every sign and magnitude, heavy ties, and keys sharing their top bytes.
            let keys: Vec<u64> = (0..len)
                .map(|_| {
                    let r = next();
                    match r % 4 {
                        0 => score_key(0.0),
                        1 => score_key((r >> 11) as f64 / (1u64 << 53) as f64),
                        2 => score_key(-((r >> 30) as f64)),
                        _ => r,
                    }
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            let mut got = keys;
            radix_sort(&mut got, &mut scratch);
            assert_eq!(got, expected, "{len} keys");
        }
    }
}
