//! The trust layer that lets builds download their dependencies through this machine's
//! TLS-intercepting proxy: the host's extra certificate authorities installed into the base
//! image, rebuilt when they change, and left out entirely when there are none. (The example
//! stacks graded end to end through it are the CLI's tests, `crates/assay-cli/tests/cli/`.)

use std::path::{Path, PathBuf};

use assay_docker::DockerBackend;
use assay_sandbox::{
    BuildRequest, ImageAction, ImageStore, ImagesConfig, TrustBundle, TrustLayer, TrustSource,
    UPSTREAM_BASE_IMAGE, build_submission, ensure_images, ensure_trusted,
};

use assay_testkit::paths::workspace_root as root;

fn test_ca(name: &str) -> PathBuf {
    root()
        .join("crates/assay-sandbox/tests/fixtures")
        .join(name)
}

fn bundle(files: &[&str]) -> TrustBundle {
    let paths = files.iter().map(|f| test_ca(f)).collect();
    TrustBundle::load(&TrustSource::Paths(paths), &|_| None).expect("the test CAs load")
}

/// An image built `FROM image` whose build succeeds only when `SSL_CERT_FILE` (and every
/// variable pip, requests, cargo, curl, git and Node read) is the system bundle and holds
/// `pem`'s certificate.
async fn trusts(backend: &DockerBackend, image: &str, pem: &Path) -> bool {
    let body: String = std::fs::read_to_string(pem)
        .expect("the CA")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let dir = tempfile::tempdir().expect("context");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {image}\n\
             RUN for v in \"$SSL_CERT_FILE\" \"$PIP_CERT\" \"$REQUESTS_CA_BUNDLE\" \
                 \"$CARGO_HTTP_CAINFO\" \"$CURL_CA_BUNDLE\" \"$GIT_SSL_CAINFO\" \
                 \"$NODE_EXTRA_CA_CERTS\"; do \
                 test \"$v\" = /etc/ssl/certs/ca-certificates.crt || exit 1; done \
             && tr -d '\\n' < /etc/ssl/certs/ca-certificates.crt | grep -qF '{body}'\n"
        ),
    )
    .expect("write the Dockerfile");
    let out = build_submission(backend, &BuildRequest::new(dir.path()))
        .await
        .expect("the check build runs");
    if let Some(image) = &out.image {
        let _ = backend.remove_image(image).await;
    }
    out.failure.is_none()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trust_layer_carries_the_authorities_and_follows_them() {
    assay_testkit::require_docker!();
    let backend = DockerBackend::connect()
        .await
        .expect("Docker must be reachable");
    ensure_images(&backend, &[])
        .await
        .expect("the base image exists");
    let upstream = backend
        .image_facts(UPSTREAM_BASE_IMAGE)
        .await
        .expect("inspect")
        .expect("the upstream base is kept")
        .id;
    let target = format!("assay-test/trusted:{}", std::process::id());
    let config = ImagesConfig::default();
    let layer = |bundle| TrustLayer {
        upstream: UPSTREAM_BASE_IMAGE,
        upstream_id: &upstream,
        target: &target,
        bundle,
    };

    // One authority: installed, and every variable points at the bundle holding it.
    let one = bundle(&["test-ca.pem"]);
    let first = ensure_trusted(&backend, &config, &layer(&one))
        .await
        .expect("the trust layer builds");
    assert_eq!(first.action, ImageAction::Built);
    assert_ne!(first.id, upstream);
    let described = first.trust.clone().unwrap_or_default();
    assert!(described.contains("CN=assay test proxy CA"), "{described}");
    let facts = backend
        .image_facts(&target)
        .await
        .expect("inspect")
        .expect("tagged");
    assert_eq!(
        facts.labels.get("assay.extra-ca"),
        Some(&described),
        "images list reads this label"
    );
    assert!(trusts(&backend, &target, &test_ca("test-ca.pem")).await);
    assert!(!trusts(&backend, &target, &test_ca("second-ca.pem")).await);

    // The same authorities again: nothing is rebuilt.
    let again = ensure_trusted(&backend, &config, &layer(&one))
        .await
        .expect("present");
    assert_eq!((again.action, &again.id), (ImageAction::Present, &first.id));

    // A new authority is part of the content hash: rebuilt, the old layer removed.
    let two = bundle(&["test-ca.pem", "second-ca.pem"]);
    let second = ensure_trusted(&backend, &config, &layer(&two))
        .await
        .expect("rebuilt");
    assert_eq!(second.action, ImageAction::Built);
    assert_ne!(second.id, first.id);
    assert!(trusts(&backend, &target, &test_ca("second-ca.pem")).await);
    assert!(
        backend
            .image_facts(&first.id)
            .await
            .expect("inspect")
            .is_none(),
        "the replaced trust layer is removed"
    );

    // No extra authority: the image is the upstream one, unchanged.
    let none = TrustBundle::load(&TrustSource::Off, &|_| None).expect("off");
    let plain = ensure_trusted(&backend, &config, &layer(&none))
        .await
        .expect("retagged");
    assert_eq!(plain.action, ImageAction::Retagged);
    assert_eq!(plain.id, upstream);
    assert_eq!(plain.trust, None);
    assert!(
        backend
            .image_facts(&second.id)
            .await
            .expect("inspect")
            .is_none()
    );

    backend
        .remove_image(&target)
        .await
        .expect("the test tag is removed");
    assert!(
        backend
            .image_facts(UPSTREAM_BASE_IMAGE)
            .await
            .expect("inspect")
            .is_some(),
        "removing a tag of the upstream image leaves the image"
    );
}
