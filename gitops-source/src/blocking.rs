//! The private tokio runtime behind the blocking registry, OCI, Helm and
//! bucket clients, and the rule that keeps it from panicking: a blocking
//! call made on a thread that is inside a tokio runtime's context refuses
//! (each module's `Error::InsideAsyncRuntime`) instead of calling
//! `block_on`, which would panic with "Cannot start a runtime from within a
//! runtime".
//!
//! Tokio enters the runtime's context on its worker threads and on the
//! threads of its blocking pool (`spawn_blocking`) alike, and does not say
//! which one a thread is; both refuse. From async code, use the async
//! clients; a blocking client runs on plain threads (`std::thread`).
//!
//! The async clients in turn keep CPU- and disk-bound steps (packing and
//! unpacking artifacts) off the runtime's threads with [`off_runtime`].

use std::future::Future;

/// True when this thread is inside a tokio runtime's context, where a
/// private runtime's `block_on` would panic.
pub(crate) fn inside_runtime() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// The marker of a refused blocking call; each module maps it to its own
/// `Error::InsideAsyncRuntime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InsideRuntime;

/// A single-threaded tokio runtime owned by one blocking client.
///
/// Dropping it never blocks and never panics, inside a runtime or not: it
/// is shut down with `shutdown_background` (it runs nothing between calls).
pub(crate) struct PrivateRuntime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl PrivateRuntime {
    /// Start the runtime (building one does not enter it, so this is fine
    /// inside another runtime too).
    pub(crate) fn new() -> Result<PrivateRuntime, std::io::Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(PrivateRuntime {
            runtime: Some(runtime),
        })
    }

    /// Run `fut` to completion on this thread, or refuse inside a runtime.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, InsideRuntime> {
        if inside_runtime() {
            return Err(InsideRuntime);
        }
        match &self.runtime {
            Some(rt) => Ok(rt.block_on(fut)),
            // Only `drop` takes the runtime out.
            None => unreachable!("the private runtime is present until drop"),
        }
    }
}

impl Drop for PrivateRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Run `fut` on a runtime made for this one call (the bucket functions,
/// which have no client to own one), or refuse inside a runtime.
pub(crate) fn run_once<F: Future>(
    fut: F,
) -> Result<Result<F::Output, std::io::Error>, InsideRuntime> {
    if inside_runtime() {
        return Err(InsideRuntime);
    }
    let rt = match PrivateRuntime::new() {
        Ok(rt) => rt,
        Err(e) => return Ok(Err(e)),
    };
    rt.block_on(fut).map(Ok)
}

/// Run CPU- and disk-bound work (packing, unpacking) on tokio's blocking
/// pool, so it never stalls the runtime's threads.
pub(crate) async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::archive::Error> + Send + 'static,
) -> Result<T, crate::archive::Error> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(crate::archive::Error::Io {
            path: std::path::PathBuf::new(),
            source: std::io::Error::other("the runtime shut down during the blocking task"),
        }),
    }
}
