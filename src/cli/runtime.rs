//! The flags every command shares that set up libtorch: --device and
//! --threads.

use anyhow::Result;
use tch::Device;

use super::RuntimeArgs;
use snnloc::device::select_device;

/// Refuses, before any work, an environment the program cannot honour: a
/// `SNNLOC_VECTORS` that names no vector level or one this CPU lacks.
pub fn check_environment() -> Result<()> {
    snnloc::vectors::Vectors::chosen().map(drop)
}

/// Applies --device and --threads.
pub fn runtime(args: &RuntimeArgs) -> Result<Device> {
    set_threads(args.threads)?;
    select_device(&args.device)
}

/// The most `--threads` takes: 4 per core, and at least 64.
pub fn max_threads() -> usize {
    (4 * snnloc::machine::cores()).max(64)
}

/// Applies --threads, when given, to both pools: libtorch's and rayon's
/// (the stimulus generator's), so that `sweep --jobs N --threads 1` runs N
/// threads in all. The stimulus does not depend on the thread count.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(threads) = threads {
        anyhow::ensure!(threads >= 1, "`threads` must be at least 1, got {threads}");
        // More threads than cores only queue; far more exhaust the
        // process's thread limit inside rayon or libgomp.
        let most = max_threads();
        anyhow::ensure!(
            threads <= most,
            "`threads` {threads}: this machine has {} cores; give at most {most}",
            snnloc::machine::cores()
        );
        tch::set_num_threads(threads as i32);
        // Rayon's global pool is sized once per process; a second call (in
        // tests, several commands run in one process) keeps the first size.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    Ok(())
}
