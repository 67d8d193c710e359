//! The build context of a submission, packed as the tar Docker builds from: `.dockerignore`
//! honoured, never a byte from outside the submission (symlinks kept only when they resolve
//! inside it), special files skipped, size capped, content-hashed for the image cache.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::SandboxError;
use super::dockerignore::DockerIgnore;

/// Symlink hops followed when deciding where a link points, before giving up (as the kernel).
const MAX_LINK_HOPS: usize = 40;
/// Largest `.dockerignore` read.
const DOCKERIGNORE_MAX_BYTES: u64 = 1024 * 1024;

/// An entry of the submission that was not sent to Docker, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedEntry {
    /// Path relative to the submission root.
    pub path: String,
    pub reason: String,
}

/// What was packed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContextReport {
    /// Regular files sent.
    pub files: u64,
    /// Symlinks sent (all resolve inside the submission).
    pub symlinks: u64,
    /// Bytes of the tar sent to Docker.
    pub tar_bytes: u64,
    /// Entries excluded by `.dockerignore`.
    pub ignored: u64,
    /// Entries refused: symlinks out of the submission, sockets, fifos, devices.
    pub skipped: Vec<SkippedEntry>,
}

/// A packed context ready to send; the tar is deleted when this is dropped.
#[derive(Debug)]
pub struct PackedContext {
    pub tar: tempfile::TempPath,
    /// Hex SHA-256 over paths, types, modes, link targets and contents (not timestamps).
    pub hash: String,
    pub report: ContextReport,
}

/// Reads `root/.dockerignore`: a regular file of the submission (never a link, a device or a
/// fifo), at most [`DOCKERIGNORE_MAX_BYTES`], at most `MAX_PATTERNS` patterns. Anything else
/// is `SandboxError::Invalid`, which the build grades as "did not build" with the reason.
fn read_dockerignore(root: &Path) -> Result<DockerIgnore, SandboxError> {
    let path = root.join(".dockerignore");
    let meta = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DockerIgnore::default()),
        Err(e) => return Err(SandboxError::io(&path, e)),
    };
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_symlink() {
            "a symlink"
        } else if ft.is_dir() {
            "a directory"
        } else {
            "a device, fifo or socket"
        };
        return Err(SandboxError::Invalid(format!(
            "`.dockerignore` must be a regular file inside the submission, not {what}; replace it with the file itself"
        )));
    }
    let too_large = || {
        SandboxError::Invalid(format!(
            "`.dockerignore` is larger than {}; keep it to patterns (`**` globs) rather than lists of paths",
            assay_model::ByteSize(DOCKERIGNORE_MAX_BYTES)
        ))
    };
    if meta.len() > DOCKERIGNORE_MAX_BYTES {
        return Err(too_large());
    }
    let file = File::open(&path).map_err(|e| SandboxError::io(&path, e))?;
    let opened = file.metadata().map_err(|e| SandboxError::io(&path, e))?;
    if opened.dev() != meta.dev() || opened.ino() != meta.ino() || !opened.is_file() {
        return Err(SandboxError::io(
            &path,
            io::Error::other("the file changed while the context was being packed"),
        ));
    }
    let mut bytes = Vec::new();
    file.take(DOCKERIGNORE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SandboxError::io(&path, e))?;
    if bytes.len() as u64 > DOCKERIGNORE_MAX_BYTES {
        return Err(too_large());
    }
    DockerIgnore::parse(&String::from_utf8_lossy(&bytes)).map_err(SandboxError::Invalid)
}

/// Why a context could not be packed: graded outcomes, not errors.
#[derive(Debug)]
pub enum PackOutcome {
    Packed(PackedContext),
    /// No Dockerfile (or it is excluded from the walk as outside / not a file).
    NoDockerfile {
        dockerfile: String,
    },
    /// The context exceeds the cap.
    TooLarge {
        limit_bytes: u64,
    },
}

/// Packs `root` into a tar in `scratch`. Synchronous: run it on a blocking thread.
pub fn pack_context(
    root: &Path,
    dockerfile: &str,
    limit_bytes: u64,
    scratch: &Path,
) -> Result<PackOutcome, SandboxError> {
    let root = root.canonicalize().map_err(|e| SandboxError::io(root, e))?;
    let dockerfile_rel = match relative_inside(dockerfile) {
        Some(p) => p,
        None => {
            return Err(SandboxError::Invalid(format!(
                "the Dockerfile path `{dockerfile}` must be relative and stay inside the submission"
            )));
        }
    };
    if !is_file_inside(&root, &dockerfile_rel) {
        return Ok(PackOutcome::NoDockerfile {
            dockerfile: dockerfile.to_owned(),
        });
    }

    let mut ignore = read_dockerignore(&root)?;
    ignore.keep(".dockerignore");
    ignore.keep(&dockerfile_rel.to_string_lossy());

    let file = tempfile::Builder::new()
        .prefix("assay-context-")
        .suffix(".tar")
        .tempfile_in(scratch)
        .map_err(|e| SandboxError::io(scratch, e))?;
    let (file, tar_path) = file.into_parts();
    let mut packer = Packer {
        root: &root,
        ignore: &ignore,
        builder: tar::Builder::new(BufWriter::new(file)),
        hasher: Sha256::new(),
        report: ContextReport::default(),
        limit_bytes,
        size: 0,
    };
    packer.hasher.update(b"assay-context-v1\0");
    packer.hasher.update(dockerfile.as_bytes());
    packer.hasher.update(b"\0");
    match packer.walk() {
        Ok(()) => {}
        Err(WalkError::TooLarge) => return Ok(PackOutcome::TooLarge { limit_bytes }),
        Err(WalkError::Io(path, e)) => return Err(SandboxError::io(path, e)),
    }
    let Packer {
        builder,
        hasher,
        mut report,
        size,
        ..
    } = packer;
    let mut writer = builder
        .into_inner()
        .map_err(|e| SandboxError::io(&*tar_path, e))?;
    io::Write::flush(&mut writer).map_err(|e| SandboxError::io(&*tar_path, e))?;
    report.tar_bytes = size + 1024;
    Ok(PackOutcome::Packed(PackedContext {
        tar: tar_path,
        hash: hex::encode(hasher.finalize()),
        report,
    }))
}

enum WalkError {
    TooLarge,
    Io(PathBuf, io::Error),
}

struct Packer<'a> {
    root: &'a Path,
    ignore: &'a DockerIgnore,
    builder: tar::Builder<BufWriter<File>>,
    hasher: Sha256,
    report: ContextReport,
    limit_bytes: u64,
    size: u64,
}

impl Packer<'_> {
    fn walk(&mut self) -> Result<(), WalkError> {
        // Depth-first, entries sorted by name: a deterministic tar and hash.
        let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
        while let Some(dir_rel) = stack.pop() {
            let dir_abs = self.root.join(&dir_rel);
            let mut names: Vec<OsString> = fs::read_dir(&dir_abs)
                .map_err(|e| WalkError::Io(dir_abs.clone(), e))?
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .map_err(|e| WalkError::Io(dir_abs.clone(), e))?;
            names.sort();
            let mut subdirs = Vec::new();
            for name in names {
                let rel = dir_rel.join(&name);
                if let Some(sub) = self.entry(&rel)? {
                    subdirs.push(sub);
                }
            }
            // Reverse so that the stack pops them in sorted order.
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }

    /// Packs one entry; returns it when it is a directory to descend into.
    fn entry(&mut self, rel: &Path) -> Result<Option<PathBuf>, WalkError> {
        let abs = self.root.join(rel);
        let rel_str = rel.to_string_lossy().into_owned();
        let meta = fs::symlink_metadata(&abs).map_err(|e| WalkError::Io(abs.clone(), e))?;
        let ft = meta.file_type();
        let excluded = self.ignore.excludes(&rel_str);
        if ft.is_dir() {
            if excluded {
                self.report.ignored += 1;
                return Ok(if self.ignore.can_skip_dir(&rel_str) {
                    None
                } else {
                    Some(rel.to_path_buf())
                });
            }
            self.record(b'd', rel, meta.mode(), &[]);
            let mut header = self.header(&meta, tar::EntryType::Directory, 0)?;
            self.builder
                .append_data(&mut header, rel, io::empty())
                .map_err(|e| WalkError::Io(abs.clone(), e))?;
            return Ok(Some(rel.to_path_buf()));
        }
        if excluded {
            self.report.ignored += 1;
            return Ok(None);
        }
        if ft.is_symlink() {
            let target = fs::read_link(&abs).map_err(|e| WalkError::Io(abs.clone(), e))?;
            if !link_stays_inside(self.root, rel, &target) {
                tracing::info!(path = %rel_str, target = %target.display(), "symlink leaves the submission: not sent");
                self.report.skipped.push(SkippedEntry {
                    path: rel_str,
                    reason: format!(
                        "symlink to `{}` points outside the submission",
                        target.display()
                    ),
                });
                return Ok(None);
            }
            self.record(b'l', rel, 0o777, target.as_os_str().as_bytes());
            let mut header = self.header(&meta, tar::EntryType::Symlink, 0)?;
            header.set_mode(0o777);
            self.builder
                .append_link(&mut header, rel, &target)
                .map_err(|e| WalkError::Io(abs.clone(), e))?;
            self.report.symlinks += 1;
            return Ok(None);
        }
        if !ft.is_file() {
            self.report.skipped.push(SkippedEntry {
                path: rel_str,
                reason: "not a regular file, directory or symlink (socket, fifo or device)"
                    .to_owned(),
            });
            return Ok(None);
        }
        let size = meta.len();
        self.grow(512 + size.div_ceil(512) * 512)?;
        let file = File::open(&abs).map_err(|e| WalkError::Io(abs.clone(), e))?;
        let opened = file.metadata().map_err(|e| WalkError::Io(abs.clone(), e))?;
        if opened.dev() != meta.dev() || opened.ino() != meta.ino() || !opened.is_file() {
            return Err(WalkError::Io(
                abs,
                io::Error::other("the file changed while the context was being packed"),
            ));
        }
        self.record(b'f', rel, meta.mode(), &[]);
        self.hasher.update(size.to_le_bytes());
        let mut header = self.header(&meta, tar::EntryType::Regular, size)?;
        let reader = Exact {
            inner: file,
            remaining: size,
            hasher: &mut self.hasher,
        };
        self.builder
            .append_data(&mut header, rel, reader)
            .map_err(|e| WalkError::Io(abs.clone(), e))?;
        self.report.files += 1;
        Ok(None)
    }

    fn header(
        &mut self,
        meta: &fs::Metadata,
        kind: tar::EntryType,
        size: u64,
    ) -> Result<tar::Header, WalkError> {
        if kind != tar::EntryType::Regular {
            self.grow(512)?;
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(meta.permissions().mode() & 0o7777);
        header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        header.set_uid(0);
        header.set_gid(0);
        Ok(header)
    }

    /// Feeds an entry's identity (not its timestamps) into the content hash.
    fn record(&mut self, kind: u8, rel: &Path, mode: u32, extra: &[u8]) {
        let path = rel.as_os_str().as_bytes();
        self.hasher.update([kind]);
        self.hasher.update((path.len() as u64).to_le_bytes());
        self.hasher.update(path);
        self.hasher.update((mode & 0o7777).to_le_bytes());
        self.hasher.update((extra.len() as u64).to_le_bytes());
        self.hasher.update(extra);
    }

    fn grow(&mut self, bytes: u64) -> Result<(), WalkError> {
        self.size = self.size.saturating_add(bytes);
        if self.size.saturating_add(1024) > self.limit_bytes {
            return Err(WalkError::TooLarge);
        }
        Ok(())
    }
}

/// Reads exactly `remaining` bytes (a file that shrank mid-read is an error, not a corrupt
/// tar), hashing them on the way.
struct Exact<'h> {
    inner: File,
    remaining: u64,
    hasher: &'h mut Sha256,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while the context was being packed",
            ));
        }
        self.hasher.update(&buf[..n]);
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// `path` as a relative path without `..`, or `None`.
fn relative_inside(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// True when `rel` resolves (following symlinks, all inside) to a regular file of `root`.
fn is_file_inside(root: &Path, rel: &Path) -> bool {
    let abs = root.join(rel);
    match fs::symlink_metadata(&abs) {
        Ok(m) if m.is_file() => true,
        Ok(m) if m.file_type().is_symlink() => match fs::read_link(&abs) {
            Ok(target) if link_stays_inside(root, rel, &target) => {
                fs::metadata(&abs).is_ok_and(|m| m.is_file())
            }
            _ => false,
        },
        _ => false,
    }
}

/// Decides whether the symlink at `link_rel` (relative to `root`) with `target` resolves to
/// a path inside `root`, following further symlinks on the way (each must stay inside too).
/// Absolute targets are outside by definition: the build must not depend on the grader's
/// filesystem. Dangling links that stay inside are fine.
pub(crate) fn link_stays_inside(root: &Path, link_rel: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut resolved: Vec<OsString> = link_rel
        .parent()
        .map(|p| p.iter().map(OsStr::to_os_string).collect())
        .unwrap_or_default();
    let mut pending: VecDeque<OsString> = target.iter().map(OsStr::to_os_string).collect();
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        if part == "." || part.is_empty() {
            continue;
        }
        if part == ".." {
            if resolved.pop().is_none() {
                return false;
            }
            continue;
        }
        resolved.push(part);
        let here: PathBuf = resolved.iter().collect();
        let abs = root.join(&here);
        if let Ok(meta) = fs::symlink_metadata(&abs)
            && meta.file_type().is_symlink()
        {
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return false;
            }
            let Ok(next) = fs::read_link(&abs) else {
                return false;
            };
            if next.is_absolute() {
                return false;
            }
            resolved.pop();
            for c in next.iter().rev() {
                pending.push_front(c.to_os_string());
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn entries(tar_path: &Path) -> Vec<(String, tar::EntryType, Vec<u8>)> {
        let mut archive = tar::Archive::new(File::open(tar_path).expect("open tar"));
        let mut out = Vec::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let kind = entry.header().entry_type();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("read");
            out.push((path, kind, data));
        }
        out
    }

    fn packed(outcome: PackOutcome) -> PackedContext {
        match outcome {
            PackOutcome::Packed(p) => p,
            other => panic!("expected a packed context, got {other:?}"),
        }
    }

    #[test]
    fn symlinks_out_of_the_submission_are_not_followed_nor_sent() {
        let outside = tempfile::tempdir().expect("tempdir");
        let marker = outside.path().join("secret.txt");
        fs::write(&marker, "MARKER-OUTSIDE").expect("write");
        let sub = tempfile::tempdir().expect("tempdir");
        let root = sub.path();
        fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        fs::create_dir(root.join("src")).expect("mkdir");
        fs::write(root.join("src/app.py"), "print(1)\n").expect("write");
        symlink(&marker, root.join("abs")).expect("symlink");
        symlink("/etc/shadow", root.join("shadow")).expect("symlink");
        let rel_target = pathdiff(&marker, root);
        symlink(&rel_target, root.join("rel")).expect("symlink");
        symlink(outside.path(), root.join("dirlink")).expect("symlink");
        symlink("..", root.join("up")).expect("symlink");
        symlink("src/../..", root.join("sneaky")).expect("symlink");
        // `self -> .` stays inside, but `self/../x` escapes through it.
        symlink(".", root.join("self")).expect("symlink");
        symlink("self/../escape", root.join("through-self")).expect("symlink");
        symlink("src/app.py", root.join("inside")).expect("symlink");
        symlink("src", root.join("inside-dir")).expect("symlink");
        symlink("nowhere", root.join("dangling")).expect("symlink");

        let scratch = tempfile::tempdir().expect("tempdir");
        let ctx = packed(pack_context(root, "Dockerfile", 1 << 20, scratch.path()).expect("pack"));
        let all = entries(&ctx.tar);
        let names: Vec<&str> = all.iter().map(|(p, _, _)| p.as_str()).collect();
        for (_, _, data) in &all {
            assert!(!String::from_utf8_lossy(data).contains("MARKER-OUTSIDE"));
        }
        let mut skipped: Vec<&str> = ctx.report.skipped.iter().map(|s| s.path.as_str()).collect();
        skipped.sort();
        assert_eq!(
            skipped,
            [
                "abs",
                "dirlink",
                "rel",
                "shadow",
                "sneaky",
                "through-self",
                "up"
            ]
        );
        for kept in [
            "inside",
            "inside-dir",
            "dangling",
            "self",
            "src/app.py",
            "Dockerfile",
        ] {
            assert!(names.contains(&kept), "{kept} missing from {names:?}");
        }
        let inside = all.iter().find(|(p, _, _)| p == "inside").expect("inside");
        assert_eq!(inside.1, tar::EntryType::Symlink);
    }

    fn pathdiff(target: &Path, from: &Path) -> PathBuf {
        let depth = from.components().count() - 1;
        let mut p = PathBuf::new();
        for _ in 0..depth {
            p.push("..");
        }
        p.join(target.strip_prefix("/").expect("absolute"))
    }

    #[test]
    fn dockerignore_is_honoured_and_the_dockerfile_always_sent() {
        let sub = tempfile::tempdir().expect("tempdir");
        let root = sub.path();
        fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        fs::write(root.join(".dockerignore"), "*\n!keep.txt\n").expect("write");
        fs::write(root.join("keep.txt"), "k").expect("write");
        fs::write(root.join("drop.txt"), "d").expect("write");
        fs::create_dir(root.join("target")).expect("mkdir");
        fs::write(root.join("target/big"), "x").expect("write");
        let scratch = tempfile::tempdir().expect("tempdir");
        let ctx = packed(pack_context(root, "Dockerfile", 1 << 20, scratch.path()).expect("pack"));
        let mut names: Vec<String> = entries(&ctx.tar).into_iter().map(|e| e.0).collect();
        names.sort();
        assert_eq!(names, [".dockerignore", "Dockerfile", "keep.txt"]);
    }

    /// `.dockerignore` that would exhaust assay: a link to `/dev/zero` (endless), a fifo
    /// (blocks), too large, too many patterns. Each is a reason for "did not build".
    #[test]
    fn hostile_dockerignore_files_are_refused_with_a_reason() {
        type Make = fn(&Path);
        let cases: [(&str, Make, &str); 5] = [
            (
                "a link to /dev/zero",
                |p| std::os::unix::fs::symlink("/dev/zero", p).expect("symlink"),
                "not a symlink",
            ),
            (
                "a link to a file inside",
                |p| std::os::unix::fs::symlink("Dockerfile", p).expect("symlink"),
                "not a symlink",
            ),
            (
                "a directory",
                |p| fs::create_dir(p).expect("mkdir"),
                "not a directory",
            ),
            (
                "over 1 MiB",
                |p| fs::write(p, vec![b'#'; 1024 * 1024 + 1]).expect("write"),
                "larger than 1 MiB",
            ),
            (
                "too many patterns",
                |p| fs::write(p, "x\n".repeat(10_001)).expect("write"),
                "more than 10000 patterns",
            ),
        ];
        for (what, make, reason) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path();
            fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
            make(&root.join(".dockerignore"));
            match pack_context(root, "Dockerfile", 1 << 20, root) {
                Err(SandboxError::Invalid(msg)) => {
                    assert!(msg.contains(reason), "{what}: {msg}");
                }
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn size_cap_and_missing_dockerfile_are_outcomes() {
        let sub = tempfile::tempdir().expect("tempdir");
        let root = sub.path();
        let scratch = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            pack_context(root, "Dockerfile", 1 << 20, scratch.path()).expect("pack"),
            PackOutcome::NoDockerfile { .. }
        ));
        fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        fs::write(root.join("blob"), vec![0u8; 64 * 1024]).expect("write");
        assert!(matches!(
            pack_context(root, "Dockerfile", 32 * 1024, scratch.path()).expect("pack"),
            PackOutcome::TooLarge { .. }
        ));
        assert!(pack_context(root, "../Dockerfile", 1 << 20, scratch.path()).is_err());
        // Nothing is left in the scratch directory.
        assert_eq!(fs::read_dir(scratch.path()).expect("ls").count(), 0);
    }

    #[test]
    fn hash_depends_on_content_not_timestamps() {
        let sub = tempfile::tempdir().expect("tempdir");
        let root = sub.path();
        let scratch = tempfile::tempdir().expect("tempdir");
        fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        let a = packed(pack_context(root, "Dockerfile", 1 << 20, scratch.path()).expect("pack"));
        let f = File::options()
            .write(true)
            .open(root.join("Dockerfile"))
            .expect("open");
        f.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
        )
        .expect("touch");
        let b = packed(pack_context(root, "Dockerfile", 1 << 20, scratch.path()).expect("pack"));
        assert_eq!(a.hash, b.hash);
        fs::write(root.join("Dockerfile"), "FROM scratch\nENV A=1\n").expect("write");
        let c = packed(pack_context(root, "Dockerfile", 1 << 20, scratch.path()).expect("pack"));
        assert_ne!(a.hash, c.hash);
    }
}
