//! How the fused engine spreads its loops over threads.
//!
//! Each loop is cut into contiguous ranges of independent outputs (samples,
//! rows, inputs), so the thread count changes who computes a number, never
//! how: the engine's numbers do not depend on it.
//!
//! The parts run on libtorch's own OpenMP team (`libtorch::omp_parallel`).
//! Between parallel regions the team's threads spin for a while before they
//! sleep, so the next region starts without waking one; threads of another
//! pool would compete with those spinning threads for the cores
//! (docs/performance.md has the measurements). LLVM's and Intel's OpenMP
//! runtimes export the same entry point. Where there is none (a libtorch
//! built without OpenMP), the parts run one after another on the calling
//! thread; libtorch may then split the surrogate's sigmoid between threads
//! of its own, at points that move the scalar tail, and such builds are not
//! checked.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::libtorch::{omp_parallel, Parallel};

/// The engine's threads: as many as libtorch's setting (`--threads`).
pub(super) struct Workers {
    threads: usize,
}

impl Workers {
    pub(super) fn new() -> Workers {
        Self::with_threads(tch::get_num_threads().max(1) as usize)
    }

    pub(super) fn with_threads(threads: usize) -> Workers {
        Workers { threads }
    }

    /// Items per part when `items` are shared out, one part per thread, in
    /// whole multiples of `align`.
    pub(super) fn per_part(&self, items: usize, align: usize) -> usize {
        let align = align.max(1);
        items
            .div_ceil(self.threads)
            .next_multiple_of(align)
            .max(align)
    }

    /// Runs `work` on every part, on the team's threads where there are
    /// several.
    pub(super) fn each<P: Send>(
        &self,
        parts: impl IntoIterator<Item = P>,
        work: impl Fn(P) + Sync,
    ) {
        let parts: Vec<Mutex<Option<P>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
        let next = AtomicUsize::new(0);
        let run = || {
            while let Some(slot) = parts.get(next.fetch_add(1, Ordering::Relaxed)) {
                if let Some(part) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    work(part);
                }
            }
        };
        match omp_parallel() {
            Some(parallel) if self.threads > 1 && parts.len() > 1 => {
                on_team(parallel, self.threads.min(parts.len()), &run)
            }
            _ => run(),
        }
    }

    /// Runs `work` on every item, the items shared out in one contiguous
    /// run per thread (`per_part`).
    pub(super) fn each_item<P: Send>(
        &self,
        items: impl IntoIterator<Item = P>,
        work: impl Fn(P) + Sync,
    ) {
        let mut items: Vec<P> = items.into_iter().collect();
        let per = self.per_part(items.len(), 1);
        let mut runs = Vec::new();
        while !items.is_empty() {
            let rest = items.split_off(per.min(items.len()));
            runs.push(std::mem::replace(&mut items, rest));
        }
        self.each(runs, |run| run.into_iter().for_each(&work));
    }

    /// Cuts `out`, rows of `width` floats, into one part per thread
    /// (`per_part`) and fills each with `fill(first row, part)`.
    pub(super) fn fill_rows(
        &self,
        out: &mut [f32],
        width: usize,
        align: usize,
        fill: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        if out.is_empty() || width == 0 {
            return;
        }
        let per = self.per_part(out.len() / width, align);
        self.each(out.chunks_mut(per * width).enumerate(), |(i, part)| {
            fill(i * per, part)
        });
    }
}

/// What each of the team's threads runs, and the first panic among them.
struct Job<'a> {
    run: &'a (dyn Fn() + Sync),
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

/// Runs `run` on a team of `threads` and passes on a panic from any of them.
fn on_team(parallel: Parallel, threads: usize, run: &(dyn Fn() + Sync)) {
    extern "C" fn each_thread(data: *mut c_void) {
        // SAFETY: `data` is the `Job` below, alive until `parallel` returns.
        let job = unsafe { &*(data as *const Job) };
        // A panic must not unwind into C.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(job.run)) {
            let mut first = job.panic.lock().unwrap_or_else(PoisonError::into_inner);
            first.get_or_insert(payload);
        }
    }
    let job = Job {
        run,
        panic: Mutex::new(None),
    };
    // SAFETY: `each_thread` only reads the job through a shared reference,
    // and GOMP_parallel returns only after every thread of the team has.
    unsafe {
        parallel(
            each_thread,
            &job as *const Job as *mut c_void,
            threads as u32,
            0,
        )
    };
    if let Some(payload) = job
        .panic
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        panic::resume_unwind(payload);
    }
}
