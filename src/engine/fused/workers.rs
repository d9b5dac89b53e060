//! How the fused engine spreads its loops over threads.
//!
//! Each loop is cut into contiguous ranges of independent outputs (samples,
//! rows, inputs), so the thread count changes who computes a number, never
//! how: the engine's numbers do not depend on it.
//!
//! The parts run on libtorch's own OpenMP team, through the entry point
//! that `#pragma omp parallel` compiles to, found in the libgomp that
//! libtorch loaded. Between parallel regions the team's threads spin for a
//! while before they sleep, so the next region starts without waking one.
//! Threads started per loop, or a rayon pool beside libtorch's, left a
//! two-thread epoch slower than a one-thread one on a 2-core VM (0.33 to
//! 0.42 s against 0.22 to 0.27 s): libtorch's OpenMP threads, spinning
//! after its own parallel ops, took the cores from them, and starting a
//! thread cost about 45 µs. LLVM's and Intel's OpenMP runtimes export the
//! same entry point. Where there is none (a libtorch built without
//! OpenMP), the parts run one after another on the calling thread; libtorch
//! may then split the surrogate's sigmoid between threads of its own, at
//! points that move the scalar tail, and such builds are not checked.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The engine's threads: as many as libtorch's setting (`--threads`).
pub(super) struct Workers {
    threads: usize,
}

impl Workers {
    pub(super) fn new() -> Workers {
        Workers {
            threads: tch::get_num_threads().max(1) as usize,
        }
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

    /// `each` for work that can fail; the first error, if any.
    pub(super) fn try_each<P: Send, E: Send>(
        &self,
        parts: impl IntoIterator<Item = P>,
        work: impl Fn(P) -> Result<(), E> + Sync,
    ) -> Result<(), E> {
        let failed = Mutex::new(None);
        self.each(parts, |part| {
            if let Err(e) = work(part) {
                let mut first = failed.lock().unwrap_or_else(PoisonError::into_inner);
                first.get_or_insert(e);
            }
        });
        match failed.into_inner().unwrap_or_else(PoisonError::into_inner) {
            Some(e) => Err(e),
            None => Ok(()),
        }
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

/// libgomp's `GOMP_parallel(fn, data, num_threads, flags)`: runs `fn(data)`
/// on each thread of a team of `num_threads`, the caller among them, and
/// returns when all have.
type Parallel = unsafe extern "C" fn(extern "C" fn(*mut c_void), *mut c_void, u32, u32);

fn omp_parallel() -> Option<Parallel> {
    static FOUND: OnceLock<Option<Parallel>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // SAFETY: dlsym only looks the name up among the loaded libraries.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"GOMP_parallel".as_ptr()) };
        // SAFETY: where libgomp defines the name, it is this function (the
        // GNU OpenMP ABI, stable since GCC 4.9).
        (!symbol.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, Parallel>(symbol) })
    })
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
