//! The test process's own memory: its high-water mark, for tests that bound what intake or a
//! sandbox costs the runner (nextest runs one process per test, so the figure is the test's).

/// The process's peak resident memory in KiB (`VmHWM` of `/proc/self/status`).
pub fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Panics when the process's peak memory reached 512 MiB; `what` names the part measured.
pub fn assert_peak_under_512_mib(what: &str) {
    let hwm_kib = peak_kib();
    assert!(hwm_kib < 512 * 1024, "{what} peak memory {hwm_kib} KiB");
}
