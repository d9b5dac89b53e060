//! What this machine offers, for the checks made before any work: memory
//! and cores.

/// Memory the kernel can give a new process without swapping
/// (`MemAvailable` of /proc/meminfo), in bytes; `None` where unknown.
pub fn available_memory() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// The cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Bytes as `1.2 GB`.
pub fn gigabytes(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_has_memory_and_a_core() {
        assert!(available_memory().is_some_and(|m| m > 1e6));
        assert!(cores() >= 1);
        assert_eq!(gigabytes(1.25e9), "1.2 GB");
    }
}
