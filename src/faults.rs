//! Points in the writing of files where a test can have the process killed,
//! to show that a reader then sees a whole run or none.
//!
//! `SNNLOC_KILL_AT=N` makes the N-th point this process passes (counting
//! from 1) send the process `SNNLOC_KILL_SIGNAL` (`KILL`, the default, or
//! `TERM`). Unset, a point costs one relaxed atomic load. The variables are
//! for tests (`tests/integration/transactions.rs`), not for users, and are
//! read once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub const KILL_AT_ENV: &str = "SNNLOC_KILL_AT";
pub const KILL_SIGNAL_ENV: &str = "SNNLOC_KILL_SIGNAL";

struct Plan {
    at: u64,
    signal: libc::c_int,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let at = std::env::var(KILL_AT_ENV).ok()?.parse().ok()?;
        let signal = match std::env::var(KILL_SIGNAL_ENV).as_deref() {
            Ok("TERM") => libc::SIGTERM,
            _ => libc::SIGKILL,
        };
        Some(Plan { at, signal })
    })
    .as_ref()
}

/// One point; `_what` names it for a reader of the code and of `strace`.
pub fn point(_what: &str) {
    static PASSED: AtomicU64 = AtomicU64::new(0);
    if let Some(plan) = plan() {
        if PASSED.fetch_add(1, Ordering::Relaxed) + 1 == plan.at {
            // SAFETY: sends a signal to this process; nothing is shared.
            unsafe {
                libc::raise(plan.signal);
            }
        }
    }
}
