//! Building the submission's own Dockerfile: context packed safely, resources and time
//! capped, the image cached by content hash. A build that fails is a graded outcome.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assay_model::{SandboxFailure, SandboxReport};
use sha2::{Digest, Sha256};

use super::SandboxError;
use super::backend::{BuildEgress, BuildEnd, BuildResources, ImageBuild, ImageStore};
use super::context::{ContextReport, PackOutcome, pack_context};

const MIB: u64 = 1024 * 1024;

/// The repository of every submission image: `assay-sub:<first 32 hex digits of the
/// content hash>[-<stage>]`. Submission images carry no labels; this name is what marks
/// them as assay's (for the cache and for pruning).
pub const SUBMISSION_REPOSITORY: &str = "assay-sub";

/// Limits of one submission build.
#[derive(Debug, Clone)]
pub struct BuildLimits {
    /// Cap on the build context after `.dockerignore` (tar bytes).
    pub context_max_bytes: u64,
    /// Memory of the build's containers (no swap). At most 2 GiB − 1 (Docker API limit).
    pub memory_bytes: u64,
    pub cpus: f64,
    pub time_limit: Duration,
    /// Bytes of build output kept (the tail) as evidence, and shown live (the head).
    pub log_cap_bytes: usize,
    /// Bytes the build may write: the layers its steps commit plus the running step's
    /// writable layer. Over it, the build is stopped and graded "did not build".
    pub disk_bytes: u64,
    /// Processes of one build step (its pids cgroup limit); reaching it stops the build.
    pub pids: i64,
}

impl Default for BuildLimits {
    fn default() -> Self {
        BuildLimits {
            context_max_bytes: 256 * MIB,
            memory_bytes: 2048 * MIB - 1,
            cpus: 2.0,
            time_limit: Duration::from_secs(10 * 60),
            log_cap_bytes: 64 * 1024,
            disk_bytes: 10 * 1024 * MIB,
            pids: 1024,
        }
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The submission's root directory.
    pub context_dir: PathBuf,
    /// Path of the Dockerfile inside the submission.
    pub dockerfile: String,
    pub limits: BuildLimits,
    /// Where the packed context is written while it is sent (deleted afterwards); the
    /// system temp directory when `None`.
    pub scratch_dir: Option<PathBuf>,
    /// Build arguments (the host's proxy settings, [`proxy_build_args`]).
    pub build_args: HashMap<String, String>,
    /// What the build's steps may reach (default: [`BuildEgress::default_registries`]).
    pub egress: BuildEgress,
    /// The stage to build (`--target`, e.g. the Dockerfile's `test` stage); `None`: the
    /// final stage, the service's image.
    pub target: Option<String>,
}

impl BuildRequest {
    pub fn new(context_dir: impl Into<PathBuf>) -> BuildRequest {
        BuildRequest {
            context_dir: context_dir.into(),
            dockerfile: "Dockerfile".to_owned(),
            limits: BuildLimits::default(),
            scratch_dir: None,
            build_args: proxy_build_args(&|k| std::env::var(k).ok()),
            egress: BuildEgress::default_registries(),
            target: None,
        }
    }
}

/// How a submission build went.
#[derive(Debug, Clone, Default)]
pub struct BuildOutcome {
    /// `assay-sub:<hash>` when an image exists for the submission.
    pub image: Option<String>,
    pub image_id: Option<String>,
    /// The image came from the content-addressed cache (no build ran).
    pub cached: bool,
    pub seconds: f64,
    /// The tail of the build log.
    pub log: String,
    /// Why there is no image (a graded outcome).
    pub failure: Option<SandboxFailure>,
    /// What was sent to Docker; `None` when packing stopped early.
    pub context: Option<ContextReport>,
    /// The content hash the image is tagged with.
    pub content_hash: Option<String>,
}

impl BuildOutcome {
    fn failed(reason: String, seconds: f64) -> BuildOutcome {
        BuildOutcome {
            failure: Some(SandboxFailure::DidNotBuild { reason }),
            seconds,
            ..Default::default()
        }
    }

    /// Copies the build's part into a run's report.
    pub fn apply_to(&self, report: &mut SandboxReport) {
        report.image_built = self.image.is_some();
        report.build_cached = self.cached;
        report.build_seconds = self.seconds;
        report.build_log = self.log.clone();
        if self.image_id.is_some() {
            report.image_id = self.image_id.clone();
        }
        if let Some(f) = &self.failure {
            report.failure = Some(f.clone());
        }
    }
}

/// Builds the submission at `req.context_dir`, or finds it in the cache. `Err` only when
/// grading is impossible (Docker down, scratch space unwritable).
pub async fn build_submission<B: ImageStore>(
    backend: &B,
    req: &BuildRequest,
) -> Result<BuildOutcome, SandboxError> {
    build_submission_with(backend, req, None).await
}

/// [`build_submission`], calling `on_line` with each line of build output as it arrives.
pub async fn build_submission_with<B: ImageStore>(
    backend: &B,
    req: &BuildRequest,
    on_line: Option<&(dyn Fn(&str) + Send + Sync)>,
) -> Result<BuildOutcome, SandboxError> {
    let started = Instant::now();
    let scratch = req.scratch_dir.clone().unwrap_or_else(std::env::temp_dir);
    let (dir, dockerfile, cap) = (
        req.context_dir.clone(),
        req.dockerfile.clone(),
        req.limits.context_max_bytes,
    );
    let packed =
        tokio::task::spawn_blocking(move || pack_context(&dir, &dockerfile, cap, &scratch))
            .await
            .map_err(|e| SandboxError::Invalid(format!("the context packing task failed: {e}")))?;
    let packed = match packed {
        Ok(PackOutcome::Packed(p)) => p,
        Ok(PackOutcome::NoDockerfile { dockerfile }) => {
            return Ok(BuildOutcome::failed(
                format!("there is no `{dockerfile}` in the submission"),
                started.elapsed().as_secs_f64(),
            ));
        }
        Ok(PackOutcome::TooLarge { limit_bytes }) => {
            return Ok(BuildOutcome::failed(
                format!(
                    "context too large: more than {} after .dockerignore",
                    assay_model::ByteSize(limit_bytes)
                ),
                started.elapsed().as_secs_f64(),
            ));
        }
        Err(SandboxError::Invalid(msg)) => {
            return Ok(BuildOutcome::failed(msg, started.elapsed().as_secs_f64()));
        }
        Err(e) => return Err(e),
    };

    if let Some((line, text)) = read_dockerfile(&req.context_dir.join(&req.dockerfile))
        .await
        .as_deref()
        .and_then(add_with_url)
    {
        return Ok(BuildOutcome::failed(
            format!(
                "ADD with a URL ({}:{line}: `{text}`); download in a RUN step, through the \
                 package registries the build may reach",
                req.dockerfile
            ),
            started.elapsed().as_secs_f64(),
        ));
    }
    let bases = base_image_ids(backend, &req.context_dir.join(&req.dockerfile)).await?;
    let hash = image_hash(&packed.hash, &bases);
    // A stage other than the final one is its own image, cached beside the service's.
    let tag = match &req.target {
        Some(stage) => format!(
            "{SUBMISSION_REPOSITORY}:{}-{}",
            &hash[..32],
            stage_tag(stage)
        ),
        None => format!("{SUBMISSION_REPOSITORY}:{}", &hash[..32]),
    };
    let mut outcome = BuildOutcome {
        context: Some(packed.report.clone()),
        content_hash: Some(hash.clone()),
        ..Default::default()
    };
    if let Some(facts) = backend.image_facts(&tag).await? {
        tracing::info!(%tag, "submission image found in the cache");
        outcome.image = Some(tag);
        outcome.image_id = Some(facts.id);
        outcome.cached = true;
        outcome.seconds = started.elapsed().as_secs_f64();
        outcome.log = "(image taken from the cache: no build ran)\n".to_owned();
        return Ok(outcome);
    }

    let result = backend
        .build_image(ImageBuild {
            context_tar: &packed.tar,
            tag: &tag,
            dockerfile: &req.dockerfile,
            target: req.target.clone(),
            // None: the classic builder would add a `LABEL` step per label (about 2 s each
            // on a slow storage driver). The tag names the image and its content hash.
            labels: HashMap::new(),
            resources: Some(BuildResources {
                memory_bytes: req.limits.memory_bytes,
                cpus: req.limits.cpus,
                disk_bytes: req.limits.disk_bytes,
                pids: req.limits.pids,
            }),
            build_args: req.build_args.clone(),
            egress: req.egress.clone(),
            time_limit: req.limits.time_limit,
            log_cap_bytes: req.limits.log_cap_bytes,
            on_line,
        })
        .await?;
    drop(packed);
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome.log = result.log;
    match result.end {
        BuildEnd::Built { image_id } => {
            outcome.image = Some(tag);
            outcome.image_id = Some(image_id);
        }
        BuildEnd::Failed { reason } => {
            outcome.failure = Some(SandboxFailure::DidNotBuild {
                reason: assay_model::truncate_text(reason.trim(), 2000).0,
            });
        }
        BuildEnd::TimedOut => {
            outcome.failure = Some(SandboxFailure::BuildTimedOut {
                limit_seconds: req.limits.time_limit.as_secs(),
            });
        }
    }
    Ok(outcome)
}

/// A stage name as a tag suffix: lower case, `[a-z0-9_.-]` only, at most 40 characters.
fn stage_tag(stage: &str) -> String {
    stage
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect()
}

/// Docker's predefined proxy arguments, in both spellings. A build gets each the host sets;
/// they reach `RUN` steps and stay out of the image's history and cache key.
pub const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The build arguments for the host's proxy settings, read through `env`.
pub fn proxy_build_args(env: &dyn Fn(&str) -> Option<String>) -> HashMap<String, String> {
    PROXY_VARIABLES
        .iter()
        .filter_map(|name| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| ((*name).to_owned(), v))
        })
        .collect()
}

/// The tag hash: the context's content hash and the ids of the local images it builds on,
/// so a rebuilt base image invalidates the cache.
pub(crate) fn image_hash(context_hash: &str, bases: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(context_hash.as_bytes());
    for (name, id) in bases {
        h.update(b"\0");
        h.update(name.as_bytes());
        h.update(b"=");
        h.update(id.as_bytes());
    }
    hex::encode(h.finalize())
}

/// (image, id) of each `FROM` image of `dockerfile` that exists locally.
pub(crate) async fn base_image_ids<B: ImageStore>(
    backend: &B,
    dockerfile: &Path,
) -> Result<Vec<(String, String)>, SandboxError> {
    let Some(text) = read_dockerfile(dockerfile).await else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for image in from_images(&text) {
        if let Some(facts) = backend.image_facts(&image).await? {
            out.push((image, facts.id));
        }
    }
    Ok(out)
}

/// The first MiB of a Dockerfile, `None` when it cannot be read.
async fn read_dockerfile(path: &Path) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await.ok()?;
    let mut bytes = Vec::new();
    file.take(1 << 20).read_to_end(&mut bytes).await.ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The first `ADD` instruction whose source is a URL (fetched by the engine itself, from
/// the grading host's own network, whatever the build network allows): its line number
/// (1-based) and text. Continuation lines are joined; comments are skipped.
pub(crate) fn add_with_url(dockerfile: &str) -> Option<(usize, String)> {
    let mut lines = dockerfile.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let mut instruction = line.trim().to_owned();
        if instruction.starts_with('#') {
            continue;
        }
        while instruction.ends_with('\\') {
            instruction.pop();
            match lines.next() {
                Some((_, next)) if next.trim_start().starts_with('#') => {}
                Some((_, next)) => instruction.push_str(next.trim()),
                None => break,
            }
        }
        let mut words = instruction.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("ADD")) {
            continue;
        }
        let is_url = |w: &str| {
            let w = w.trim_matches(|c| c == '"' || c == '[' || c == ']' || c == ',');
            let lower = w.to_ascii_lowercase();
            ["http://", "https://", "ftp://", "git://", "git@"]
                .iter()
                .any(|p| lower.starts_with(p))
        };
        if words.filter(|w| !w.starts_with("--")).any(is_url) {
            let text: String = instruction.chars().take(200).collect();
            return Some((i + 1, text));
        }
    }
    None
}

/// The external images named by `FROM` lines (not `scratch`, not earlier stages, not
/// references with build arguments).
pub(crate) fn from_images(dockerfile: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut images = Vec::new();
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            continue;
        }
        let mut rest = words.skip_while(|w| w.starts_with("--"));
        let Some(image) = rest.next() else { continue };
        let image = image.to_owned();
        if rest.next().is_some_and(|w| w.eq_ignore_ascii_case("AS"))
            && let Some(stage) = rest.next()
        {
            stages.push(stage.to_ascii_lowercase());
        }
        if image.eq_ignore_ascii_case("scratch")
            || image.contains('$')
            || stages[..stages.len().saturating_sub(1)]
                .iter()
                .any(|s| *s == image.to_ascii_lowercase())
            || images.contains(&image)
        {
            continue;
        }
        images.push(image);
    }
    images
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines_name_external_images_only() {
        let df = "FROM --platform=linux/amd64 rust:1 AS build\nRUN x\n\
                  from debian:bookworm-slim\nFROM build AS again\nFROM scratch\nFROM ${BASE}\n";
        assert_eq!(from_images(df), ["rust:1", "debian:bookworm-slim"]);
    }

    #[test]
    fn the_hosts_proxy_settings_become_build_arguments() {
        let env = |k: &str| match k {
            "HTTPS_PROXY" => Some("http://proxy.example:3128".to_owned()),
            "no_proxy" => Some("localhost,.internal".to_owned()),
            "HTTP_PROXY" => Some("  ".to_owned()),
            "PATH" => Some("/bin".to_owned()),
            _ => None,
        };
        let args = proxy_build_args(&env);
        assert_eq!(
            args,
            HashMap::from([
                (
                    "HTTPS_PROXY".to_owned(),
                    "http://proxy.example:3128".to_owned()
                ),
                ("no_proxy".to_owned(), "localhost,.internal".to_owned()),
            ])
        );
        assert!(proxy_build_args(&|_| None).is_empty());
    }

    #[test]
    fn add_with_a_url_is_found_with_its_line() {
        for (dockerfile, want) in [
            ("FROM x\nADD https://example.com/a.tgz /a\n", Some(2)),
            (
                "FROM x\nadd --chown=1:1 http://127.0.0.1:8000/x /x\n",
                Some(2),
            ),
            ("FROM x\nADD [\"http://10.0.0.1/x\", \"/x\"]\n", Some(2)),
            (
                "FROM x\nRUN true \\\n  && true\nADD \\\n  git@github.com:a/b.git /b\n",
                Some(4),
            ),
            ("FROM x\nADD app.tar.gz /app\nCOPY http /http\n", None),
            (
                "FROM x\n# ADD https://example.com/a /a\nRUN curl https://x\n",
                None,
            ),
        ] {
            assert_eq!(
                add_with_url(dockerfile).map(|(l, _)| l),
                want,
                "{dockerfile}"
            );
        }
    }

    #[test]
    fn image_hash_depends_on_bases() {
        let a = image_hash("c", &[]);
        let b = image_hash("c", &[("debian".into(), "sha256:1".into())]);
        let c = image_hash("c", &[("debian".into(), "sha256:2".into())]);
        assert_ne!(a, b);
        assert_ne!(b, c);
    }
}
