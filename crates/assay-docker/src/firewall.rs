//! Host firewall rules that stop a run's containers from opening connections to the grading
//! host. Docker's internal networks drop forwarded traffic, but a container can still reach
//! every host address through the bridge (INPUT chain); these rules drop NEW connections
//! arriving on the run's bridge, while replies to the host's own connections (ESTABLISHED)
//! pass, so the grader can still talk to the service.

use std::path::Path;
use std::process::Command;

use assay_sandbox::SandboxError;

/// Bridge interfaces of assay runs are named `assay-<8 hex>`.
pub const BRIDGE_PREFIX: &str = "assay-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn command(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }
}

/// One of our rules as read back from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub family: Family,
    pub bridge: String,
    pub comment: Option<String>,
}

/// The families this host needs rules for (IPv6 only where the kernel has it).
fn families() -> Vec<Family> {
    if Path::new("/proc/net/if_inet6").exists() {
        vec![Family::V4, Family::V6]
    } else {
        vec![Family::V4]
    }
}

fn spec(bridge: &str, comment: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = ["-i", bridge, "-m", "conntrack", "--ctstate", "NEW"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if let Some(c) = comment {
        args.extend(
            ["-m", "comment", "--comment", c]
                .iter()
                .map(|s| (*s).to_owned()),
        );
    }
    args.extend(["-j".to_owned(), "DROP".to_owned()]);
    args
}

fn run(family: Family, op: &str, rule: &[String]) -> Result<(), String> {
    let out = Command::new(family.command())
        .args(["-w", "10", op, "INPUT"])
        .args(rule)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", family.command()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {op} INPUT failed: {}",
            family.command(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Inserts the DROP rules for `bridge`; on failure removes what was inserted.
pub fn install(bridge: &str, comment: &str) -> Result<(), SandboxError> {
    let rule = spec(bridge, Some(comment));
    let mut done = Vec::new();
    for family in families() {
        if let Err(detail) = run(family, "-I", &rule) {
            for f in done {
                let _ = run(f, "-D", &rule);
            }
            return Err(SandboxError::Firewall { detail });
        }
        done.push(family);
    }
    tracing::debug!(bridge, comment, "firewall rules installed");
    Ok(())
}

/// Makes sure the DROP rules for `bridge` exist (inserting them only where missing).
pub fn ensure(bridge: &str, comment: &str) -> Result<(), SandboxError> {
    let rule = spec(bridge, Some(comment));
    for family in families() {
        if run(family, "-C", &rule).is_ok() {
            continue;
        }
        run(family, "-I", &rule).map_err(|detail| SandboxError::Firewall { detail })?;
    }
    Ok(())
}

/// Deletes one rule (every copy of it); returns how many were deleted.
pub fn remove(rule: &Rule) -> usize {
    let args = spec(&rule.bridge, rule.comment.as_deref());
    let mut n = 0;
    // A rule inserted twice needs deleting twice; bounded in case `-D` misbehaves.
    while n < 16 && run(rule.family, "-D", &args).is_ok() {
        n += 1;
    }
    n
}

/// Our rules currently on the host (both families).
pub fn list() -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for family in families() {
        let out = Command::new(family.command())
            .args(["-w", "10", "-S", "INPUT"])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", family.command()))?;
        if !out.status.success() {
            return Err(format!(
                "{} -S INPUT failed: {}",
                family.command(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        rules.extend(parse(family, &String::from_utf8_lossy(&out.stdout)));
    }
    Ok(rules)
}

/// Parses `iptables -S INPUT` output into our rules (DROP of NEW on an `assay-*` bridge).
fn parse(family: Family, listing: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    for line in listing.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.first() != Some(&"-A") || !line.contains("-j DROP") || !line.contains("NEW") {
            continue;
        }
        let value = |flag: &str| {
            tokens
                .iter()
                .position(|t| *t == flag)
                .and_then(|i| tokens.get(i + 1))
                .map(|v| v.trim_matches('"').to_owned())
        };
        let Some(bridge) = value("-i") else { continue };
        if !bridge.starts_with(BRIDGE_PREFIX) {
            continue;
        }
        rules.push(Rule {
            family,
            bridge,
            comment: value("--comment"),
        });
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_our_rules_only() {
        let listing = "-P INPUT ACCEPT\n\
            -A INPUT -i assay-0a1b2c3d -m conntrack --ctstate NEW -m comment --comment \"assay.run=r1,assay.pid=7\" -j DROP\n\
            -A INPUT -i docker0 -j ACCEPT\n\
            -A INPUT -i assay-ffffffff -m conntrack --ctstate NEW -j DROP\n";
        let rules = parse(Family::V4, listing);
        assert_eq!(
            rules,
            vec![
                Rule {
                    family: Family::V4,
                    bridge: "assay-0a1b2c3d".into(),
                    comment: Some("assay.run=r1,assay.pid=7".into()),
                },
                Rule {
                    family: Family::V4,
                    bridge: "assay-ffffffff".into(),
                    comment: None,
                },
            ]
        );
    }
}
