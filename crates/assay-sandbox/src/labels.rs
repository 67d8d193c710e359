//! Labels on everything assay creates in Docker, and who owns it: the basis of cleanup and gc.

use std::collections::HashMap;

/// Present (`true`) on every container, network, volume and image assay creates.
pub const MANAGED: &str = "assay.managed";
/// The run id a resource belongs to.
pub const RUN: &str = "assay.run";
/// The pid of the assay process that created the resource.
pub const PID: &str = "assay.pid";
/// The start time (in clock ticks since boot, `/proc/<pid>/stat` field 22) of that process,
/// so that a recycled pid does not keep a dead run's leftovers alive.
pub const PID_START: &str = "assay.pid-start";
/// On images: the content hash they were built from.
pub const CONTENT_HASH: &str = "assay.content-hash";
/// On images: what the image is (`submission`, `recipe`, `trust`).
pub const KIND: &str = "assay.kind";
/// On images (and, through `FROM`, every image built on them): the extra certificate
/// authorities the image trusts, `sha256:<fingerprint prefix> <subject>; …`.
pub const EXTRA_CA: &str = "assay.extra-ca";
/// On run resources (and in their firewall rules' comments): when they expire, in seconds
/// since the Unix epoch. Past it, gc removes them even if their owner still runs (a hung or
/// stopped assay), so nothing outlives [`LIFETIME`].
pub const EXPIRES: &str = "assay.expires";
/// How long a run's containers, networks and rules may exist: longer than any run (the
/// service is killed after 30 minutes, a build after its time limit).
pub const LIFETIME: std::time::Duration = std::time::Duration::from_secs(3 * 3600);

/// True when `labels` carry an expiry that has passed.
pub fn expired(labels: &HashMap<String, String>) -> bool {
    labels
        .get(EXPIRES)
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|t| t <= now_secs())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// On containers: the role in the run (`service`, `sidecar`).
pub const ROLE: &str = "assay.role";

/// The identity of this assay process, as recorded on what it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub start: Option<u64>,
}

impl Owner {
    /// This process.
    pub fn current() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: process_start(pid),
        }
    }

    /// Reads the owner back from a resource's labels (`None` when unlabelled).
    pub fn from_labels(labels: &HashMap<String, String>) -> Option<Owner> {
        let pid = labels.get(PID)?.parse().ok()?;
        let start = labels.get(PID_START).and_then(|s| s.parse().ok());
        Some(Owner { pid, start })
    }

    /// True while the process that created the resource still runs (same pid AND, when
    /// recorded, same start time).
    pub fn is_alive(&self) -> bool {
        match process_start(self.pid) {
            None => false,
            Some(now) => self.start.is_none_or(|recorded| recorded == now),
        }
    }

    /// The comment carried by this run's iptables rules (no spaces, so `iptables -S` output
    /// splits on whitespace).
    pub fn rule_comment(&self, run_id: &str) -> String {
        let mut c = format!("{RUN}={run_id},{PID}={}", self.pid);
        if let Some(start) = self.start {
            c.push_str(&format!(",{PID_START}={start}"));
        }
        c.push_str(&format!(",{EXPIRES}={}", now_secs() + LIFETIME.as_secs()));
        c
    }

    /// True when a rule comment's expiry has passed.
    pub fn rule_expired(comment: &str) -> bool {
        comment.trim_matches('"').split(',').any(|part| {
            part.split_once('=').is_some_and(|(k, v)| {
                k == EXPIRES && v.parse::<u64>().is_ok_and(|t| t <= now_secs())
            })
        })
    }

    /// Parses [`Owner::rule_comment`] back into (run id, owner).
    pub fn from_rule_comment(comment: &str) -> Option<(String, Owner)> {
        let mut run = None;
        let mut pid = None;
        let mut start = None;
        for part in comment.trim_matches('"').split(',') {
            let (k, v) = part.split_once('=')?;
            match k {
                RUN => run = Some(v.to_owned()),
                PID => pid = v.parse().ok(),
                PID_START => start = v.parse().ok(),
                _ => {}
            }
        }
        Some((run?, Owner { pid: pid?, start }))
    }
}

/// The labels for a resource of run `run_id` owned by `owner`.
pub fn run_labels(run_id: &str, owner: &Owner) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    labels.insert(MANAGED.to_owned(), "true".to_owned());
    labels.insert(RUN.to_owned(), run_id.to_owned());
    labels.insert(PID.to_owned(), owner.pid.to_string());
    if let Some(start) = owner.start {
        labels.insert(PID_START.to_owned(), start.to_string());
    }
    labels.insert(
        EXPIRES.to_owned(),
        (now_secs() + LIFETIME.as_secs()).to_string(),
    );
    labels
}

/// `/proc/<pid>/stat` field 22 (start time), or `None` when no such process.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command (field 2) is in parentheses and may itself contain spaces or ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    // Fields from 3 on; start time is field 22, i.e. index 19 here.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// True when `run_id` is usable in Docker names and iptables comments.
pub fn valid_run_id(run_id: &str) -> bool {
    !run_id.is_empty()
        && run_id.len() <= 48
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && run_id.as_bytes()[0].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_expire_after_their_lifetime() {
        let owner = Owner::current();
        let labels = run_labels("r1", &owner);
        assert!(!expired(&labels), "fresh: {labels:?}");
        let past = HashMap::from([(EXPIRES.to_owned(), "1000".to_owned())]);
        assert!(expired(&past));
        assert!(
            !expired(&HashMap::new()),
            "no label: never expires by itself"
        );
        let comment = owner.rule_comment("r1");
        assert!(!Owner::rule_expired(&comment), "{comment}");
        assert!(Owner::rule_expired(
            "assay.run=r1,assay.pid=1,assay.expires=5"
        ));
        assert_eq!(
            Owner::from_rule_comment(&comment).map(|(run, o)| (run, o.pid)),
            Some(("r1".to_owned(), owner.pid))
        );
    }

    #[test]
    fn current_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = Owner::current();
        assert!(me.start.is_some());
        assert!(me.is_alive());
        let impostor = Owner {
            pid: me.pid,
            start: me.start.map(|s| s + 1),
        };
        assert!(!impostor.is_alive());
        assert!(
            !Owner {
                pid: u32::MAX - 1,
                start: None
            }
            .is_alive()
        );
    }

    #[test]
    fn rule_comment_round_trips() {
        let owner = Owner {
            pid: 42,
            start: Some(7),
        };
        let c = owner.rule_comment("run-1");
        assert!(!c.contains(' '));
        assert_eq!(
            Owner::from_rule_comment(&format!("\"{c}\"")),
            Some(("run-1".to_owned(), owner))
        );
    }

    #[test]
    fn run_ids_are_restricted() {
        assert!(valid_run_id("run-1.a_b"));
        assert!(!valid_run_id(""));
        assert!(!valid_run_id("-x"));
        assert!(!valid_run_id("a b"));
        assert!(!valid_run_id("a,b"));
        assert!(!valid_run_id(&"a".repeat(49)));
    }
}
