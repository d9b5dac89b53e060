//! One process at a time on a sweep folder: an advisory lock on its
//! `sweep.lock`, which the OS releases however the holder ends, a kill
//! included. The file names the holder's pid for whoever comes next.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::output;

pub const LOCK_FILE: &str = "sweep.lock";

/// The lock on a sweep folder, held until dropped. A sweep's runs hold it
/// too (they inherit it, see `runner`), so a folder whose sweep died is not
/// taken while a run it started may still write into it.
pub struct FolderLock {
    file: File,
}

impl FolderLock {
    /// Creates `dir`, proves it writable and locks it, or says which
    /// process holds it.
    pub fn take(dir: &Path) -> Result<FolderLock> {
        output::prepare_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        let fail = || format!("cannot lock {}", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(fail)?;
        // fs4's, not std's (Rust 1.89), to keep the crate's minimum Rust.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                // Empty for the instant between a holder's lock and its pid.
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = match holder.trim() {
                    "" => "another process".to_string(),
                    pid => format!("process {pid}"),
                };
                bail!(
                    "`out` {} is in use by {holder} (a sweep, a merge or the runs of a sweep); wait for it to end or choose another `out`",
                    dir.display()
                );
            }
            Err(fs4::TryLockError::Error(e)) => return Err(e).with_context(fail),
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .with_context(fail)?;
        Ok(FolderLock { file })
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for FolderLock {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }
}
