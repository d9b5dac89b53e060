//! A folder written as one transaction. Its files are written into a
//! hidden staging folder beside it, which then takes the folder's place in
//! one rename; a reader sees the old folder whole or the new one whole,
//! whatever is killed when, and a full disk or a failed figure leaves the
//! old folder as it was.
//!
//! The staging folder is `.<name>.staging-<pid>-<n>` in the same parent
//! (a rename cannot cross file systems). Where the folder exists, Linux's
//! `renameat2(RENAME_EXCHANGE)` swaps the two in one step and the old one,
//! now under the staging name, is deleted; on file systems without it, the
//! old folder is first renamed aside (`.<name>.old-<pid>-<n>`), leaving a
//! moment with no folder at all, never a mixed one. What a killed process
//! left of either name is deleted the next time that folder is written.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

use crate::faults;

/// Writes the folder `target` as one transaction: `write` fills a staging
/// folder, whose path it is given, which then takes `target`'s place. On an
/// error nothing changes, and the error names `target`, not the staging
/// folder.
pub fn write_folder(target: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let staging = Staging::begin(target)?;
    if let Err(e) = write(staging.path()) {
        let text = format!("{e:#}");
        let staged = staging.path().display().to_string();
        return Err(match text.contains(&staged) {
            true => anyhow::anyhow!(text.replace(&staged, &target.display().to_string())),
            false => e,
        });
    }
    staging.commit()
}

/// A folder being written; dropped uncommitted, it is deleted.
struct Staging {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

const STAGING: &str = "staging";
const ASIDE: &str = "old";

impl Staging {
    /// Starts writing `target` anew, after deleting what killed processes
    /// left of earlier attempts. `target`'s parent is created if missing.
    fn begin(target: &Path) -> Result<Staging> {
        // Through a symbolic link to a folder, the folder is replaced, not
        // the link.
        let target = &match target.symlink_metadata() {
            Ok(link) if link.file_type().is_symlink() => fs::canonicalize(target)
                .with_context(|| format!("{}: a symbolic link to nothing", target.display()))?,
            _ => target.to_path_buf(),
        };
        let parent = parent(target);
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create output folder {}", parent.display()))?;
        remove_leftovers(target)?;
        let staging = sibling(target, STAGING);
        fs::create_dir(&staging)
            .with_context(|| format!("cannot write into {}", parent.display()))?;
        Ok(Staging {
            target: target.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Where the folder's files go until `commit`.
    fn path(&self) -> &Path {
        &self.staging
    }

    /// Puts the staged folder in the target's place and deletes the old one.
    fn commit(mut self) -> Result<()> {
        let what = || format!("cannot put {} in place", self.target.display());
        sync_dir(&self.staging).with_context(what)?;
        faults::point("staged");
        if self.target.symlink_metadata().is_ok() {
            anyhow::ensure!(
                self.target.is_dir(),
                "{} exists and is not a folder",
                self.target.display()
            );
            if exchange(&self.staging, &self.target).is_ok() {
                faults::point("exchanged");
                self.committed = true;
                // The old folder now has the staging name.
                return remove(&self.staging);
            }
            let aside = sibling(&self.target, ASIDE);
            fs::rename(&self.target, &aside).with_context(what)?;
            faults::point("aside");
            fs::rename(&self.staging, &self.target).with_context(what)?;
            self.committed = true;
            faults::point("renamed");
            return remove(&aside);
        }
        fs::rename(&self.staging, &self.target).with_context(what)?;
        self.committed = true;
        sync_dir(parent(&self.target)).with_context(what)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// The folder that holds `path`, `.` for a bare name.
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The hidden name `.<name>.<kind>-` that this process's siblings of
/// `target` start with, without the pid and count.
fn prefix(target: &Path, kind: &str) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(target.file_name().unwrap_or_default());
    prefix.push(format!(".{kind}-"));
    prefix
}

fn sibling(target: &Path, kind: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let mut name = prefix(target, kind);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    name.push(format!("{}-{call}", std::process::id()));
    parent(target).join(name)
}

/// Deletes the staging and set-aside folders of `target` whose process is
/// gone.
fn remove_leftovers(target: &Path) -> Result<()> {
    for kind in [STAGING, ASIDE] {
        for dir in dead_leftovers(parent(target), &prefix(target, kind)) {
            remove(&dir)?;
        }
    }
    Ok(())
}

/// The entries `<prefix><pid>-…` of `dir` whose process is gone: what a
/// killed process left of its temporary names.
pub(crate) fn dead_leftovers(dir: &Path, prefix: &OsStr) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let pid = |name: &OsStr| -> Option<i32> {
        let rest = name
            .as_encoded_bytes()
            .strip_prefix(prefix.as_encoded_bytes())?;
        std::str::from_utf8(rest)
            .ok()?
            .split('-')
            .next()?
            .parse()
            .ok()
    };
    entries
        .flatten()
        .filter(|entry| pid(&entry.file_name()).is_some_and(|pid| !process_alive(pid)))
        .map(|entry| entry.path())
        .collect()
}

/// Whether a process with this pid exists (it may be another program's if
/// the pid was reused, which only keeps a leftover for longer).
fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 checks for the process and sends nothing.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn remove(dir: &Path) -> Result<()> {
    fs::remove_dir_all(dir).with_context(|| format!("cannot delete {}", dir.display()))
}

/// Makes the folder's entries durable before it is renamed into place.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Swaps two paths in one step (Linux 3.15 and later, on most local file
/// systems).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths, relative to the working directory.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    match result {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("snnloc-staging-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_committed_folder_replaces_the_old_one_whole() {
        let root = scratch("replace");
        let target = root.join("run");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old.txt"), "old").unwrap();
        let staging = Staging::begin(&target).unwrap();
        fs::write(staging.path().join("new.txt"), "new").unwrap();
        staging.commit().unwrap();
        let names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["run"], "nothing but the folder is left");
        assert!(target.join("new.txt").exists() && !target.join("old.txt").exists());
    }

    #[test]
    fn an_uncommitted_folder_leaves_nothing_and_leftovers_of_dead_processes_go() {
        let root = scratch("drop");
        let target = root.join("run");
        drop(Staging::begin(&target).unwrap());
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
        // A pid that no process has: above Linux's pid_max.
        let dead = root.join(".run.staging-2147483647-0");
        let alive = root.join(format!(".run.old-{}-99", std::process::id()));
        fs::create_dir_all(dead.join("inner")).unwrap();
        fs::create_dir_all(&alive).unwrap();
        let staging = Staging::begin(&target).unwrap();
        assert!(!dead.exists() && alive.exists());
        staging.commit().unwrap();
        assert!(target.is_dir());
    }
}
