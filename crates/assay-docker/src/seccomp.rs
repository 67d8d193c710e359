//! The seccomp profile of the service container: Docker 20.10's default profile with the
//! io_uring syscalls removed.
//!
//! `seccomp.json` is `profiles/seccomp/default.json` of Docker Engine 20.10.24 (Debian's
//! `golang-github-docker-docker-dev` 20.10.24+dfsg1, the source of the engine on the grading
//! machines) with `io_uring_setup`, `io_uring_enter` and `io_uring_register` taken out of the
//! allow list, so they fall to the default action (`SCMP_ACT_ERRNO`, i.e. EPERM). io_uring
//! has been a steady source of kernel privilege escalations and bypasses seccomp argument
//! filtering (operations are submitted through shared memory), which is why newer Docker
//! releases block it too.

/// The profile JSON, passed as `security_opt` `seccomp=<json>`.
pub const PROFILE: &str = include_str!("seccomp.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_is_json_without_io_uring_and_denies_by_default() {
        let v: serde_json::Value = serde_json::from_str(PROFILE).expect("valid JSON");
        assert_eq!(v["defaultAction"], "SCMP_ACT_ERRNO");
        assert!(!PROFILE.contains("io_uring"));
        let names: Vec<&str> = v["syscalls"]
            .as_array()
            .expect("syscalls")
            .iter()
            .flat_map(|r| r["names"].as_array().into_iter().flatten())
            .filter_map(|n| n.as_str())
            .collect();
        for needed in ["read", "write", "clone", "socket", "epoll_wait", "futex"] {
            assert!(names.contains(&needed), "{needed} must stay allowed");
        }
    }
}
