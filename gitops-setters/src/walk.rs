//! Process the files of a tree on all cores, and hand the results back in
//! file order.
//!
//! Workers take files [`CHUNK`] at a time (read, screen, process) and hand
//! each chunk back in one message, so that the threads meet once per chunk,
//! not once per file; the caller's `emit` runs on the calling thread, in the
//! order of `files`. A worker never runs more than [`WINDOW`] files ahead of
//! what was emitted, so memory stays bounded by a few files, not the tree.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

use gitops_core::fs::{self, FileTree, RelPath};

/// How far ahead of the emitted file workers may go.
const WINDOW: usize = 64;

/// Files a worker takes at a time.
const CHUNK: usize = 16;

/// What happened to one file.
pub(crate) enum Outcome<T> {
    /// The screen rejected it (not parsed).
    Skipped,
    /// Processed.
    Done(T),
}

/// The callback receiving each file's outcome, in order.
pub(crate) type Emit<'a, T, E> =
    dyn FnMut(&RelPath, Result<Outcome<T>, fs::Error>) -> Result<(), E> + 'a;

/// Run `work` on every file that passes `screen`, emitting outcomes in order.
pub(crate) fn run<T, E>(
    tree: &(dyn FileTree + Sync),
    files: &[RelPath],
    screen: fn(&[u8]) -> bool,
    work: &(dyn Fn(&RelPath, Vec<u8>) -> T + Sync),
    emit: &mut Emit<'_, T, E>,
) -> Result<(), E>
where
    T: Send,
{
    let one = |p: &RelPath| {
        tree.read(p).map(|bytes| {
            if screen(&bytes) {
                Outcome::Done(work(p, bytes))
            } else {
                Outcome::Skipped
            }
        })
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(files.len());
    if threads <= 1 {
        for p in files {
            emit(p, one(p))?;
        }
        return Ok(());
    }

    let next = AtomicUsize::new(0);
    // Index of the next file to emit; `usize::MAX / 2` tells workers to stop.
    let gate = (Mutex::new(0usize), Condvar::new());
    let stop = usize::MAX / 2;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel(WINDOW / CHUNK + threads);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, gate, one) = (&next, &gate, &one);
            s.spawn(move || {
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    let first = c.saturating_mul(CHUNK);
                    let Some(chunk) = files.get(first..files.len().min(first + CHUNK)) else {
                        break;
                    };
                    if chunk.is_empty() {
                        break;
                    }
                    {
                        let mut emitted = gate.0.lock().unwrap_or_else(PoisonError::into_inner);
                        while first >= emitted.saturating_add(WINDOW) {
                            emitted = gate.1.wait(emitted).unwrap_or_else(PoisonError::into_inner);
                        }
                        if *emitted >= stop {
                            break;
                        }
                    }
                    let results: Vec<_> = chunk.iter().map(one).collect();
                    if tx.send((first, results)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut want = 0usize;
        let result = (|| {
            for (first, results) in &rx {
                pending.insert(first, results);
                while let Some(results) = pending.remove(&want) {
                    for r in results {
                        emit(&files[want], r)?;
                        want += 1;
                    }
                    *gate.0.lock().unwrap_or_else(PoisonError::into_inner) = want;
                    gate.1.notify_all();
                }
            }
            Ok(())
        })();
        if result.is_err() {
            *gate.0.lock().unwrap_or_else(PoisonError::into_inner) = stop;
            gate.1.notify_all();
            drop(rx);
        }
        result
    })
}
