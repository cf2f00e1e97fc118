//! Long tag lists split over threads: contiguous slices, one pass each,
//! results handed back in slice order so the caller can combine them
//! exactly as one sequential pass would.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::thread;

/// Lists shorter than this are selected on the calling thread alone.
pub(crate) const PARALLEL_MIN: usize = 100_000;

/// How many slices a list of `len` tags is split into when lists of `min`
/// tags or more pay for a thread ([`PARALLEL_MIN`] where each tag costs a
/// parse): one per available core, each at least `min / 2` tags long.
pub(crate) fn parts_for(len: usize, min: usize) -> usize {
    if len >= min {
        thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .min(len / (min / 2).max(1))
            .max(1)
    } else {
        1
    }
}

/// Run `f(slice, span)` on `parts` contiguous slices of `tags` (`span` is
/// the slice's position in `tags`), on scoped threads when `threads` (the
/// first slice on the calling thread), and return the results in slice
/// order. A panic in a slice is resumed on the caller.
pub(crate) fn map_parts<'t, S, R, F>(tags: &'t [S], parts: usize, threads: bool, f: F) -> Vec<R>
where
    S: Sync,
    R: Send,
    F: Fn(&'t [S], Range<usize>) -> R + Sync,
{
    let chunk = tags.len().div_ceil(parts.max(1)).max(1);
    let span = |k: usize, c: &[S]| k * chunk..k * chunk + c.len();
    if threads && tags.len() > chunk {
        let f = &f;
        thread::scope(|s| {
            let rest: Vec<_> = tags
                .chunks(chunk)
                .enumerate()
                .skip(1)
                .map(|(k, c)| {
                    let at = span(k, c);
                    s.spawn(move || f(c, at))
                })
                .collect();
            let mut out = Vec::with_capacity(rest.len() + 1);
            out.push(f(&tags[..chunk], 0..chunk));
            for h in rest {
                out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            out
        })
    } else {
        tags.chunks(chunk)
            .enumerate()
            .map(|(k, c)| f(c, span(k, c)))
            .collect()
    }
}
