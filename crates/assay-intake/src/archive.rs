//! Unpacking zip and tar archives by our own code, refusing anything that could escape the
//! target directory and counting the bytes actually written against the limits.

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::tree::{self, file_too_large, total_too_large};
use super::{ArchiveFormat, IntakeError, IntakeLimits};

/// Longest symlink target accepted (Linux's PATH_MAX).
const MAX_LINK_TARGET: u64 = 4096;
/// Longest entry path accepted, in bytes, and deepest nesting.
const MAX_PATH_BYTES: usize = 4096;
const MAX_PATH_DEPTH: usize = 256;
/// Bytes of tar headers, long names and padding allowed per entry on top of file contents.
const TAR_OVERHEAD_PER_ENTRY: u64 = 8 * 1024;
/// Bytes of headers (ustar, GNU long names and link names, pax records) read for one entry:
/// the tar reader keeps them in memory, so each entry's are capped, not only the stream.
const TAR_HEADER_BYTES_PER_ENTRY: u64 = 64 * 1024;

/// Recognises an archive by its first bytes, falling back on the extension for old tarballs.
pub(crate) fn detect(path: &Path) -> Result<ArchiveFormat, IntakeError> {
    let mut head = Vec::with_capacity(512);
    File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|source| IntakeError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Ok(ArchiveFormat::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(ArchiveFormat::TarGz);
    }
    if head.get(257..262) == Some(b"ustar") {
        return Ok(ArchiveFormat::Tar);
    }
    let lower = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if lower.ends_with(".tar") && !head.is_empty() {
        return Ok(ArchiveFormat::Tar);
    }
    Err(IntakeError::UnsupportedFormat {
        path: path.to_owned(),
    })
}

/// The archive's file name without its archive extension: `candidate.tar.gz` → `candidate`.
pub(crate) fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    for ext in [".tar.gz", ".tgz", ".zip", ".tar"] {
        if lower.ends_with(ext) && name.len() > ext.len() {
            return name[..name.len() - ext.len()].to_owned();
        }
    }
    if name.is_empty() {
        "submission".to_owned()
    } else {
        name
    }
}

/// Unpacks `archive` into the empty directory `dest` and returns the submission's root:
/// `dest`, or its single top-level folder.
pub(crate) fn unpack(
    archive: &Path,
    format: ArchiveFormat,
    dest: &Path,
    limits: &IntakeLimits,
) -> Result<PathBuf, IntakeError> {
    let file = File::open(archive).map_err(|source| IntakeError::Unreadable {
        path: archive.to_owned(),
        source,
    })?;
    let mut x = Extractor::new(archive, dest, limits);
    match format {
        ArchiveFormat::Zip => unpack_zip(file, &mut x)?,
        ArchiveFormat::Tar => unpack_tar(BufReader::new(file), &mut x)?,
        ArchiveFormat::TarGz => unpack_tar(
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
            &mut x,
        )?,
    }
    x.finish()
}

fn unpack_zip(mut file: File, x: &mut Extractor<'_>) -> Result<(), IntakeError> {
    // Count the central directory's entries before the zip crate parses (and allocates) them.
    if let Some(declared) = zip_declared_entries(&mut file)
        && declared > x.limits.max_entries
    {
        return Err(x.too_many_entries("(zip central directory)"));
    }
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| x.corrupt(&e))?;
    if zip.len() as u64 > x.limits.max_entries {
        return Err(x.too_many_entries("(zip central directory)"));
    }
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| x.corrupt(&e))?;
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        };
        x.count(&name)?;
        if entry.encrypted() {
            return Err(x.corrupt(&format!("the entry `{name}` is encrypted")));
        }
        let Some(rel) = entry_path(name.as_bytes(), true).map_err(|r| x.refuse(&name, r))? else {
            continue;
        };
        let mode = entry.unix_mode();
        let file_type = mode.map(|m| m & S_IFMT);
        if entry.is_dir() || file_type == Some(S_IFDIR) {
            x.dir(&rel, &name)?;
        } else if file_type == Some(S_IFLNK) {
            let mut target = Vec::new();
            (&mut entry)
                .take(MAX_LINK_TARGET + 1)
                .read_to_end(&mut target)
                .map_err(|e| x.corrupt(&format!("entry `{name}`: {e}")))?;
            x.symlink(&rel, target, &name)?;
        } else if let Some(what) = file_type.and_then(special_mode) {
            return Err(x.refuse(&name, special_reason(what)));
        } else {
            let executable = mode.is_some_and(|m| m & 0o111 != 0);
            let declared = entry.size();
            x.file(&rel, &name, executable, Some(declared), &mut entry)?;
        }
    }
    Ok(())
}

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFREG: u32 = 0o100_000;

fn special_mode(file_type: u32) -> Option<&'static str> {
    match file_type {
        0o010_000 => Some("a fifo (named pipe)"),
        0o020_000 | 0o060_000 => Some("a device file"),
        0o140_000 => Some("a socket"),
        0 | S_IFREG => None,
        _ => Some("an entry of unknown type"),
    }
}

fn size_lie(declared: Option<u64>) -> String {
    format!(
        "it unpacks to more than the {} bytes its header declares (a zip bomb); re-create the archive with zip or tar",
        declared.unwrap_or_default()
    )
}

fn special_reason(what: &str) -> String {
    format!(
        "{what} cannot be part of a submission; remove it and re-create the archive with regular files only"
    )
}

/// The entry count a zip's end-of-central-directory record declares (zip64 aware), read
/// from the last 64 KiB of the file; None when no record is found (the zip crate decides).
fn zip_declared_entries(file: &mut File) -> Option<u64> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
    const ZIP64_EOCD: &[u8] = b"PK\x06\x06";
    let len = file.metadata().ok()?.len();
    let tail_len = len.min(22 + 65_535 + 20);
    file.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = Vec::new();
    (&mut *file).take(tail_len).read_to_end(&mut tail).ok()?;
    let pos = tail.windows(4).rposition(|w| w == EOCD)?;
    let record = tail.get(pos..pos + 22)?;
    let entries = u64::from(u16::from_le_bytes([record[10], record[11]]));
    if entries != 0xFFFF {
        return Some(entries);
    }
    let locator = tail.get(pos.checked_sub(20)?..pos)?;
    if &locator[..4] != ZIP64_LOCATOR {
        return Some(entries);
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&locator[8..16]);
    file.seek(SeekFrom::Start(u64::from_le_bytes(offset)))
        .ok()?;
    let mut record = [0u8; 56];
    file.read_exact(&mut record).ok()?;
    if &record[..4] != ZIP64_EOCD {
        return Some(entries);
    }
    let mut total = [0u8; 8];
    total.copy_from_slice(&record[32..40]);
    Some(u64::from_le_bytes(total))
}

fn unpack_tar<R: Read>(reader: R, x: &mut Extractor<'_>) -> Result<(), IntakeError> {
    // tar reads long names and pax headers into memory: cap the whole decompressed stream.
    let cap = x.limits.max_total_bytes.saturating_add(
        x.limits
            .max_entries
            .saturating_add(1)
            .saturating_mul(TAR_OVERHEAD_PER_ENTRY),
    );
    let tripped = Rc::new(Cell::new(Tripped::No));
    x.stream_tripped = Some(Rc::clone(&tripped));
    // What the next read may take: an entry's headers, then (set below) a file's contents.
    let budget = Rc::new(Cell::new(TAR_HEADER_BYTES_PER_ENTRY));
    let capped = CappedReader {
        inner: reader,
        left: cap,
        entry_left: Rc::clone(&budget),
        tripped,
    };
    let headers_next = || budget.set(TAR_HEADER_BYTES_PER_ENTRY);
    let mut archive = tar::Archive::new(capped);
    let entries = archive.entries().map_err(|e| x.corrupt(&e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| x.corrupt(&e))?;
        // The contents (and padding) of this entry; the file's own limit is checked on write.
        budget.set(x.limits.max_file_bytes.saturating_add(1024));
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        x.count(&name)?;
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            headers_next();
            continue;
        }
        let Some(rel) = entry_path(&raw, false).map_err(|r| x.refuse(&name, r))? else {
            headers_next();
            continue;
        };
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                let declared = entry.size();
                x.file(&rel, &name, executable, Some(declared), &mut entry)?;
            }
            tar::EntryType::Directory => x.dir(&rel, &name)?,
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                x.symlink(&rel, target, &name)?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                return Err(x.refuse(
                    &name,
                    format!(
                        "a hard link (to `{target}`) is not accepted; re-create the archive with `tar --hard-dereference` or as a zip"
                    ),
                ));
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(x.refuse(&name, special_reason("a device file")));
            }
            tar::EntryType::Fifo => {
                return Err(x.refuse(&name, special_reason("a fifo (named pipe)")));
            }
            other => {
                return Err(x.refuse(
                    &name,
                    special_reason(&format!(
                        "a tar entry of type {:?}",
                        other.as_byte() as char
                    )),
                ));
            }
        }
        headers_next();
    }
    Ok(())
}

/// Which cap a [`CappedReader`] hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tripped {
    No,
    /// The whole stream.
    Total,
    /// One entry's headers.
    Entry,
}

/// A reader that fails once more than `left` bytes in all, or `entry_left` for the current
/// entry, were read, and says which in `tripped`.
struct CappedReader<R> {
    inner: R,
    left: u64,
    entry_left: Rc<Cell<u64>>,
    tripped: Rc<Cell<Tripped>>,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let entry_left = self.entry_left.get();
        if self.left == 0 || entry_left == 0 {
            // Only an error if there is more to read.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    let which = if self.left == 0 {
                        Tripped::Total
                    } else {
                        Tripped::Entry
                    };
                    self.tripped.set(which);
                    Err(io::Error::other(
                        "the archive is larger than the limits allow",
                    ))
                }
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left.min(entry_left)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        self.entry_left.set(entry_left - n as u64);
        Ok(n)
    }
}

/// Turns an archive entry's name into a safe relative path: Ok(None) for entries to skip
/// (the archive's own `./`, macOS `__MACOSX/` metadata), Err with the reason to refuse.
fn entry_path(raw: &[u8], backslash_separates: bool) -> Result<Option<PathBuf>, String> {
    const REDO: &str = "re-create the archive from inside the project folder (for example `zip -r ../submission.zip .`)";
    if raw.contains(&0) {
        return Err(format!("a path with a NUL byte is not accepted; {REDO}"));
    }
    if raw.len() > MAX_PATH_BYTES || raw.iter().filter(|&&b| b == b'/').count() >= MAX_PATH_DEPTH {
        return Err(format!(
            "a path longer than {MAX_PATH_BYTES} bytes or deeper than {MAX_PATH_DEPTH} folders is not accepted; {REDO}"
        ));
    }
    let normalised: Vec<u8> = if backslash_separates {
        raw.iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect()
    } else {
        raw.to_vec()
    };
    if normalised.starts_with(b"/") {
        return Err(format!(
            "an absolute path would write outside the submission folder; {REDO}"
        ));
    }
    let mut out = PathBuf::new();
    for (i, part) in normalised.split(|&b| b == b'/').enumerate() {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(format!(
                    "a `..` component would write outside the submission folder; {REDO}"
                ));
            }
            _ => {
                if i == 0 && part.len() == 2 && part[1] == b':' && part[0].is_ascii_alphabetic() {
                    return Err(format!(
                        "a Windows drive path would write outside the submission folder; {REDO}"
                    ));
                }
                out.push(OsStr::from_bytes(part));
            }
        }
    }
    match out.components().next() {
        None => Ok(None),
        Some(Component::Normal(first)) if first == "__MACOSX" => Ok(None),
        Some(_) => Ok(Some(out)),
    }
}

/// Writes entries under `dest`; symlinks are only created at the end, so no write can pass
/// through one.
struct Extractor<'a> {
    archive: &'a Path,
    dest: &'a Path,
    limits: &'a IntakeLimits,
    entries: u64,
    total: u64,
    links: Vec<(PathBuf, Vec<u8>, String)>,
    stream_tripped: Option<Rc<Cell<Tripped>>>,
}

impl<'a> Extractor<'a> {
    fn new(archive: &'a Path, dest: &'a Path, limits: &'a IntakeLimits) -> Self {
        Self {
            archive,
            dest,
            limits,
            entries: 0,
            total: 0,
            links: Vec::new(),
            stream_tripped: None,
        }
    }

    fn refuse(&self, entry: &str, reason: impl Into<String>) -> IntakeError {
        IntakeError::refused(entry, reason)
    }

    fn too_many_entries(&self, entry: &str) -> IntakeError {
        self.refuse(
            entry,
            format!(
                "the archive has more than {} entries; remove build outputs and dependency folders (node_modules, target, vendor, …) and re-create it (graders: --max-entries raises the limit)",
                self.limits.max_entries
            ),
        )
    }

    /// A read error: the archive is damaged, unless it is our stream cap speaking.
    fn corrupt(&self, detail: &dyn std::fmt::Display) -> IntakeError {
        match self.stream_tripped.as_ref().map(|t| t.get()) {
            Some(Tripped::Total) => {
                return self.refuse("(archive)", total_too_large(self.limits.max_total_bytes));
            }
            Some(Tripped::Entry) => {
                return self.refuse(
                    "(archive)",
                    format!(
                        "an entry's tar headers (long names, pax records) take more than {}; re-create the archive with shorter names, or as a zip",
                        assay_model::ByteSize(TAR_HEADER_BYTES_PER_ENTRY)
                    ),
                );
            }
            Some(Tripped::No) | None => {}
        }
        IntakeError::Corrupt {
            path: self.archive.to_owned(),
            detail: detail.to_string(),
        }
    }

    fn count(&mut self, entry: &str) -> Result<(), IntakeError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(self.too_many_entries(entry));
        }
        Ok(())
    }

    /// Creates `rel` and its parents as real directories, refusing to pass through anything
    /// else.
    fn ensure_dir(&self, rel: &Path, entry: &str) -> Result<(), IntakeError> {
        let mut path = self.dest.to_owned();
        for component in rel.components() {
            path.push(component);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(self.refuse(
                        entry,
                        "its folder clashes with a file or link of the same name in the archive; re-create the archive from a clean copy of the project",
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    DirBuilder::new()
                        .mode(0o755)
                        .create(&path)
                        .map_err(|e| IntakeError::io("create the folder", &path, e))?;
                }
                Err(e) => return Err(IntakeError::io("inspect", &path, e)),
            }
        }
        Ok(())
    }

    fn dir(&mut self, rel: &Path, entry: &str) -> Result<(), IntakeError> {
        self.ensure_dir(rel, entry)
    }

    fn file(
        &mut self,
        rel: &Path,
        entry: &str,
        executable: bool,
        declared: Option<u64>,
        reader: &mut dyn Read,
    ) -> Result<(), IntakeError> {
        if declared.is_some_and(|d| d > self.limits.max_file_bytes) {
            return Err(self.refuse(entry, file_too_large(self.limits.max_file_bytes)));
        }
        if let Some(parent) = rel.parent() {
            self.ensure_dir(parent, entry)?;
        }
        let path = self.dest.join(rel);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o755 } else { 0o644 })
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    self.refuse(
                        entry,
                        "it appears twice in the archive (or clashes with a folder of the same name); re-create the archive from a clean copy of the project",
                    )
                } else {
                    IntakeError::io("create the file", &path, e)
                }
            })?;
        let mut written = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The zip crate stops an entry that inflates past its declared size.
                Err(e) if declared.is_some() && e.to_string().contains("declared") => {
                    return Err(self.refuse(entry, size_lie(declared)));
                }
                Err(e) => return Err(self.corrupt(&format!("entry `{entry}`: {e}"))),
            };
            // Count what the stream really yields: headers may lie about sizes.
            written += n as u64;
            self.total += n as u64;
            if declared.is_some_and(|d| written > d) {
                return Err(self.refuse(entry, size_lie(declared)));
            }
            if written > self.limits.max_file_bytes {
                return Err(self.refuse(entry, file_too_large(self.limits.max_file_bytes)));
            }
            if self.total > self.limits.max_total_bytes {
                return Err(self.refuse(entry, total_too_large(self.limits.max_total_bytes)));
            }
            out.write_all(&buf[..n])
                .map_err(|e| IntakeError::io("write", &path, e))?;
        }
        Ok(())
    }

    /// Checks a link's target as written and defers creating it to [`Extractor::finish`].
    fn symlink(&mut self, rel: &Path, target: Vec<u8>, entry: &str) -> Result<(), IntakeError> {
        const LEAVES: &str = "a symlink pointing outside the submission is not accepted; replace it with the file itself or a link inside the project";
        if target.is_empty() || target.contains(&0) || target.len() as u64 > MAX_LINK_TARGET {
            return Err(self.refuse(
                entry,
                "a symlink with an empty, overlong or malformed target is not accepted; replace it with the file itself",
            ));
        }
        let shown = String::from_utf8_lossy(&target).into_owned();
        if target.starts_with(b"/") {
            return Err(self.refuse(entry, format!("{LEAVES} (it points to `{shown}`)")));
        }
        // As written: `..` may not climb above the archive's root.
        let mut depth = rel.components().count() as i64 - 1;
        for part in target.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(
                            self.refuse(entry, format!("{LEAVES} (it points to `{shown}`)"))
                        );
                    }
                }
                _ => depth += 1,
            }
        }
        self.links.push((rel.to_owned(), target, entry.to_owned()));
        Ok(())
    }

    /// Creates the deferred symlinks, picks the root (unwrapping a single top-level folder)
    /// and checks that every link, followed inside the tree, stays inside that root.
    fn finish(self) -> Result<PathBuf, IntakeError> {
        for (rel, target, entry) in &self.links {
            if let Some(parent) = rel.parent() {
                self.ensure_dir(parent, entry)?;
            }
            let path = self.dest.join(rel);
            std::os::unix::fs::symlink(OsStr::from_bytes(target), &path).map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    self.refuse(
                        entry,
                        "it appears twice in the archive (or clashes with a file or folder of the same name); re-create the archive from a clean copy of the project",
                    )
                } else {
                    IntakeError::io("create the symlink", &path, e)
                }
            })?;
        }
        let root = tree::unwrap_single_dir(self.dest)?;
        for (rel, target, entry) in &self.links {
            let link = self.dest.join(rel);
            let Ok(inside) = link.strip_prefix(&root) else {
                continue;
            };
            tree::resolve_inside(&root, inside).map_err(|why| {
                self.refuse(
                    entry,
                    format!(
                        "a symlink pointing outside the submission is not accepted ({why}: `{}`); replace it with the file itself or a link inside the project",
                        String::from_utf8_lossy(target)
                    ),
                )
            })?;
        }
        tracing::debug!(
            entries = self.entries,
            bytes = self.total,
            links = self.links.len(),
            "archive unpacked"
        );
        Ok(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_are_relative_and_never_climb() {
        assert_eq!(
            entry_path(b"./a/b.txt", false),
            Ok(Some(PathBuf::from("a/b.txt")))
        );
        assert_eq!(entry_path(b"./", false), Ok(None));
        assert_eq!(entry_path(b"__MACOSX/._a", false), Ok(None));
        assert!(entry_path(b"../evil", false).is_err());
        assert!(entry_path(b"a/../../evil", false).is_err());
        assert!(entry_path(b"/abs/evil", false).is_err());
        assert!(entry_path(b"..\\evil", true).is_err());
        assert!(entry_path(b"C:\\evil", true).is_err());
        assert_eq!(entry_path(b"a\\b", false), Ok(Some(PathBuf::from("a\\b"))));
        assert!(entry_path(&[b'a'; 5000], false).is_err());
        assert!(entry_path("a/".repeat(300).as_bytes(), false).is_err());
    }

    #[test]
    fn stems_drop_archive_extensions() {
        assert_eq!(stem(Path::new("/x/candidate.tar.gz")), "candidate");
        assert_eq!(stem(Path::new("cand.TGZ")), "cand");
        assert_eq!(stem(Path::new("repo.zip")), "repo");
        assert_eq!(stem(Path::new("plain")), "plain");
    }
}
