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
use super::backend::{Backend, BuildEnd, ImageBuild};
use super::build::{base_image_ids, image_hash};
use super::context::{PackOutcome, pack_context};
use super::docker::DockerBackend;
use super::labels;

/// The base image every recipe and most submissions build on.
pub const BASE_IMAGE: &str = "debian:bookworm-slim";

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
        vec![ImageRecipe::new(
            "assay/postgres:15",
            sandbox_images.join("postgres"),
        )]
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageStatus {
    pub tag: String,
    pub id: String,
    pub action: ImageAction,
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImagesReport {
    pub images: Vec<ImageStatus>,
}

/// [`ensure_images_with`] with [`ImagesConfig::default`].
pub async fn ensure_images(
    backend: &DockerBackend,
    recipes: &[ImageRecipe],
) -> Result<ImagesReport, SandboxError> {
    ensure_images_with(backend, &ImagesConfig::default(), recipes).await
}

/// Makes sure the base image and every recipe's image exist and are current.
pub async fn ensure_images_with(
    backend: &DockerBackend,
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

async fn ensure_base(
    backend: &DockerBackend,
    config: &ImagesConfig,
) -> Result<ImageStatus, SandboxError> {
    let started = Instant::now();
    if let Some(facts) = backend.image_facts(BASE_IMAGE).await? {
        return Ok(ImageStatus {
            tag: BASE_IMAGE.to_owned(),
            id: facts.id,
            action: ImageAction::Present,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
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
    let facts = backend
        .image_facts(BASE_IMAGE)
        .await?
        .ok_or_else(|| SandboxError::Images {
            message: format!(
                "{} succeeded but {BASE_IMAGE} is still missing",
                script.display()
            ),
        })?;
    Ok(ImageStatus {
        tag: BASE_IMAGE.to_owned(),
        id: facts.id,
        action: ImageAction::Bootstrapped,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn ensure_recipe(
    backend: &DockerBackend,
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
            context_tar: &packed.tar,
            tag: &recipe.tag,
            dockerfile: &recipe.dockerfile,
            labels: image_labels,
            resources: None,
            time_limit: config.build_time_limit,
            log_cap_bytes: 16 * 1024,
            on_line: None,
        })
        .await?;
    match result.end {
        BuildEnd::Built { image_id } => {
            // The previous version is now untagged: drop it if nothing uses it.
            if let Some(old) = existing
                && old.id != image_id
                && let Ok(Err(e)) = tokio::time::timeout(
                    Duration::from_secs(60),
                    backend.client().remove_image(
                        &old.id,
                        None::<bollard::query_parameters::RemoveImageOptions>,
                        None,
                    ),
                )
                .await
            {
                tracing::debug!(image = %old.id, error = %e, "old recipe image kept");
            }
            Ok(ImageStatus {
                tag: recipe.tag.clone(),
                id: image_id,
                action: ImageAction::Built,
                seconds: started.elapsed().as_secs_f64(),
            })
        }
        BuildEnd::Failed { reason } => Err(SandboxError::Images {
            message: format!(
                "building {} from {} failed: {reason}\n{}",
                recipe.tag,
                recipe.dir.display(),
                result.log
            ),
        }),
        BuildEnd::TimedOut => Err(SandboxError::Images {
            message: format!(
                "building {} took longer than {} s",
                recipe.tag,
                config.build_time_limit.as_secs()
            ),
        }),
    }
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
    backend: &DockerBackend,
    older_than: Duration,
) -> Result<PruneReport, SandboxError> {
    let docker = backend.client();
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![format!("{}=submission", labels::KIND)],
    )]);
    let images = tokio::time::timeout(
        Duration::from_secs(60),
        docker.list_images(Some(bollard::query_parameters::ListImagesOptions {
            filters: Some(filters),
            ..Default::default()
        })),
    )
    .await
    .map_err(|_| SandboxError::Timeout {
        call: "list images",
        seconds: 60,
    })?
    .map_err(|e| SandboxError::Docker {
        call: "list images",
        status: None,
        message: e.to_string(),
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cutoff = now.saturating_sub(older_than.as_secs());
    let mut report = PruneReport::default();
    for image in images {
        if u64::try_from(image.created).unwrap_or(0) > cutoff {
            continue;
        }
        let removed = tokio::time::timeout(
            Duration::from_secs(60),
            docker.remove_image(
                &image.id,
                Some(bollard::query_parameters::RemoveImageOptions {
                    force: false,
                    noprune: false,
                    ..Default::default()
                }),
                None,
            ),
        )
        .await;
        match removed {
            Ok(Ok(_)) => report.removed += 1,
            Ok(Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            })) => report.in_use += 1,
            Ok(Err(e)) => tracing::debug!(image = %image.id, error = %e, "image not pruned"),
            Err(_) => tracing::warn!(image = %image.id, "image removal timed out"),
        }
    }
    Ok(report)
}
