//! The watchdog of a submission's build, and what a failed build leaves behind. Docker's
//! classic builder (API 1.41) takes neither a pids limit nor a disk quota for its step
//! containers, so assay finds each `RUN` step's container by the build's own network, gives
//! it a pids limit the moment it appears (`docker update --pids-limit`), and measures what
//! the build wrote (the step's writable layer plus the layers committed so far): over a
//! limit, the step is killed and the build graded "did not build" naming the limit. A build
//! that does not end with an image has its step containers, committed step images and tag
//! removed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assay_model::ByteSize;
use bollard::models::ContainerUpdateBody;
use bollard::query_parameters::{
    KillContainerOptions, ListContainersOptions, RemoveContainerOptions, RemoveImageOptions,
    StatsOptions,
};
use futures_util::StreamExt;

use super::DockerBackend;

/// How often the watchdog looks at the build's step containers (new ones get their pids
/// limit; the running one's processes are counted).
const POLL: Duration = Duration::from_millis(200);
/// Every how many polls the writable layers are measured (Docker walks a layer's files to
/// size it: a step writing many files makes that costly).
const SIZE_EVERY: u32 = 3;

/// The limits the watchdog enforces.
#[derive(Debug, Clone, Copy)]
pub(super) struct WatchLimits {
    pub disk_bytes: u64,
    pub pids: i64,
}

/// A limit the build went over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Breach {
    Disk { written: u64, limit: u64 },
    Pids { limit: i64 },
}

impl Breach {
    /// The graded reason ("did not build: …").
    pub fn reason(&self) -> String {
        match self {
            Breach::Disk { written, limit } => format!(
                "the build wrote {:.1}, over its disk limit of {:.1} \
                 (submission.build_disk); the build was stopped",
                ByteSize(*written),
                ByteSize(*limit)
            ),
            Breach::Pids { limit } => format!(
                "a build step reached the build's limit of {limit} processes \
                 (submission.build_pids); the build was stopped"
            ),
        }
    }
}

/// The images the build's steps committed, read from the build's output (` ---> <id>`
/// after each step); an id after a `FROM` step is a base image, never the build's own.
#[derive(Debug, Default)]
pub(super) struct StepImages {
    /// (image id prefix, is a base image), in build order.
    pub steps: Vec<(String, bool)>,
    in_from: bool,
}

impl StepImages {
    /// Reads one line of build output.
    pub fn read_line(&mut self, line: &str) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Step ") {
            // "Step 1/3 : FROM debian" (instruction case as written).
            self.in_from = rest
                .split_once(" : ")
                .map(|(_, i)| i.trim_start())
                .is_some_and(|i| i.len() >= 5 && i[..5].eq_ignore_ascii_case("FROM "));
            return;
        }
        if let Some(id) = line.strip_prefix("---> ")
            && id.len() >= 12
            && id.chars().all(|c| c.is_ascii_hexdigit())
        {
            self.steps.push((id.to_owned(), self.in_from));
        }
    }

    /// The step images the build made itself (not its bases), newest first.
    pub fn own_newest_first(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let bases: HashSet<&str> = self
            .steps
            .iter()
            .filter(|(_, base)| *base)
            .map(|(id, _)| id.as_str())
            .collect();
        self.steps
            .iter()
            .rev()
            .filter(|(id, base)| !base && !bases.contains(id.as_str()))
            .filter(|(id, _)| seen.insert(id.clone()))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// The container is `name` (the proxy, by name: step containers inherit their base
/// image's labels, assay's among them).
fn is_named(names: &Option<Vec<String>>, name: &str) -> bool {
    names
        .iter()
        .flatten()
        .any(|n| n.trim_start_matches('/') == name)
}

impl DockerBackend {
    /// Watches the build on `network` until a limit is crossed (it then returns the
    /// breach, the offending step killed); runs until dropped otherwise. `skip` is the
    /// build proxy, which shares the network.
    pub(super) async fn watch_build(
        &self,
        network: &str,
        skip: &str,
        limits: WatchLimits,
        steps: Arc<Mutex<StepImages>>,
    ) -> Breach {
        let mut limited: HashSet<String> = HashSet::new();
        let mut sizes: HashMap<String, u64> = HashMap::new();
        let mut polls: u32 = 0;
        loop {
            tokio::time::sleep(POLL).await;
            polls = polls.wrapping_add(1);
            let measure = polls.is_multiple_of(SIZE_EVERY);
            let Ok(containers) = self
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    size: measure,
                    filters: Some(HashMap::from([(
                        "network".to_owned(),
                        vec![network.to_owned()],
                    )])),
                    ..Default::default()
                }))
                .await
            else {
                continue;
            };
            let committed = if measure {
                self.committed_bytes(&steps, &mut sizes).await
            } else {
                0
            };
            for c in containers {
                let Some(id) = c.id else { continue };
                if is_named(&c.names, skip) {
                    continue;
                }
                if limited.insert(id.clone()) {
                    let updated = self
                        .docker
                        .update_container(
                            &id,
                            ContainerUpdateBody {
                                pids_limit: Some(limits.pids),
                                ..Default::default()
                            },
                        )
                        .await;
                    if let Err(e) = updated {
                        tracing::debug!(container = %id, error = %e, "pids limit not applied (the step may have ended)");
                    }
                }
                let written =
                    committed + c.size_rw.and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
                if measure && written > limits.disk_bytes {
                    self.kill_step(&id).await;
                    return Breach::Disk {
                        written,
                        limit: limits.disk_bytes,
                    };
                }
                if self.pids_of(&id).await.is_some_and(|p| p >= limits.pids) {
                    self.kill_step(&id).await;
                    return Breach::Pids { limit: limits.pids };
                }
            }
        }
    }

    /// Bytes of the layers the build's own steps committed so far.
    pub(super) async fn committed_bytes(
        &self,
        steps: &Mutex<StepImages>,
        sizes: &mut HashMap<String, u64>,
    ) -> u64 {
        let list = match steps.lock() {
            Ok(s) => s.steps.clone(),
            Err(_) => return 0,
        };
        let mut total = 0u64;
        let mut previous: Option<u64> = None;
        for (id, base) in list {
            let size = match sizes.get(&id) {
                Some(s) => *s,
                None => {
                    let Ok(inspect) = self.docker.inspect_image(&id).await else {
                        continue;
                    };
                    let s = inspect
                        .size
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0);
                    sizes.insert(id.clone(), s);
                    s
                }
            };
            if !base && let Some(p) = previous {
                total = total.saturating_add(size.saturating_sub(p));
            }
            previous = Some(size);
        }
        total
    }

    async fn pids_of(&self, container: &str) -> Option<i64> {
        let mut stream = self.docker.stats(
            container,
            Some(StatsOptions {
                stream: false,
                one_shot: true,
            }),
        );
        let stats = tokio::time::timeout(Duration::from_secs(2), stream.next())
            .await
            .ok()??
            .ok()?;
        stats
            .pids_stats
            .and_then(|p| p.current)
            .and_then(|c| i64::try_from(c).ok())
    }

    async fn kill_step(&self, container: &str) {
        let killed = self
            .docker
            .kill_container(
                container,
                Some(KillContainerOptions {
                    signal: "SIGKILL".to_owned(),
                }),
            )
            .await;
        if let Err(e) = killed {
            tracing::debug!(container, error = %e, "build step not killed (it may have ended)");
        }
    }

    /// Removes what a build that produced no image left: its step containers on `network`
    /// (not `skip`, the proxy), the tag, and the step images it committed (newest first;
    /// an image another image still builds on stays).
    pub(super) async fn remove_build_leftovers(
        &self,
        network: Option<&str>,
        skip: &str,
        tag: &str,
        steps: &StepImages,
    ) {
        if let Some(network) = network {
            let listed = self
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(HashMap::from([(
                        "network".to_owned(),
                        vec![network.to_owned()],
                    )])),
                    ..Default::default()
                }))
                .await
                .unwrap_or_default();
            for c in listed {
                let Some(id) = c.id else { continue };
                if is_named(&c.names, skip) {
                    continue;
                }
                let removed = self
                    .docker
                    .remove_container(
                        &id,
                        Some(RemoveContainerOptions {
                            force: true,
                            v: true,
                            ..Default::default()
                        }),
                    )
                    .await;
                if let Err(e) = removed {
                    tracing::debug!(container = %id, error = %e, "build step container not removed");
                }
            }
        }
        let options = || {
            Some(RemoveImageOptions {
                force: false,
                noprune: false,
                ..Default::default()
            })
        };
        if let Err(e) = self.docker.remove_image(tag, options(), None).await {
            tracing::debug!(tag, error = %e, "no tag to remove after the failed build");
        }
        for id in steps.own_newest_first() {
            // A step killed a moment ago may still be held by its container (the engine
            // removes it as the cancelled build unwinds): remove those, then retry a while.
            for attempt in 0..10 {
                self.remove_containers_of(&id).await;
                match self.docker.remove_image(&id, options(), None).await {
                    Ok(_) => break,
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 409,
                        message,
                    }) if attempt < 9 && message.contains("container") => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => {
                        tracing::debug!(image = %id, error = %e, "step image kept (in use or gone)");
                        break;
                    }
                }
            }
        }
    }

    /// Force-removes the containers made from image `id`.
    async fn remove_containers_of(&self, id: &str) {
        let listed = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(HashMap::from([(
                    "ancestor".to_owned(),
                    vec![id.to_owned()],
                )])),
                ..Default::default()
            }))
            .await
            .unwrap_or_default();
        for c in listed {
            // Only containers of this very image: `ancestor` also matches descendants'.
            if !c
                .image_id
                .as_deref()
                .is_some_and(|i| i.trim_start_matches("sha256:").starts_with(id))
            {
                continue;
            }
            let Some(cid) = c.id else { continue };
            let _ = self
                .docker
                .remove_container(
                    &cid,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                )
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_images_are_read_from_the_build_output_bases_excluded() {
        let mut s = StepImages::default();
        for line in [
            "Step 1/4 : FROM debian:bookworm-slim",
            " ---> 6c2bd3a1f0e4",
            "Step 2/4 : RUN echo hi",
            " ---> Running in 0123456789ab",
            "hi",
            "Removing intermediate container 0123456789ab",
            " ---> aaaaaaaaaaaa",
            "Step 3/4 : from aaaaaaaaaaaa",
            " ---> aaaaaaaaaaaa",
            "Step 4/4 : COPY . /app",
            " ---> Using cache",
            " ---> bbbbbbbbbbbb",
            " ---> not an id",
        ] {
            s.read_line(line);
        }
        assert_eq!(s.steps.len(), 4);
        // aaaa is a base of a later stage: kept, like the FROM image.
        assert_eq!(s.own_newest_first(), ["bbbbbbbbbbbb"]);
    }

    #[test]
    fn reasons_name_the_limit() {
        let disk = Breach::Disk {
            written: 200 << 20,
            limit: 64 << 20,
        };
        assert!(disk.reason().contains("disk limit of 64.0 MiB"));
        assert!(disk.reason().contains("submission.build_disk"));
        assert!(
            Breach::Pids { limit: 64 }
                .reason()
                .contains("limit of 64 processes")
        );
    }
}
