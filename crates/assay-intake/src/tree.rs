//! Walking, hashing and reading a submission's tree without ever following a symlink in it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{IntakeError, IntakeLimits};

/// Symlink hops followed (inside the tree, to check where a link lands) before giving up.
const MAX_LINK_HOPS: usize = 40;

/// What one path of the tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Dir,
    File {
        executable: bool,
        size: u64,
    },
    Symlink {
        target: Vec<u8>,
    },
    /// A fifo, socket or device: never opened.
    Special(&'static str),
}

/// One path of the tree, relative to the root with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub rel: Vec<u8>,
    pub kind: NodeKind,
}

impl Node {
    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.rel).into_owned()
    }
}

/// A walk of the tree, sorted by path; `truncated_at` names the first path over the cap.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub nodes: Vec<Node>,
    pub truncated_at: Option<String>,
}

/// True when `path` is a directory itself, not a symlink to one.
pub(crate) fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Lists `root` (the root's `.git` excluded) without following symlinks, stopping after
/// `max_entries` paths. With `lenient`, unreadable folders are skipped instead of failing.
pub(crate) fn walk(root: &Path, max_entries: u64, lenient: bool) -> Result<Walk, IntakeError> {
    let mut out = Walk::default();
    let mut pending: Vec<Vec<u8>> = vec![Vec::new()];
    'dirs: while let Some(dir_rel) = pending.pop() {
        let dir = join_rel(root, &dir_rel);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if lenient => {
                tracing::warn!(dir = %dir.display(), error = %e, "skipping an unreadable folder");
                continue;
            }
            Err(source) => {
                return Err(IntakeError::Unreadable { path: dir, source });
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if lenient => {
                    tracing::warn!(dir = %dir.display(), error = %e, "skipping an unreadable entry");
                    continue;
                }
                Err(source) => return Err(IntakeError::Unreadable { path: dir, source }),
            };
            let name = entry.file_name();
            if dir_rel.is_empty() && name == ".git" {
                continue;
            }
            let mut rel = dir_rel.clone();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.as_bytes());
            if out.nodes.len() as u64 >= max_entries {
                out.truncated_at = Some(String::from_utf8_lossy(&rel).into_owned());
                break 'dirs;
            }
            let path = entry.path();
            // `symlink_metadata` never follows the last component.
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(e) if lenient => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable entry");
                    continue;
                }
                Err(source) => return Err(IntakeError::Unreadable { path, source }),
            };
            let file_type = meta.file_type();
            let kind = if file_type.is_symlink() {
                match fs::read_link(&path) {
                    Ok(target) => NodeKind::Symlink {
                        target: target.into_os_string().into_vec(),
                    },
                    Err(e) if lenient => {
                        tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable link");
                        continue;
                    }
                    Err(source) => return Err(IntakeError::Unreadable { path, source }),
                }
            } else if file_type.is_dir() {
                pending.push(rel.clone());
                NodeKind::Dir
            } else if file_type.is_file() {
                NodeKind::File {
                    executable: meta.permissions().mode() & 0o111 != 0,
                    size: meta.len(),
                }
            } else {
                NodeKind::Special(special_kind(&file_type))
            };
            out.nodes.push(Node { rel, kind });
        }
    }
    out.nodes.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

fn special_kind(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a fifo (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device file"
    } else {
        "a special file"
    }
}

fn join_rel(root: &Path, rel: &[u8]) -> PathBuf {
    if rel.is_empty() {
        root.to_owned()
    } else {
        root.join(Path::new(std::ffi::OsStr::from_bytes(rel)))
    }
}

/// The content digest of the tree at `root`: `sha256:` over, for each path in byte order, its
/// git-style mode (`100644`, `100755`, `120000`), the path, and the SHA-256 of its contents
/// (a symlink's target text, never what it points to). Folders and `.git/` do not count.
pub(crate) fn digest(root: &Path, limits: &IntakeLimits) -> Result<String, IntakeError> {
    let walk = walk(root, limits.max_entries, false)?;
    if let Some(entry) = walk.truncated_at {
        return Err(IntakeError::refused(
            entry,
            format!(
                "the submission has more than {} files, folders and links; remove build outputs and dependency folders (node_modules, target, vendor, …) and submit again (graders: --max-entries raises the limit)",
                limits.max_entries
            ),
        ));
    }
    let mut hasher = Sha256::new();
    hasher.update(b"assay-tree-v1\0");
    let mut total = 0u64;
    for node in &walk.nodes {
        let (mode, content_hash): (&[u8], [u8; 32]) = match &node.kind {
            NodeKind::Dir => continue,
            NodeKind::Special(what) => {
                return Err(IntakeError::refused(
                    node.display(),
                    format!("{what} cannot be part of a submission; remove it and submit again"),
                ));
            }
            NodeKind::Symlink { target } => (b"120000", Sha256::digest(target).into()),
            NodeKind::File { executable, .. } => {
                let mode: &[u8] = if *executable { b"100755" } else { b"100644" };
                (mode, hash_file(root, node, limits, &mut total)?)
            }
        };
        hasher.update(mode);
        hasher.update(b" ");
        hasher.update(&node.rel);
        hasher.update(b"\0");
        hasher.update(content_hash);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

fn hash_file(
    root: &Path,
    node: &Node,
    limits: &IntakeLimits,
    total: &mut u64,
) -> Result<[u8; 32], IntakeError> {
    let path = join_rel(root, &node.rel);
    let mut file = open_nofollow(&path).map_err(|source| IntakeError::Unreadable {
        path: path.clone(),
        source,
    })?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(IntakeError::Unreadable { path, source }),
        };
        size += n as u64;
        *total += n as u64;
        if size > limits.max_file_bytes {
            return Err(IntakeError::refused(
                node.display(),
                file_too_large(limits.max_file_bytes),
            ));
        }
        if *total > limits.max_total_bytes {
            return Err(IntakeError::refused(
                node.display(),
                total_too_large(limits.max_total_bytes),
            ));
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

pub(crate) fn file_too_large(max: u64) -> String {
    format!(
        "a file larger than {} is not accepted; remove large data files and build outputs and submit again (graders: --max-file-size raises the limit)",
        assay_model::ByteSize(max)
    )
}

pub(crate) fn total_too_large(max: u64) -> String {
    format!(
        "the submission unpacks to more than {}; remove large data files, build outputs and dependency folders and submit again (graders: --max-unpacked raises the limit)",
        assay_model::ByteSize(max)
    )
}

/// Opens a regular file for reading without following a symlink at `path` and without
/// blocking on a fifo; anything but a regular file is an error.
pub(crate) fn open_nofollow(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Up to `cap` bytes of the regular file `relative` (`/`-separated) under `root`; None when
/// the path leaves the root, passes through a symlink, or is not a regular file.
pub(crate) fn read_capped(root: &Path, relative: &str, cap: usize) -> Option<Vec<u8>> {
    let mut path = root.to_owned();
    let mut parts = relative.split('/').filter(|p| !p.is_empty()).peekable();
    parts.peek()?;
    while let Some(part) = parts.next() {
        if part == "." || part == ".." || part.contains('\0') {
            return None;
        }
        path.push(part);
        if parts.peek().is_some() && !is_real_dir(&path) {
            return None;
        }
    }
    let file = open_nofollow(&path).ok()?;
    let mut out = Vec::new();
    file.take(cap as u64).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Checks that the symlink at `link` (relative to `root`) resolves inside `root`, following
/// links inside the tree, never outside. `Err` says why not.
pub(crate) fn resolve_inside(root: &Path, link: &Path) -> Result<(), String> {
    let mut stack: Vec<OsString> = Vec::new();
    let mut pending: VecDeque<OsString> = VecDeque::new();
    for component in link.components() {
        match component {
            Component::Normal(c) => pending.push_back(c.to_owned()),
            Component::CurDir => {}
            _ => return Err("the link's own path is not relative".to_owned()),
        }
    }
    let mut hops = 0usize;
    while let Some(part) = pending.pop_front() {
        if part == "." {
            continue;
        }
        if part == ".." {
            if stack.pop().is_none() {
                return Err("it points outside the submission".to_owned());
            }
            continue;
        }
        stack.push(part);
        let here: PathBuf = stack.iter().collect();
        let Ok(meta) = fs::symlink_metadata(root.join(&here)) else {
            // Absent: nothing more to follow; the remaining parts are checked as written.
            continue;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        hops += 1;
        if hops > MAX_LINK_HOPS {
            return Err("its links loop or chain too deep".to_owned());
        }
        let target = fs::read_link(root.join(&here))
            .map_err(|e| format!("its target cannot be read ({e})"))?;
        stack.pop();
        let mut parts = Vec::new();
        for component in target.components() {
            match component {
                Component::Normal(c) => parts.push(c.to_owned()),
                Component::CurDir => {}
                Component::ParentDir => parts.push(OsString::from("..")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!(
                        "it points to the absolute path `{}`, outside the submission",
                        target.display()
                    ));
                }
            }
        }
        for part in parts.into_iter().rev() {
            pending.push_front(part);
        }
    }
    Ok(())
}

/// The directory to treat as the submission's root: `dir` itself, or its single top-level
/// folder when that is all it holds (`candidate-repo/…` inside an archive).
pub(crate) fn unwrap_single_dir(dir: &Path) -> Result<PathBuf, IntakeError> {
    let mut entries = fs::read_dir(dir)
        .map_err(|e| IntakeError::io("list the unpacked archive in", dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| IntakeError::io("list the unpacked archive in", dir, e))?;
    if entries.len() == 1 {
        let only = entries.remove(0).path();
        if is_real_dir(&only) {
            tracing::debug!(folder = %only.display(), "unwrapping the archive's single top-level folder");
            return Ok(only);
        }
    }
    Ok(dir.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_inside_follows_links_within_the_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir(root.join("a")).expect("mkdir");
        std::os::unix::fs::symlink("..", root.join("a/up")).expect("symlink");
        std::os::unix::fs::symlink("a/up/..", root.join("escape")).expect("symlink");
        std::os::unix::fs::symlink("a/up/a", root.join("fine")).expect("symlink");
        std::os::unix::fs::symlink("loop", root.join("loop")).expect("symlink");
        assert_eq!(resolve_inside(root, Path::new("a/up")), Ok(()));
        assert_eq!(resolve_inside(root, Path::new("fine")), Ok(()));
        assert!(resolve_inside(root, Path::new("escape")).is_err());
        assert!(resolve_inside(root, Path::new("loop")).is_err());
    }

    #[test]
    fn read_capped_refuses_dot_dot_and_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir(root.join("sub")).expect("mkdir");
        fs::write(root.join("sub/f.txt"), b"hello world").expect("write");
        std::os::unix::fs::symlink("sub", root.join("link")).expect("symlink");
        std::os::unix::fs::symlink("sub/f.txt", root.join("flink")).expect("symlink");
        assert_eq!(read_capped(root, "sub/f.txt", 5), Some(b"hello".to_vec()));
        assert_eq!(read_capped(root, "link/f.txt", 5), None);
        assert_eq!(read_capped(root, "flink", 5), None);
        assert_eq!(read_capped(root, "sub/../sub/f.txt", 5), None);
        assert_eq!(read_capped(root, "", 5), None);
    }
}
