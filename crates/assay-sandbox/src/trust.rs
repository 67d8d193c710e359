//! Build-time trust: the grading host's extra certificate authorities (a TLS-intercepting
//! proxy's, a company's own), found where the host keeps them or named by a setting, so that
//! the base images assay makes carry them and a candidate's `pip install` or `cargo build`
//! verifies the proxy's certificates without any change to the candidate's Dockerfile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::Encode;

use super::SandboxError;

/// Where the host keeps the certificate authorities it adds to its distribution's own:
/// Debian and Ubuntu, Fedora and RHEL, Arch, openSUSE.
pub const LOCAL_CA_FOLDERS: &[&str] = &[
    "/usr/local/share/ca-certificates",
    "/etc/pki/ca-trust/source/anchors",
    "/etc/ca-certificates/trust-source/anchors",
    "/etc/pki/trust/anchors",
];

/// The distributions' own bundles (as Go's `crypto/x509` lists them). `SSL_CERT_FILE` naming
/// one of these adds nothing a Debian image lacks: its extra authorities are in a local CA
/// folder, and the rest is the public roots the image's `ca-certificates` package holds.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A certificate file larger than this is not a certificate authority anyone meant to add.
const MAX_CA_FILE_BYTES: u64 = 4 << 20;
/// Files read from one local CA folder (recursively), at most.
const MAX_CA_FILES: usize = 1000;

/// Where the extra certificate authorities come from (`--extra-ca`, `ASSAY_EXTRA_CA`,
/// config `extra_ca`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrustSource {
    /// The host's local CA folders and `SSL_CERT_FILE` (unless it is the system bundle).
    #[default]
    Discover,
    /// Exactly these PEM files (or folders of `.crt`/`.pem` files); nothing is discovered.
    Paths(Vec<PathBuf>),
    /// No extra authority: images are left as they are.
    Off,
}

impl TrustSource {
    /// Reads a setting's value: `auto` (discover), `none` (off), or paths separated by `,`.
    pub fn parse(value: &str) -> Result<TrustSource, String> {
        let value = value.trim();
        match value.to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(TrustSource::Discover),
            "none" | "off" => Ok(TrustSource::Off),
            _ => {
                let paths: Vec<PathBuf> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .collect();
                if paths.is_empty() {
                    return Err("name a PEM file, or write auto or none".to_owned());
                }
                Ok(TrustSource::Paths(paths))
            }
        }
    }
}

/// One extra certificate authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraCa {
    /// SHA-256 of the certificate's DER, lower-case hex.
    pub fingerprint: String,
    /// The subject, as RFC 4514 writes it.
    pub subject: String,
    /// The file it was read from.
    pub source: PathBuf,
    /// The certificate, PEM-encoded (one block).
    pub pem: String,
}

impl ExtraCa {
    /// `sha256:<first 16 hex digits> <subject>`: how reports and labels name it.
    pub fn describe(&self) -> String {
        format!("sha256:{} {}", &self.fingerprint[..16], self.subject)
    }
}

/// The extra authorities an image trusts, sorted by fingerprint and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustBundle {
    pub authorities: Vec<ExtraCa>,
    /// Files found but not read (not PEM, too large, unreadable), with the reason. Only
    /// discovered files land here; a named file that cannot be read is an error.
    pub skipped: Vec<(PathBuf, String)>,
}

impl TrustBundle {
    /// The bundle `source` names, on this host. `env` reads the environment
    /// (`SSL_CERT_FILE`).
    pub fn load(
        source: &TrustSource,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<TrustBundle, SandboxError> {
        let mut found = BTreeMap::new();
        let mut skipped = Vec::new();
        match source {
            TrustSource::Off => {}
            TrustSource::Paths(paths) => {
                for path in paths {
                    let files = if path.is_dir() {
                        certificate_files(path)
                    } else {
                        vec![path.clone()]
                    };
                    if files.is_empty() {
                        return Err(extra_ca_error(path, "it holds no .crt or .pem file"));
                    }
                    for file in files {
                        let cas = read_authorities(&file).map_err(|e| extra_ca_error(&file, &e))?;
                        if cas.is_empty() {
                            return Err(extra_ca_error(&file, "it holds no PEM certificate"));
                        }
                        for ca in cas {
                            found.entry(ca.fingerprint.clone()).or_insert(ca);
                        }
                    }
                }
            }
            TrustSource::Discover => {
                let mut files: Vec<PathBuf> = LOCAL_CA_FOLDERS
                    .iter()
                    .flat_map(|dir| certificate_files(Path::new(dir)))
                    .collect();
                if let Some(file) = env("SSL_CERT_FILE").filter(|v| !v.trim().is_empty()) {
                    let file = PathBuf::from(file.trim());
                    if !is_system_bundle(&file) {
                        files.push(file);
                    }
                }
                for file in files {
                    match read_authorities(&file) {
                        Ok(cas) => {
                            for ca in cas {
                                found.entry(ca.fingerprint.clone()).or_insert(ca);
                            }
                        }
                        Err(reason) => {
                            tracing::warn!(file = %file.display(), %reason, "extra CA skipped");
                            skipped.push((file, reason));
                        }
                    }
                }
            }
        }
        Ok(TrustBundle {
            authorities: found.into_values().collect(),
            skipped,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.authorities.is_empty()
    }

    /// A hash of the authorities (their fingerprints): part of the trusting image's content
    /// hash, so a new authority rebuilds it.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for ca in &self.authorities {
            h.update(ca.fingerprint.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }

    /// One line naming every authority, for an image label and `assay images list`.
    pub fn describe(&self) -> String {
        self.authorities
            .iter()
            .map(ExtraCa::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The files of the trust layer's `certs/` folder: one `.crt` per authority, named by
    /// its fingerprint (what `update-ca-certificates` reads).
    pub fn files(&self) -> Vec<(String, &str)> {
        self.authorities
            .iter()
            .map(|ca| {
                (
                    format!("assay-{}.crt", &ca.fingerprint[..16]),
                    ca.pem.as_str(),
                )
            })
            .collect()
    }
}

fn extra_ca_error(path: &Path, why: &str) -> SandboxError {
    SandboxError::Images {
        message: format!(
            "cannot use {} as an extra certificate authority: {why}; name a PEM file with \
             --extra-ca (ASSAY_EXTRA_CA, config extra_ca), or `none` to add none",
            path.display()
        ),
    }
}

/// True when `path` is (a link to) one of the distributions' own bundles.
fn is_system_bundle(path: &Path) -> bool {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    SYSTEM_BUNDLES.iter().any(|b| {
        let b = Path::new(b);
        path == b || std::fs::canonicalize(b).is_ok_and(|rb| rb == resolved)
    })
}

/// `.crt` and `.pem` files under `dir` (recursively, links followed to files only), sorted.
fn certificate_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() && depth < 4 {
                stack.push((path, depth + 1));
            } else if meta.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("crt") || e.eq_ignore_ascii_case("pem"))
            {
                out.push(path);
            }
            if out.len() >= MAX_CA_FILES {
                break;
            }
        }
    }
    out.sort();
    out
}

/// The certificates of one PEM file. `Err` says why the file cannot be used.
fn read_authorities(file: &Path) -> Result<Vec<ExtraCa>, String> {
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read it ({e})"))?;
    if !meta.is_file() {
        return Err("it is not a file".to_owned());
    }
    if meta.len() > MAX_CA_FILE_BYTES {
        return Err(format!(
            "it is {} bytes, more than a certificate file holds",
            meta.len()
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read it ({e})"))?;
    parse_pem(&bytes, file)
}

/// Every certificate of a PEM text; text outside the blocks is ignored, as OpenSSL does.
pub fn parse_pem(bytes: &[u8], source: &Path) -> Result<Vec<ExtraCa>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not a PEM text file".to_owned())?;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start..];
        let Some(end) = after.find(END) else {
            return Err("a certificate block has no END line".to_owned());
        };
        let block = &after[..end + END.len()];
        let certs = Certificate::load_pem_chain(block.as_bytes())
            .map_err(|e| format!("a certificate does not parse ({e})"))?;
        for cert in certs {
            let der = cert
                .to_der()
                .map_err(|e| format!("a certificate does not encode ({e})"))?;
            out.push(ExtraCa {
                fingerprint: hex::encode(Sha256::digest(&der)),
                subject: cert.tbs_certificate().subject().to_string(),
                source: source.to_owned(),
                pem: format!("{}\n", block.trim()),
            });
        }
        rest = &after[end + END.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throw-away self-signed CA (CN=assay test proxy CA), made with openssl for these tests.
    pub(crate) const TEST_CA: &str = include_str!("../tests/fixtures/test-ca.pem");
    /// A second one (CN=assay second test CA).
    const SECOND_CA: &str = include_str!("../tests/fixtures/second-ca.pem");

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn settings_read_auto_none_and_paths() {
        assert_eq!(TrustSource::parse("auto"), Ok(TrustSource::Discover));
        assert_eq!(TrustSource::parse(" None "), Ok(TrustSource::Off));
        assert_eq!(
            TrustSource::parse("/a.pem, /b.crt"),
            Ok(TrustSource::Paths(vec!["/a.pem".into(), "/b.crt".into()]))
        );
        assert!(TrustSource::parse(",").is_err());
    }

    #[test]
    fn pem_blocks_are_read_with_fingerprint_and_subject() {
        let text = format!("garbage before\n{TEST_CA}\nbetween\n{SECOND_CA}");
        let cas = parse_pem(text.as_bytes(), Path::new("x.pem")).expect("parses");
        assert_eq!(cas.len(), 2);
        assert_eq!(cas[0].subject, "CN=assay test proxy CA,O=assay tests");
        assert_eq!(cas[1].subject, "CN=assay second test CA");
        assert_eq!(cas[0].fingerprint.len(), 64);
        assert_ne!(cas[0].fingerprint, cas[1].fingerprint);
        assert!(cas[0].pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(cas[0].pem.ends_with("-----END CERTIFICATE-----\n"));
    }

    #[test]
    fn broken_pem_is_refused_with_the_reason() {
        let cut = &TEST_CA[..TEST_CA.len() / 2];
        assert!(
            parse_pem(cut.as_bytes(), Path::new("x"))
                .expect_err("no END")
                .contains("no END")
        );
        let bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(
            parse_pem(bad.as_bytes(), Path::new("x"))
                .expect_err("not DER")
                .contains("does not parse")
        );
        assert!(parse_pem(&[0xff, 0xfe], Path::new("x")).is_err());
    }

    #[test]
    fn named_files_and_folders_are_read_deduplicated_and_sorted() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.crt"), TEST_CA).expect("write");
        std::fs::write(dir.path().join("b.pem"), format!("{SECOND_CA}{TEST_CA}")).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a certificate").expect("write");
        let bundle = TrustBundle::load(&TrustSource::Paths(vec![dir.path().into()]), &no_env)
            .expect("loads");
        assert_eq!(bundle.authorities.len(), 2);
        let fps: Vec<&str> = bundle
            .authorities
            .iter()
            .map(|c| c.fingerprint.as_str())
            .collect();
        let mut sorted = fps.clone();
        sorted.sort_unstable();
        assert_eq!(fps, sorted);
        assert_eq!(bundle.files().len(), 2);
        assert!(bundle.describe().contains("CN=assay second test CA"));
        // The same authorities in another order hash the same; one fewer does not.
        let one = TrustBundle::load(&TrustSource::Paths(vec![dir.path().join("a.crt")]), &no_env)
            .expect("loads");
        assert_ne!(one.hash(), bundle.hash());
        let again = TrustBundle::load(
            &TrustSource::Paths(vec![dir.path().join("b.pem"), dir.path().join("a.crt")]),
            &no_env,
        )
        .expect("loads");
        assert_eq!(again.hash(), bundle.hash());
    }

    #[test]
    fn a_named_file_that_cannot_be_used_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let err = TrustBundle::load(&TrustSource::Paths(vec![missing]), &no_env)
            .expect_err("missing file")
            .to_string();
        assert!(
            err.contains("missing.pem") && err.contains("--extra-ca"),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here").expect("write");
        let err = TrustBundle::load(&TrustSource::Paths(vec![empty]), &no_env)
            .expect_err("no certificate")
            .to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    #[test]
    fn off_adds_nothing_and_the_system_bundle_is_not_an_extra() {
        let env = |k: &str| (k == "SSL_CERT_FILE").then(|| SYSTEM_BUNDLES[0].to_owned());
        assert!(
            TrustBundle::load(&TrustSource::Off, &env)
                .expect("off")
                .is_empty()
        );
        assert!(is_system_bundle(Path::new(SYSTEM_BUNDLES[0])));
        assert!(!is_system_bundle(Path::new("/tmp/corporate.pem")));
    }

    #[test]
    fn ssl_cert_file_is_discovered_when_it_is_not_the_system_bundle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("corporate.pem");
        std::fs::write(&file, SECOND_CA).expect("write");
        let path = file.display().to_string();
        let env = move |k: &str| (k == "SSL_CERT_FILE").then(|| path.clone());
        let bundle = TrustBundle::load(&TrustSource::Discover, &env).expect("discovers");
        assert!(
            bundle
                .authorities
                .iter()
                .any(|c| c.subject == "CN=assay second test CA"),
            "{bundle:?}"
        );
    }
}
