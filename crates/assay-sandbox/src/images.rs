//! The images assay itself needs: `debian:bookworm-slim` (bootstrapped offline when no
//! registry answers) and the recipes under `sandbox-images/` (e.g. `assay/postgres:15`),
//! rebuilt only when a recipe's content (or its base image) changes. Idempotent and quick
//! when everything is present.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::SandboxError;
use super::backend::{BuildEgress, BuildEnd, BuildResult, ImageBuild, ImageFacts, ImageStore};
use super::build::{base_image_ids, image_hash, proxy_build_args};
use super::context::{PackOutcome, pack_context};
use super::labels;
use super::trust::{TrustBundle, TrustSource};

/// The base image every recipe and most submissions build on.
pub const BASE_IMAGE: &str = "debian:bookworm-slim";
/// The allow-listing forward proxy of submission builds (`sandbox-images/build-proxy`).
pub const BUILD_PROXY_IMAGE: &str = "assay/build-proxy:1";

/// An image assay builds from a directory with a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecipe {
    pub tag: String,
    pub dir: PathBuf,
    pub dockerfile: String,
}

impl ImageRecipe {
    pub fn new(tag: impl Into<String>, dir: impl Into<PathBuf>) -> ImageRecipe {
        ImageRecipe {
            tag: tag.into(),
            dir: dir.into(),
            dockerfile: "Dockerfile".to_owned(),
        }
    }

    /// assay's own sidecar images under `sandbox_images` (the repository's `sandbox-images/`).
    pub fn standard(sandbox_images: &Path) -> Vec<ImageRecipe> {
        vec![
            ImageRecipe::new("assay/postgres:15", sandbox_images.join("postgres")),
            ImageRecipe::new(BUILD_PROXY_IMAGE, sandbox_images.join("build-proxy")),
        ]
    }
}

/// Where things are and how long they may take.
#[derive(Debug, Clone)]
pub struct ImagesConfig {
    /// The repository's `sandbox-images/` (holds `debian/bootstrap.sh`).
    pub sandbox_images_dir: PathBuf,
    pub build_time_limit: Duration,
    pub bootstrap_time_limit: Duration,
    /// Serialises concurrent `ensure_images` calls on one host (several test processes,
    /// several CLI invocations).
    pub lock_file: PathBuf,
    /// Where recipe contexts are packed while being sent.
    pub scratch_dir: PathBuf,
    /// The extra certificate authorities the base image gets (default: the host's).
    pub trust: TrustSource,
    /// Build arguments of every image build (the host's proxy settings).
    pub build_args: HashMap<String, String>,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        let sandbox_images_dir = std::env::var_os("ASSAY_SANDBOX_IMAGES")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sandbox-images"));
        ImagesConfig {
            sandbox_images_dir,
            build_time_limit: Duration::from_secs(30 * 60),
            bootstrap_time_limit: Duration::from_secs(30 * 60),
            lock_file: std::env::temp_dir().join("assay-images.lock"),
            scratch_dir: std::env::temp_dir(),
            trust: TrustSource::Discover,
            build_args: proxy_build_args(&|k| std::env::var(k).ok()),
        }
    }
}

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageAction {
    /// Already there and up to date.
    Present,
    /// Built (or rebuilt because its recipe changed).
    Built,
    /// Made by `sandbox-images/debian/bootstrap.sh`.
    Bootstrapped,
    /// Pointed at another image that was already there (the base without extra CAs).
    Retagged,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageStatus {
    pub tag: String,
    pub id: String,
    pub action: ImageAction,
    pub seconds: f64,
    /// The extra certificate authorities the image trusts, when it trusts any.
    pub trust: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImagesReport {
    pub images: Vec<ImageStatus>,
}

/// [`ensure_images_with`] with [`ImagesConfig::default`].
pub async fn ensure_images(
    backend: &impl ImageStore,
    recipes: &[ImageRecipe],
) -> Result<ImagesReport, SandboxError> {
    ensure_images_with(backend, &ImagesConfig::default(), recipes).await
}

/// Makes sure the base image and every recipe's image exist and are current.
pub async fn ensure_images_with(
    backend: &impl ImageStore,
    config: &ImagesConfig,
    recipes: &[ImageRecipe],
) -> Result<ImagesReport, SandboxError> {
    let _lock = HostLock::acquire(&config.lock_file, config.build_time_limit).await?;
    let mut report = ImagesReport::default();
    report.images.push(ensure_base(backend, config).await?);
    for recipe in recipes {
        report
            .images
            .push(ensure_recipe(backend, config, recipe).await?);
    }
    Ok(report)
}

/// The base image as it came (pulled or bootstrapped), before assay adds the host's extra
/// certificate authorities to `debian:bookworm-slim`; kept so the trust layer can be
/// rebuilt when the authorities change.
pub const UPSTREAM_BASE_IMAGE: &str = "assay/debian:bookworm-slim-upstream";

async fn ensure_base(
    backend: &impl ImageStore,
    config: &ImagesConfig,
) -> Result<ImageStatus, SandboxError> {
    let started = Instant::now();
    let bundle = TrustBundle::load(&config.trust, &|k| std::env::var(k).ok())?;
    let (upstream, bootstrapped) = ensure_upstream(backend, config).await?;
    let trusted = ensure_trusted(
        backend,
        config,
        &TrustLayer {
            upstream: UPSTREAM_BASE_IMAGE,
            upstream_id: &upstream,
            target: BASE_IMAGE,
            bundle: &bundle,
        },
    )
    .await?;
    Ok(ImageStatus {
        action: if bootstrapped {
            ImageAction::Bootstrapped
        } else {
            trusted.action
        },
        seconds: started.elapsed().as_secs_f64(),
        ..trusted
    })
}

/// The id of [`UPSTREAM_BASE_IMAGE`], made from `debian:bookworm-slim` as it came (or by
/// `sandbox-images/debian/bootstrap.sh`); `true` when it had to be bootstrapped.
async fn ensure_upstream(
    backend: &impl ImageStore,
    config: &ImagesConfig,
) -> Result<(String, bool), SandboxError> {
    if let Some(facts) = backend.image_facts(UPSTREAM_BASE_IMAGE).await? {
        return Ok((facts.id, false));
    }
    let current = backend.image_facts(BASE_IMAGE).await?;
    if let Some(facts) = &current
        && facts.labels.get(labels::KIND).map(String::as_str) != Some(TRUST_KIND)
    {
        backend.tag_image(&facts.id, UPSTREAM_BASE_IMAGE).await?;
        return Ok((facts.id.clone(), false));
    }
    // Missing, or only assay's trusting layer is left: make it again.
    bootstrap_base(config, current.is_some()).await?;
    let facts = backend
        .image_facts(BASE_IMAGE)
        .await?
        .ok_or_else(|| SandboxError::Images {
            message: format!(
                "{} succeeded but {BASE_IMAGE} is still missing",
                config
                    .sandbox_images_dir
                    .join("debian/bootstrap.sh")
                    .display()
            ),
        })?;
    backend.tag_image(&facts.id, UPSTREAM_BASE_IMAGE).await?;
    Ok((facts.id, true))
}

async fn bootstrap_base(config: &ImagesConfig, force: bool) -> Result<(), SandboxError> {
    let script = config.sandbox_images_dir.join("debian/bootstrap.sh");
    if !script.is_file() {
        return Err(SandboxError::Images {
            message: format!(
                "{BASE_IMAGE} is missing and {} does not exist: run assay from its repository or \
                 set ASSAY_SANDBOX_IMAGES to its sandbox-images directory",
                script.display()
            ),
        });
    }
    tracing::info!(script = %script.display(), "bootstrapping {BASE_IMAGE}");
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(&script)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    if force {
        cmd.arg("--force");
    }
    let output = tokio::time::timeout(config.bootstrap_time_limit, cmd.output())
        .await
        .map_err(|_| SandboxError::Images {
            message: format!(
                "bootstrapping {BASE_IMAGE} took longer than {} s: check the Debian mirror \
                 (ASSAY_DEBIAN_MIRROR) is reachable",
                config.bootstrap_time_limit.as_secs()
            ),
        })?
        .map_err(|e| SandboxError::io(&script, e))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(1500)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(SandboxError::Images {
            message: format!(
                "could not make {BASE_IMAGE}: install mmdebstrap (`apt-get install mmdebstrap`) \
                 and run assay as root; the bootstrap said: {}",
                tail.trim()
            ),
        });
    }
    Ok(())
}

/// `assay.kind` of an image that adds extra certificate authorities to its base.
const TRUST_KIND: &str = "trust";

/// One trusting layer: `target` is `upstream` plus the bundle's authorities.
#[derive(Debug, Clone, Copy)]
pub struct TrustLayer<'a> {
    pub upstream: &'a str,
    pub upstream_id: &'a str,
    pub target: &'a str,
    pub bundle: &'a TrustBundle,
}

/// Makes `layer.target` the upstream image plus the bundle's authorities (installed into
/// the trust store with `ca-certificates`, and the variables pip, requests, cargo, curl,
/// git and Node read set to it), from `sandbox-images/trust/`. With no authority the target
/// is the upstream image itself, unchanged. Rebuilt only when the upstream image, the recipe
/// or the authorities change; the image it replaces is removed.
pub async fn ensure_trusted(
    backend: &impl ImageStore,
    config: &ImagesConfig,
    layer: &TrustLayer<'_>,
) -> Result<ImageStatus, SandboxError> {
    let started = Instant::now();
    let current = backend.image_facts(layer.target).await?;
    let replaced = |current: &Option<ImageFacts>, new_id: &str| {
        current.as_ref().and_then(|f| {
            (f.id != new_id && f.labels.get(labels::KIND).map(String::as_str) == Some(TRUST_KIND))
                .then(|| f.id.clone())
        })
    };
    if layer.bundle.is_empty() {
        if current.as_ref().map(|f| f.id.as_str()) == Some(layer.upstream_id) {
            return Ok(ImageStatus {
                tag: layer.target.to_owned(),
                id: layer.upstream_id.to_owned(),
                action: ImageAction::Present,
                seconds: started.elapsed().as_secs_f64(),
                trust: None,
            });
        }
        backend.tag_image(layer.upstream_id, layer.target).await?;
        if let Some(old) = replaced(&current, layer.upstream_id) {
            drop_replaced(backend, &old).await;
        }
        return Ok(ImageStatus {
            tag: layer.target.to_owned(),
            id: layer.upstream_id.to_owned(),
            action: ImageAction::Retagged,
            seconds: started.elapsed().as_secs_f64(),
            trust: None,
        });
    }

    let recipe = config.sandbox_images_dir.join("trust");
    let context = tempfile::Builder::new()
        .prefix("assay-trust-")
        .tempdir_in(&config.scratch_dir)
        .map_err(|e| SandboxError::io(&config.scratch_dir, e))?;
    let dockerfile = recipe.join("Dockerfile");
    let text = std::fs::read(&dockerfile).map_err(|e| SandboxError::Images {
        message: format!(
            "cannot read {} ({e}): run assay from its repository or set ASSAY_SANDBOX_IMAGES \
             to its sandbox-images directory",
            dockerfile.display()
        ),
    })?;
    let write = |path: PathBuf, bytes: &[u8]| {
        std::fs::write(&path, bytes).map_err(|e| SandboxError::io(&path, e))
    };
    write(context.path().join("Dockerfile"), &text)?;
    let certs = context.path().join("certs");
    std::fs::create_dir(&certs).map_err(|e| SandboxError::io(&certs, e))?;
    for (name, pem) in layer.bundle.files() {
        write(certs.join(name), pem.as_bytes())?;
    }
    let (dir, scratch) = (context.path().to_owned(), config.scratch_dir.clone());
    let packed =
        tokio::task::spawn_blocking(move || pack_context(&dir, "Dockerfile", 16 << 20, &scratch))
            .await
            .map_err(|e| SandboxError::Images {
                message: format!("packing the trust layer failed: {e}"),
            })??;
    let PackOutcome::Packed(packed) = packed else {
        return Err(SandboxError::Images {
            message: format!("the trust layer's context cannot be packed: {packed:?}"),
        });
    };
    let mut build_args = config.build_args.clone();
    build_args.insert("UPSTREAM".to_owned(), layer.upstream.to_owned());
    let hash = image_hash(
        &packed.hash,
        &[(layer.upstream.to_owned(), layer.upstream_id.to_owned())],
    );
    let described = layer.bundle.describe();
    if let Some(facts) = &current
        && facts.labels.get(labels::CONTENT_HASH) == Some(&hash)
    {
        return Ok(ImageStatus {
            tag: layer.target.to_owned(),
            id: facts.id.clone(),
            action: ImageAction::Present,
            seconds: started.elapsed().as_secs_f64(),
            trust: Some(described),
        });
    }
    tracing::info!(target = layer.target, authorities = %described, "adding extra CAs");
    let result = backend
        .build_image(ImageBuild {
            target: None,
            context_tar: &packed.tar,
            tag: layer.target,
            dockerfile: "Dockerfile",
            labels: HashMap::from([
                (labels::MANAGED.to_owned(), "true".to_owned()),
                (labels::KIND.to_owned(), TRUST_KIND.to_owned()),
                (labels::CONTENT_HASH.to_owned(), hash),
                (labels::EXTRA_CA.to_owned(), described.clone()),
            ]),
            resources: None,
            build_args,
            egress: BuildEgress::Direct,
            time_limit: config.build_time_limit,
            log_cap_bytes: 16 * 1024,
            on_line: None,
        })
        .await?;
    let image_id = built_or_error(result, layer.target, &recipe, config)?;
    if let Some(old) = replaced(&current, &image_id) {
        drop_replaced(backend, &old).await;
    }
    Ok(ImageStatus {
        tag: layer.target.to_owned(),
        id: image_id,
        action: ImageAction::Built,
        seconds: started.elapsed().as_secs_f64(),
        trust: Some(described),
    })
}

/// The image id of a finished build, or the error that says why there is none.
fn built_or_error(
    result: BuildResult,
    tag: &str,
    dir: &Path,
    config: &ImagesConfig,
) -> Result<String, SandboxError> {
    match result.end {
        BuildEnd::Built { image_id } => Ok(image_id),
        BuildEnd::Failed { reason } => Err(SandboxError::Images {
            message: format!(
                "building {tag} from {} failed: {reason}\n{}",
                dir.display(),
                result.log
            ),
        }),
        BuildEnd::TimedOut => Err(SandboxError::Images {
            message: format!(
                "building {tag} took longer than {} s",
                config.build_time_limit.as_secs()
            ),
        }),
    }
}

/// Removes an image a rebuild replaced (untagged now); kept when something still uses it.
async fn drop_replaced(backend: &impl ImageStore, id: &str) {
    match backend.remove_image(id).await {
        Ok(true) => {}
        Ok(false) => tracing::debug!(image = %id, "replaced image kept: still in use"),
        Err(e) => tracing::debug!(image = %id, error = %e, "replaced image kept"),
    }
}

async fn ensure_recipe(
    backend: &impl ImageStore,
    config: &ImagesConfig,
    recipe: &ImageRecipe,
) -> Result<ImageStatus, SandboxError> {
    let started = Instant::now();
    let (dir, dockerfile, scratch) = (
        recipe.dir.clone(),
        recipe.dockerfile.clone(),
        config.scratch_dir.clone(),
    );
    let packed =
        tokio::task::spawn_blocking(move || pack_context(&dir, &dockerfile, 1 << 30, &scratch))
            .await
            .map_err(|e| SandboxError::Images {
                message: format!("packing {} failed: {e}", recipe.dir.display()),
            })??;
    let packed = match packed {
        PackOutcome::Packed(p) => p,
        other => {
            return Err(SandboxError::Images {
                message: format!(
                    "the recipe of {} at {} cannot be packed: {other:?}",
                    recipe.tag,
                    recipe.dir.display()
                ),
            });
        }
    };
    let bases = base_image_ids(backend, &recipe.dir.join(&recipe.dockerfile)).await?;
    let hash = image_hash(&packed.hash, &bases);
    let existing = backend.image_facts(&recipe.tag).await?;
    if let Some(facts) = &existing
        && facts.labels.get(labels::CONTENT_HASH) == Some(&hash)
    {
        return Ok(ImageStatus {
            tag: recipe.tag.clone(),
            id: facts.id.clone(),
            action: ImageAction::Present,
            seconds: started.elapsed().as_secs_f64(),
            trust: facts.labels.get(labels::EXTRA_CA).cloned(),
        });
    }
    tracing::info!(tag = %recipe.tag, "building image from {}", recipe.dir.display());
    let image_labels = HashMap::from([
        (labels::MANAGED.to_owned(), "true".to_owned()),
        (labels::KIND.to_owned(), "recipe".to_owned()),
        (labels::CONTENT_HASH.to_owned(), hash),
    ]);
    let result = backend
        .build_image(ImageBuild {
            target: None,
            context_tar: &packed.tar,
            tag: &recipe.tag,
            dockerfile: &recipe.dockerfile,
            labels: image_labels,
            resources: None,
            build_args: config.build_args.clone(),
            egress: BuildEgress::Direct,
            time_limit: config.build_time_limit,
            log_cap_bytes: 16 * 1024,
            on_line: None,
        })
        .await?;
    let image_id = built_or_error(result, &recipe.tag, &recipe.dir, config)?;
    // The previous version is now untagged: drop it if nothing uses it.
    if let Some(old) = existing
        && old.id != image_id
    {
        drop_replaced(backend, &old.id).await;
    }
    let trust = backend
        .image_facts(&image_id)
        .await?
        .and_then(|f| f.labels.get(labels::EXTRA_CA).cloned());
    Ok(ImageStatus {
        tag: recipe.tag.clone(),
        id: image_id,
        action: ImageAction::Built,
        seconds: started.elapsed().as_secs_f64(),
        trust,
    })
}

/// An exclusive lock on a file, released on drop.
#[derive(Debug)]
struct HostLock {
    file: File,
}

impl HostLock {
    async fn acquire(path: &Path, wait: Duration) -> Result<HostLock, SandboxError> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| SandboxError::io(path, e))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(HostLock { file }),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(SandboxError::Images {
                        message: format!(
                            "another assay held {} for more than {} s",
                            path.display(),
                            wait.as_secs()
                        ),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(SandboxError::io(path, e)),
            }
        }
    }
}

impl Drop for HostLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// What [`prune_submission_images`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Submission images removed.
    pub removed: usize,
    /// Old enough but still used by a container (kept).
    pub in_use: usize,
}

/// Removes cached submission images (`assay-sub:*`) built more than `older_than` ago and not
/// used by any container; their untagged build layers go with them. The cache otherwise
/// grows by one image per distinct submission content.
pub async fn prune_submission_images(
    backend: &impl ImageStore,
    older_than: Duration,
) -> Result<PruneReport, SandboxError> {
    let images = backend
        .list_images(super::build::SUBMISSION_REPOSITORY)
        .await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cutoff = now.saturating_sub(older_than.as_secs());
    let mut report = PruneReport::default();
    for image in images {
        if image.created_unix > cutoff {
            continue;
        }
        match backend.remove_image(&image.id).await {
            Ok(true) => report.removed += 1,
            Ok(false) => report.in_use += 1,
            Err(e) => tracing::debug!(image = %image.id, error = %e, "image not pruned"),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeBackend;

    #[tokio::test]
    async fn pruning_removes_submission_images_only() {
        let fake = FakeBackend::new("assay-sub:0123");
        fake.add_image("assay-sub:4567-tests", "1000");
        fake.add_image("debian:bookworm-slim", "0");
        fake.add_image("someone/assay-sub:1", "0");
        // The fake's images were all made at the epoch: every one is old enough.
        let pruned = prune_submission_images(&fake, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pruned.removed, 2);
        for (image, kept) in [
            ("assay-sub:0123", false),
            ("assay-sub:4567-tests", false),
            ("debian:bookworm-slim", true),
            ("someone/assay-sub:1", true),
        ] {
            let facts = fake
                .image_facts(image)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(facts.is_some(), kept, "{image}");
        }
    }
}
