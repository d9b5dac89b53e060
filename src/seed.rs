//! Seeding. libtorch's default generator is global to the process: code
//! that seeds it and relies on the draws that follow (weights, batch
//! orders) must not interleave with another thread doing the same. Streams
//! of our own are seeded through `splitmix64`.

use std::sync::{Mutex, MutexGuard};

static TORCH_GENERATOR: Mutex<()> = Mutex::new(());

/// Seeds libtorch like `torch.manual_seed(seed)` and holds the generator
/// for this thread until the guard is dropped.
pub fn seed_torch(seed: u64) -> MutexGuard<'static, ()> {
    // A panic while holding the lock leaves nothing half-done in the lock
    // itself; the next user reseeds anyway.
    let guard = TORCH_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    // torch.manual_seed takes the seed as a 64-bit pattern; so does this.
    tch::manual_seed(seed as i64);
    guard
}

/// SplitMix64's finaliser: a bijection of 64-bit words that scatters nearby
/// inputs (consecutive counters, similar hashes) into unrelated seeds.
pub fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
