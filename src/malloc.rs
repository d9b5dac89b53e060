//! Fixes glibc malloc's two size thresholds, so that a run's speed does not
//! depend on who launched it.
//!
//! glibc maps every block above `M_MMAP_THRESHOLD` (128 KiB at start) on
//! its own and unmaps it when freed, and gives the top of the heap back to
//! the kernel once more than `M_TRIM_THRESHOLD` of it is free. It raises
//! both when a large mapped block is freed, so they depend on the process's
//! allocation history. A training batch allocates and frees blocks of 0.3
//! to 5 MB (input currents, spike trains, gradients, libtorch's
//! temporaries); where the thresholds stay low, every batch maps, faults in
//! and unmaps them again: a default `snnloc train` without this module ran
//! markedly slower as a child of `snnloc sweep` than alone, and slower still
//! with both thresholds at 128 KiB through the environment
//! (`scripts/benchmark.py` checks both ratios; docs/performance.md has the
//! figures).
//!
//! The values here are the highest glibc's own adjustment reaches on 64-bit
//! (mmap 32 MiB, trim twice that), fixed from the start: per-batch blocks
//! stay in the heap for the next batch, while the data sets (41 MB and up)
//! are still mapped on their own and go back to the kernel when dropped, so
//! peak memory does not grow. Setting them also stops glibc's adjustment and
//! overrides `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` from the
//! environment, which is the point.

/// Call first thing in `main`: allocations made before it follow glibc's
/// history-dependent thresholds. Other C libraries have neither.
pub fn pin_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MMAP_THRESHOLD: libc::c_int = 32 << 20;
        const TRIM_THRESHOLD: libc::c_int = 2 * MMAP_THRESHOLD;
        // SAFETY: mallopt only sets allocator parameters; both are valid
        // parameters with in-range values.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}

/// Gives the kernel back the free memory in malloc's heaps, after a large
/// structure of small blocks is dropped.
///
/// A data set's active-input lists are thousands of small blocks in the
/// heap. Freed, they stay with the process under the pinned thresholds, and
/// where live blocks sit above them the heap's top cannot shrink either; the
/// test set drawn after the training set then came on top, and a default
/// two-thread `train` peaked at 254 MB instead of 236 MB.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}
