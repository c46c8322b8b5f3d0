//! Large buffers whose pages are faulted in ahead, in parallel. A fresh buffer of hundreds of
//! megabytes (the exact score runs of a 20M-row chunk) otherwise takes one page fault per 4 KiB
//! on its first write, which cost more than the walk that fills it. Linux's
//! `MADV_POPULATE_WRITE` (5.14 on) maps the pages in one call per thread; elsewhere, or on an
//! older kernel, the advice is refused and the pages fault in as before.

use rayon::prelude::*;

use super::split_sizes;

/// Below this many bytes a buffer is left to fault in as it is written.
const PREFAULT_MIN_BYTES: usize = 8 << 20;

/// An empty vector with room for `capacity` items, its pages faulted in. Only for a buffer that
/// will be filled: every page of the capacity becomes resident.
pub(crate) fn with_capacity<T>(capacity: usize) -> Vec<T> {
    let v = Vec::with_capacity(capacity);
    populate(v.as_ptr() as usize, v.capacity() * std::mem::size_of::<T>());
    v
}

/// `len` zero keys, their pages faulted in (the allocator maps a large zeroed buffer fresh).
pub(crate) fn zeroed_keys(len: usize) -> Vec<u64> {
    let v = vec![0u64; len];
    populate(v.as_ptr() as usize, len * std::mem::size_of::<u64>());
    v
}

/// The pieces end to end in one vector, whose pages are faulted in ahead; the pieces are copied
/// on every thread.
pub(crate) fn concat<T: Copy + Send + Sync>(pieces: &[Vec<T>]) -> Vec<T> {
    let sizes: Vec<usize> = pieces.iter().map(Vec::len).collect();
    let total = sizes.iter().sum();
    let mut out: Vec<T> = with_capacity(total);
    let parts = split_sizes(&mut out.spare_capacity_mut()[..total], &sizes);
    parts.into_par_iter().zip(pieces).for_each(|(part, piece)| {
        for (slot, &item) in part.iter_mut().zip(piece) {
            slot.write(item);
        }
    });
    // SAFETY: the parts tile the first `total` slots, and each was written in full (a part is
    // as long as its piece).
    unsafe { out.set_len(total) };
    out
}

#[cfg(target_os = "linux")]
fn populate(start: usize, bytes: usize) {
    const PAGE: usize = 4096;
    if bytes < PREFAULT_MIN_BYTES {
        return;
    }
    // The whole pages inside the buffer, one share per thread. Advice is a hint: a refusal
    // leaves the pages to fault in on first write, and never changes their contents.
    let (first, end) = (start.next_multiple_of(PAGE), (start + bytes) / PAGE * PAGE);
    let share = (end - first)
        .div_ceil(rayon::current_num_threads().max(1))
        .next_multiple_of(PAGE);
    let starts: Vec<usize> = (first..end).step_by(share).collect();
    starts.into_par_iter().for_each(|at| {
        // SAFETY: [at, at + len) lies inside an allocation this process owns and keeps alive
        // for the call; MADV_POPULATE_WRITE only maps its pages.
        unsafe {
            libc::madvise(
                at as *mut libc::c_void,
                share.min(end - at),
                libc::MADV_POPULATE_WRITE,
            );
        }
    });
}

#[cfg(not(target_os = "linux"))]
fn populate(_start: usize, _bytes: usize) {}
