//! Dictionary encoding of fixed-width text (numpy's `U` arrays: UCS-4 code units padded with
//! zeros), so a batch of strings reaches the accumulators and the cell keys as small integer
//! indices without a round trip through Arrow.

use rustc_hash::FxHashMap;

/// The dictionary index of every row of `data` (rows of `width` code units) in first-seen order,
/// and the first row of each distinct value. A zero `width` (numpy's `<U0`) is one empty value.
pub fn dictionary_indices(data: &[u32], width: usize) -> (Vec<i32>, Vec<usize>) {
    if width == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut index_of: FxHashMap<&[u32], i32> = FxHashMap::default();
    let mut first_rows = Vec::new();
    let indices = data
        .chunks_exact(width)
        .enumerate()
        .map(|(row, text)| {
            *index_of.entry(text).or_insert_with(|| {
                first_rows.push(row);
                (first_rows.len() - 1) as i32
            })
        })
        .collect();
    (indices, first_rows)
}

/// The text of one row of UCS-4 code units, without its zero padding (numpy drops trailing NULs
/// too); a unit that is not a Unicode scalar value becomes U+FFFD.
pub fn ucs4_text(units: &[u32]) -> String {
    let end = units
        .iter()
        .rposition(|&u| u != 0)
        .map_or(0, |last| last + 1);
    units[..end]
        .iter()
        .map(|&u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_seen_order_and_first_rows() {
        // "ab", "c", "ab", "", "c" as <U2.
        let data = [97, 98, 99, 0, 97, 98, 0, 0, 99, 0];
        let (indices, first) = dictionary_indices(&data, 2);
        assert_eq!(indices, vec![0, 1, 0, 2, 1]);
        assert_eq!(first, vec![0, 1, 3]);
    }

    #[test]
    fn text_drops_only_trailing_padding() {
        assert_eq!(ucs4_text(&[97, 0, 98, 0, 0]), "a\u{0}b");
        assert_eq!(ucs4_text(&[0x65e5, 0x672c]), "日本");
        assert_eq!(ucs4_text(&[0, 0]), "");
    }

    #[test]
    fn empty_input() {
        assert_eq!(dictionary_indices(&[], 3), (vec![], vec![]));
    }
}
