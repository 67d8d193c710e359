//! The network of a submission's build: a fresh internal network of its own (firewalled from
//! the grading host like a run's), whose only way out is the allow-listing forward proxy
//! `assay/build-proxy` (squid), reached through Docker's predefined proxy build arguments.
//! The proxy tunnels to the allowed registries' domains on ports 80 and 443 and to nothing
//! else (no IP literal, no private, loopback or link-local address); it chains to the host's
//! own proxy when the host sets one. One proxy container serves every build with the same
//! allow-list; it is shared and long-lived, like the egress network it sits on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, NetworkConnectRequest,
    NetworkDisconnectRequest, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    ListContainersOptions, RemoveContainerOptions, StartContainerOptions,
};
use sha2::{Digest, Sha256};

use super::{BUILD_NETWORK, DockerBackend, DockerRun};
use assay_sandbox::labels;
use assay_sandbox::{BUILD_PROXY_IMAGE, ImageStore, Runtime, SandboxError};

/// The `assay.kind` of the proxy container.
pub(super) const PROXY_KIND: &str = "build-proxy";
/// The proxy's port on every network it joins.
pub(super) const PROXY_PORT: u16 = 3128;
/// How long a new proxy may take to listen.
const PROXY_READY: Duration = Duration::from_secs(20);

/// A build's own network with the proxy attached: what the build's steps are given.
#[derive(Debug)]
pub(super) struct BuildNet {
    pub run: DockerRun,
    pub proxy: String,
    pub proxy_ip: IpAddr,
}

impl BuildNet {
    /// The proxy variables of the build (both spellings), replacing the host's.
    pub fn build_args(&self, host_args: &HashMap<String, String>) -> HashMap<String, String> {
        let mut args: HashMap<String, String> = host_args
            .iter()
            .filter(|(k, _)| !assay_sandbox::PROXY_VARIABLES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let url = match self.proxy_ip {
            IpAddr::V4(ip) => format!("http://{ip}:{PROXY_PORT}"),
            IpAddr::V6(ip) => format!("http://[{ip}]:{PROXY_PORT}"),
        };
        for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
            args.insert(name.to_owned(), url.clone());
        }
        args
    }
}

/// `host:port` of the host's own proxy (`HTTPS_PROXY`, else `HTTP_PROXY`, either case) among
/// the build arguments, for the build proxy to chain to.
pub(super) fn upstream_proxy(host_args: &HashMap<String, String>) -> Option<String> {
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]
        .iter()
        .find_map(|k| host_args.get(*k))
        .and_then(|url| {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let authority = rest.split('/').next().unwrap_or("");
            let hostport = authority.rsplit('@').next().unwrap_or("");
            let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "3128"));
            let valid = |c: char| c.is_ascii_alphanumeric() || ".-[]:".contains(c);
            (!host.is_empty() && host.chars().all(valid) && port.parse::<u16>().is_ok())
                .then(|| format!("{host}:{port}"))
        })
}

/// The proxy container's name for an allow-list and upstream.
fn proxy_name(domains: &[String], upstream: Option<&str>) -> (String, String) {
    let mut sorted: Vec<&str> = domains.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let allow = sorted.join(" ");
    let digest = Sha256::digest(format!("{allow}\n{}", upstream.unwrap_or("")));
    (
        format!("assay-build-proxy-{}", &hex::encode(digest)[..12]),
        allow,
    )
}

/// How many times a build attaches the shared proxy that another assay removed meanwhile.
const ATTACH_ATTEMPTS: u32 = 4;

/// The proxy was removed, or is being removed, by another assay's gc: not found, or
/// "marked for removal" (Docker answers so while a removal is in progress).
fn proxy_went_away(e: &SandboxError) -> bool {
    e.is_not_found() || e.to_string().contains("marked for removal")
}

/// The proxy's labels: its kind, and the assay that created it (with an expiry), so that
/// gc removes it once idle and its creator is gone.
fn proxy_labels(owner: &labels::Owner) -> HashMap<String, String> {
    let mut l = labels::run_labels("build-proxy", owner);
    l.remove(labels::RUN);
    l.insert(labels::KIND.to_owned(), PROXY_KIND.to_owned());
    l
}

/// A domain an allow-list may hold: letters, digits, dots and dashes (squid reads the list).
fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && d.trim_start_matches('.').contains('.')
}

impl DockerBackend {
    /// A new internal network for one build, with the proxy for `domains` on it.
    pub(super) async fn open_build_net(
        &self,
        domains: &[String],
        host_args: &HashMap<String, String>,
    ) -> Result<BuildNet, SandboxError> {
        if let Some(bad) = domains.iter().find(|d| !valid_domain(d)) {
            return Err(SandboxError::Invalid(format!(
                "`{bad}` is not a registry domain the build proxy can allow (letters, digits, \
                 dots and dashes, e.g. .pypi.org)"
            )));
        }
        let upstream = upstream_proxy(host_args);
        let proxy = self
            .ensure_build_proxy(domains, upstream.as_deref())
            .await?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let run_id = format!("build-{}-{nanos:08x}", self.owner.pid);
        let run = self.create_run(&run_id).await?;
        // Another assay's gc (or the reaping before any command) may remove an idle proxy
        // between finding and attaching it: gone, or still being removed. Wait for the
        // removal, make a new proxy, attach again.
        let mut attempt: u32 = 0;
        let attached = loop {
            attempt += 1;
            match self.attach_proxy(&proxy, &run).await {
                Err(e) if attempt < ATTACH_ATTEMPTS && proxy_went_away(&e) => {
                    tokio::time::sleep(Duration::from_millis(500) * attempt).await;
                    if let Err(e) = self.ensure_build_proxy(domains, upstream.as_deref()).await
                        && attempt + 1 >= ATTACH_ATTEMPTS
                    {
                        break Err(e);
                    }
                }
                other => break other,
            }
        };
        match attached {
            Ok(proxy_ip) => Ok(BuildNet {
                run,
                proxy,
                proxy_ip,
            }),
            Err(e) => {
                let _ = self.cleanup_run(&run.run_id).await;
                Err(e)
            }
        }
    }

    /// Detaches the proxy and removes the build's network and firewall rules.
    pub(super) async fn close_build_net(&self, net: BuildNet) {
        let _ = self
            .call(
                "disconnect network",
                self.docker.disconnect_network(
                    &net.run.network,
                    NetworkDisconnectRequest {
                        container: net.proxy.clone(),
                        force: Some(true),
                    },
                ),
            )
            .await;
        if let Err(e) = self.cleanup_run(&net.run.run_id).await {
            tracing::warn!(run = %net.run.run_id, error = %e, "build network left; assay gc removes it");
        }
    }

    async fn attach_proxy(&self, proxy: &str, run: &DockerRun) -> Result<IpAddr, SandboxError> {
        self.call(
            "connect network",
            self.docker.connect_network(
                &run.network,
                NetworkConnectRequest {
                    container: proxy.to_owned(),
                    endpoint_config: None,
                },
            ),
        )
        .await?;
        self.container_addr(run, proxy)
            .await?
            .ok_or_else(|| SandboxError::Docker {
                call: "connect network",
                status: None,
                message: format!("the build proxy {proxy} has no address on {}", run.network),
            })
    }

    /// The running proxy container for this allow-list, created where missing.
    async fn ensure_build_proxy(
        &self,
        domains: &[String],
        upstream: Option<&str>,
    ) -> Result<String, SandboxError> {
        let (name, allow) = proxy_name(domains, upstream);
        if let Some(inspect) = self.inspect(&name).await? {
            if inspect.state.and_then(|s| s.running) == Some(true) {
                return Ok(name);
            }
            let _ = self
                .call(
                    "remove container",
                    self.docker.remove_container(
                        &name,
                        Some(RemoveContainerOptions {
                            force: true,
                            ..Default::default()
                        }),
                    ),
                )
                .await;
        }
        if self.image_facts(BUILD_PROXY_IMAGE).await?.is_none() {
            return Err(SandboxError::Images {
                message: format!(
                    "{BUILD_PROXY_IMAGE} (the build proxy) is missing: run `assay images build`"
                ),
            });
        }
        self.ensure_build_network().await?;
        let mut env = vec![format!("ALLOW={allow}")];
        if let Some(up) = upstream {
            env.push(format!("UPSTREAM={up}"));
        }
        let body = ContainerCreateBody {
            image: Some(BUILD_PROXY_IMAGE.to_owned()),
            env: Some(env),
            labels: Some(proxy_labels(&self.owner)),
            host_config: Some(HostConfig {
                network_mode: Some(BUILD_NETWORK.to_owned()),
                memory: Some(256 << 20),
                memory_swap: Some(256 << 20),
                nano_cpus: Some(1_000_000_000),
                pids_limit: Some(256),
                cap_drop: Some(vec!["ALL".to_owned()]),
                security_opt: Some(vec!["no-new-privileges:true".to_owned()]),
                readonly_rootfs: Some(true),
                tmpfs: Some(HashMap::from([(
                    "/tmp".to_owned(),
                    "rw,noexec,nosuid,size=64m".to_owned(),
                )])),
                log_config: Some(HostConfigLogConfig {
                    typ: Some("json-file".to_owned()),
                    config: Some(HashMap::from([
                        ("max-size".to_owned(), "1048576".to_owned()),
                        ("max-file".to_owned(), "2".to_owned()),
                    ])),
                }),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                privileged: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        match self.create_and_start(&name, body).await {
            Ok(()) => {}
            // Another assay created it meanwhile: use theirs once it runs.
            Err(SandboxError::Docker {
                status: Some(409), ..
            }) => {
                let _ = self
                    .call(
                        "start container",
                        self.docker
                            .start_container(&name, None::<StartContainerOptions>),
                    )
                    .await;
            }
            Err(e) => return Err(e),
        }
        self.wait_proxy_ready(&name).await?;
        Ok(name)
    }

    /// Removes build proxies that serve no build (attached to the egress network only)
    /// and whose creator is gone or whose lifetime passed: what `assay gc` and the reaping
    /// before every command do. A proxy in use stays whoever created it.
    pub(super) async fn remove_idle_build_proxies(
        &self,
    ) -> Result<assay_sandbox::CleanupReport, SandboxError> {
        let mut report = assay_sandbox::CleanupReport::default();
        let proxies = self
            .call(
                "list containers",
                self.docker.list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(HashMap::from([(
                        "label".to_owned(),
                        vec![format!("{}={PROXY_KIND}", labels::KIND)],
                    )])),
                    ..Default::default()
                })),
            )
            .await?;
        for p in proxies {
            let Some(id) = p.id else { continue };
            let l = p.labels.unwrap_or_default();
            let gone =
                labels::expired(&l) || labels::Owner::from_labels(&l).is_none_or(|o| !o.is_alive());
            let idle = p
                .network_settings
                .and_then(|n| n.networks)
                .is_none_or(|n| n.keys().all(|k| k == BUILD_NETWORK));
            if !(gone && idle) {
                continue;
            }
            self.remove_counted(&id, "build proxy", &mut report).await?;
        }
        Ok(report)
    }

    /// Waits until the proxy accepts connections on the egress network.
    async fn wait_proxy_ready(&self, name: &str) -> Result<(), SandboxError> {
        let egress = DockerRun {
            run_id: String::new(),
            network: BUILD_NETWORK.to_owned(),
            bridge: String::new(),
        };
        let deadline = Instant::now() + PROXY_READY;
        loop {
            if let Some(ip) = self.container_addr(&egress, name).await?
                && tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::net::TcpStream::connect((ip, PROXY_PORT)),
                )
                .await
                .is_ok_and(|c| c.is_ok())
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SandboxError::Images {
                    message: format!(
                        "the build proxy {name} did not listen within {} s; see `docker logs {name}`",
                        PROXY_READY.as_secs()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_proxy_is_the_upstream() {
        let args = |k: &str, v: &str| HashMap::from([(k.to_owned(), v.to_owned())]);
        for (args, want) in [
            (
                args("HTTPS_PROXY", "http://proxy.corp:8080"),
                Some("proxy.corp:8080"),
            ),
            (
                args("http_proxy", "http://user:pw@10.1.2.3:3128/"),
                Some("10.1.2.3:3128"),
            ),
            (args("HTTPS_PROXY", "proxy.corp"), Some("proxy.corp:3128")),
            (args("NO_PROXY", "localhost"), None),
            (args("HTTPS_PROXY", "http://bad host;rm/"), None),
        ] {
            assert_eq!(upstream_proxy(&args).as_deref(), want);
        }
    }

    #[test]
    fn one_proxy_per_allow_list_and_upstream() {
        let list = |d: &[&str]| d.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (a, allow) = proxy_name(&list(&[".pypi.org", ".crates.io"]), None);
        let (b, _) = proxy_name(&list(&[".crates.io", ".pypi.org", ".pypi.org"]), None);
        let (c, _) = proxy_name(&list(&[".crates.io"]), None);
        let (d, _) = proxy_name(&list(&[".crates.io", ".pypi.org"]), Some("p:1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(allow, ".crates.io .pypi.org");
        assert!(valid_domain(".debian.org") && valid_domain("files.pythonhosted.org"));
        for bad in [
            "",
            "org",
            "a b.org",
            "x.org\nhttp_access allow all",
            "10.0.0.1/8",
        ] {
            assert!(!valid_domain(bad), "{bad:?}");
        }
    }
}
