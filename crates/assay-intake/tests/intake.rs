//! Submission intake: hostile archives are refused, digests are stable, and a hostile git
//! repository's history is read without running anything from it.

use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use assay_intake::{
    ArchiveFormat, InspectLimits, IntakeError, IntakeLimits, NoHistory, Submission, SubmissionKind,
    inspect,
};
use tempfile::TempDir;

/// One archive entry, written the same way (as far as the format allows) into every format.
#[derive(Debug, Clone, Copy)]
enum E<'a> {
    File(&'a str, &'a [u8]),
    Exec(&'a str, &'a [u8]),
    Dir(&'a str),
    Link(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Fifo(&'a str),
    Device(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fmt {
    Zip,
    Tar,
    TarGz,
}

const ALL: [Fmt; 3] = [Fmt::Zip, Fmt::Tar, Fmt::TarGz];

impl Fmt {
    fn ext(self) -> &'static str {
        match self {
            Fmt::Zip => "zip",
            Fmt::Tar => "tar",
            Fmt::TarGz => "tar.gz",
        }
    }
}

fn zip_bytes(entries: &[E<'_>]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for entry in entries {
        match *entry {
            E::File(name, data) | E::Exec(name, data) => {
                let mode = if matches!(entry, E::Exec(..)) {
                    0o755
                } else {
                    0o644
                };
                w.start_file(name, opts.unix_permissions(mode))
                    .expect("zip start_file");
                w.write_all(data).expect("zip write");
            }
            E::Dir(name) => w.add_directory(name, opts).expect("zip dir"),
            E::Link(name, target) => w.add_symlink(name, target, opts).expect("zip symlink"),
            E::Fifo(name) | E::Device(name) => {
                let kind = if matches!(entry, E::Fifo(_)) {
                    0o010_644u32
                } else {
                    0o020_644u32
                };
                w.start_file(name, opts.external_attributes(kind << 16))
                    .expect("zip special");
            }
            E::Hard(..) => panic!("zip has no hard links"),
        }
    }
    w.finish().expect("zip finish").into_inner()
}

/// Tar headers written by hand, so hostile names are not sanitised by the tar crate.
fn tar_bytes(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut h = tar::Header::new_gnu();
        let (name, kind, data, link, mode): (&str, tar::EntryType, &[u8], &str, u32) = match *entry
        {
            E::File(n, d) => (n, tar::EntryType::Regular, d, "", 0o644),
            E::Exec(n, d) => (n, tar::EntryType::Regular, d, "", 0o755),
            E::Dir(n) => (n, tar::EntryType::Directory, b"", "", 0o755),
            E::Link(n, t) => (n, tar::EntryType::Symlink, b"", t, 0o777),
            E::Hard(n, t) => (n, tar::EntryType::Link, b"", t, 0o644),
            E::Fifo(n) => (n, tar::EntryType::Fifo, b"", "", 0o644),
            E::Device(n) => (n, tar::EntryType::Char, b"", "", 0o644),
        };
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, data).expect("tar append");
    }
    b.into_inner().expect("tar finish")
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip finish")
}

fn archive_bytes(fmt: Fmt, entries: &[E<'_>]) -> Vec<u8> {
    match fmt {
        Fmt::Zip => zip_bytes(entries),
        Fmt::Tar => tar_bytes(entries),
        Fmt::TarGz => gz(&tar_bytes(entries)),
    }
}

/// A scratch area: `archives/` for inputs, `work/` as the run's temp space.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn work(&self) -> PathBuf {
        self.path().join("work")
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let dir = self.path().join("archives");
        fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join(name);
        fs::write(&path, bytes).expect("write archive");
        path
    }
    fn open(&self, path: &Path, limits: &IntakeLimits) -> Result<Submission, IntakeError> {
        Submission::open(path, limits, &self.work())
    }
    fn open_archive(
        &self,
        fmt: Fmt,
        entries: &[E<'_>],
        limits: &IntakeLimits,
    ) -> Result<Submission, IntakeError> {
        let path = self.write(
            &format!("candidate.{}", fmt.ext()),
            &archive_bytes(fmt, entries),
        );
        self.open(&path, limits)
    }
    /// Nothing is left under `work/` (a refused archive's files are removed).
    fn assert_work_empty(&self) {
        let work = self.work();
        if work.exists() {
            let left: Vec<_> = fs::read_dir(&work).expect("read work").collect();
            assert!(left.is_empty(), "left behind in work/: {left:?}");
        }
    }
}

#[track_caller]
fn assert_refused(result: Result<Submission, IntakeError>, entry: &str, reason_has: &str) {
    match result {
        Err(IntakeError::Refused { entry: e, reason }) => {
            assert_eq!(e, entry, "refused entry (reason: {reason})");
            assert!(
                reason.contains(reason_has),
                "reason `{reason}` lacks `{reason_has}`"
            );
            let shown = IntakeError::Refused {
                entry: e,
                reason: reason.clone(),
            }
            .to_string();
            assert!(shown.contains(entry), "message names the entry: {shown}");
        }
        other => panic!("expected a refusal of `{entry}`, got {other:?}"),
    }
}

#[test]
fn dot_dot_entries_are_refused_in_every_format() {
    for fmt in ALL {
        let s = Scratch::new();
        let result = s.open_archive(
            fmt,
            &[E::File("ok.txt", b"fine"), E::File("../evil", b"pwned")],
            &IntakeLimits::default(),
        );
        assert_refused(result, "../evil", "`..`");
        assert!(!s.path().join("evil").exists(), "{fmt:?} wrote outside");
        assert!(
            !s.path().join("archives/evil").exists(),
            "{fmt:?} wrote outside"
        );
        s.assert_work_empty();
    }
}

#[test]
fn absolute_entries_are_refused_in_every_format() {
    for fmt in ALL {
        let s = Scratch::new();
        let target = s.path().join("abs-evil");
        let name = target.to_string_lossy().into_owned();
        let result = s.open_archive(fmt, &[E::File(&name, b"pwned")], &IntakeLimits::default());
        assert_refused(result, &name, "absolute path");
        assert!(!target.exists(), "{fmt:?} wrote to an absolute path");
        s.assert_work_empty();
    }
}

#[test]
fn symlinks_out_of_the_tree_are_refused_in_every_format() {
    for fmt in ALL {
        let s = Scratch::new();
        let result = s.open_archive(
            fmt,
            &[
                E::File("README.md", b"hi"),
                E::Link("passwd", "/etc/passwd"),
            ],
            &IntakeLimits::default(),
        );
        assert_refused(result, "passwd", "outside the submission");

        let s = Scratch::new();
        let result = s.open_archive(
            fmt,
            &[E::Dir("sub"), E::Link("sub/x", "../../x")],
            &IntakeLimits::default(),
        );
        assert_refused(result, "sub/x", "outside the submission");

        // Each link alone stays inside; followed together they climb out.
        let s = Scratch::new();
        let result = s.open_archive(
            fmt,
            &[
                E::Dir("a"),
                E::Link("a/up", ".."),
                E::Link("esc", "a/up/.."),
            ],
            &IntakeLimits::default(),
        );
        assert_refused(result, "esc", "outside the submission");
        s.assert_work_empty();
    }
}

#[test]
fn writing_through_a_symlink_is_refused() {
    for fmt in ALL {
        let s = Scratch::new();
        let outside = s.path().join("outside");
        fs::create_dir(&outside).expect("mkdir");
        let result = s.open_archive(
            fmt,
            &[
                E::Dir("sub"),
                E::Link("d", "sub"),
                E::File("d/f.txt", b"through the link"),
            ],
            &IntakeLimits::default(),
        );
        assert!(
            matches!(result, Err(IntakeError::Refused { .. })),
            "{fmt:?}: {result:?}"
        );
        s.assert_work_empty();
    }
}

#[test]
fn links_inside_the_tree_are_kept_and_never_followed_by_the_digest() {
    for fmt in ALL {
        let s = Scratch::new();
        let sub = s
            .open_archive(
                fmt,
                &[
                    E::File("real.txt", b"content"),
                    E::Dir("dir"),
                    E::Link("dir/link", "../real.txt"),
                ],
                &IntakeLimits::default(),
            )
            .expect("in-tree links are fine");
        let link = sub.root.join("dir/link");
        let meta = fs::symlink_metadata(&link).expect("link exists");
        assert!(meta.file_type().is_symlink());
        assert_eq!(
            fs::read_link(&link).expect("readlink"),
            Path::new("../real.txt")
        );
        // Reading through a symlink is refused even inside the tree.
        assert_eq!(sub.read_file("dir/link", 100), None);
        assert_eq!(sub.read_file("real.txt", 4), Some(b"cont".to_vec()));
    }
}

#[test]
fn hard_links_are_refused() {
    for fmt in [Fmt::Tar, Fmt::TarGz] {
        let s = Scratch::new();
        let result = s.open_archive(
            fmt,
            &[E::File("a.txt", b"a"), E::Hard("b.txt", "a.txt")],
            &IntakeLimits::default(),
        );
        assert_refused(result, "b.txt", "hard link");
        let s = Scratch::new();
        let result = s.open_archive(
            fmt,
            &[E::Hard("shadow", "/etc/shadow")],
            &IntakeLimits::default(),
        );
        assert_refused(result, "shadow", "hard link");
        s.assert_work_empty();
    }
}

#[test]
fn devices_and_fifos_are_refused() {
    for fmt in ALL {
        let s = Scratch::new();
        let result = s.open_archive(fmt, &[E::Fifo("pipe")], &IntakeLimits::default());
        assert_refused(result, "pipe", "fifo");
        let s = Scratch::new();
        let result = s.open_archive(fmt, &[E::Device("null")], &IntakeLimits::default());
        assert_refused(result, "null", "device");
        s.assert_work_empty();
    }
}

fn small_limits() -> IntakeLimits {
    IntakeLimits {
        max_entries: 10,
        max_total_bytes: 1024 * 1024,
        max_file_bytes: 512 * 1024,
    }
}

#[test]
fn too_many_entries_are_refused() {
    let names: Vec<String> = (0..50).map(|i| format!("f{i:02}.txt")).collect();
    let entries: Vec<E<'_>> = names.iter().map(|n| E::File(n, b"x")).collect();
    for fmt in ALL {
        let s = Scratch::new();
        let result = s.open_archive(fmt, &entries, &small_limits());
        match result {
            Err(IntakeError::Refused { reason, .. }) => {
                assert!(reason.contains("more than 10 entries"), "{reason}")
            }
            other => panic!("{fmt:?}: expected a refusal, got {other:?}"),
        }
        s.assert_work_empty();
    }
}

#[test]
fn total_size_over_the_limit_is_refused() {
    let chunk = vec![b'a'; 300 * 1024];
    let names: Vec<String> = (0..5).map(|i| format!("part{i}.bin")).collect();
    let entries: Vec<E<'_>> = names.iter().map(|n| E::File(n, &chunk)).collect();
    for fmt in ALL {
        let s = Scratch::new();
        let result = s.open_archive(fmt, &entries, &small_limits());
        match result {
            Err(IntakeError::Refused { entry, reason }) => {
                assert_eq!(entry, "part3.bin", "the fourth file crosses 1 MiB");
                assert!(reason.contains("more than 1 MiB"), "{reason}");
            }
            other => panic!("{fmt:?}: expected a refusal, got {other:?}"),
        }
        s.assert_work_empty();
    }
}

#[test]
fn a_single_file_over_the_limit_is_refused() {
    let zeros = vec![0u8; 4 * 1024 * 1024];
    for fmt in ALL {
        let s = Scratch::new();
        let result = s.open_archive(fmt, &[E::File("bomb.bin", &zeros)], &small_limits());
        assert_refused(result, "bomb.bin", "larger than 512 KiB");
        s.assert_work_empty();
    }
}

#[test]
fn a_tar_header_bomb_is_stopped_by_the_per_entry_header_cap() {
    // A 4 MiB pax extension header, then a 4 MiB GNU long name: tar keeps them in memory, so
    // each entry's headers are capped (64 KiB), whatever the archive's total limit.
    let pax_bomb = |kind: tar::EntryType, name: &[u8]| {
        let mut b = tar::Builder::new(Vec::new());
        let pax = vec![b'p'; 4 * 1024 * 1024];
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_size(pax.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &pax[..]).expect("append the header bomb");
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..5].copy_from_slice(b"a.txt");
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &b"a"[..]).expect("append file");
        gz(&b.into_inner().expect("tar"))
    };
    for (kind, name) in [
        (tar::EntryType::XHeader, &b"PaxHeader"[..]),
        (tar::EntryType::GNULongName, &b"././@LongLink"[..]),
    ] {
        for limits in [small_limits(), IntakeLimits::default()] {
            let s = Scratch::new();
            let path = s.write("bomb.tgz", &pax_bomb(kind, name));
            assert_refused(s.open(&path, &limits), "(archive)", "take more than 64 KiB");
            s.assert_work_empty();
        }
    }
}

/// Replaces every `from` (little-endian u32) after a `sig` record header at `offset` within it.
fn patch_u32(bytes: &mut [u8], sig: &[u8], offset: usize, value: u32) -> usize {
    let mut patched = 0;
    let mut i = 0;
    while i + sig.len() <= bytes.len() {
        if &bytes[i..i + sig.len()] == sig {
            bytes[i + offset..i + offset + 4].copy_from_slice(&value.to_le_bytes());
            patched += 1;
        }
        i += 1;
    }
    patched
}

#[test]
fn a_zip_entry_lying_about_its_size_is_caught_on_the_bytes_written() {
    let zeros = vec![0u8; 4 * 1024 * 1024];
    let mut bytes = zip_bytes(&[E::File("liar.bin", &zeros)]);
    // Claim 100 bytes in the local header (offset 22) and the central directory (offset 24).
    assert_eq!(patch_u32(&mut bytes, b"PK\x03\x04", 22, 100), 1);
    assert_eq!(patch_u32(&mut bytes, b"PK\x01\x02", 24, 100), 1);
    let s = Scratch::new();
    let path = s.write("liar.zip", &bytes);
    let result = s.open(&path, &small_limits());
    assert_refused(
        result,
        "liar.bin",
        "more than the 100 bytes its header declares",
    );
    // With a limit below the lie as well, whichever check trips first refuses it.
    let tiny = IntakeLimits {
        max_file_bytes: 50,
        ..small_limits()
    };
    let result = s.open(&path, &tiny);
    assert!(
        matches!(result, Err(IntakeError::Refused { .. })),
        "{result:?}"
    );
    s.assert_work_empty();
}

#[test]
fn a_single_top_level_folder_is_unwrapped() {
    for fmt in ALL {
        let s = Scratch::new();
        let sub = s
            .open_archive(
                fmt,
                &[
                    E::Dir("candidate-repo/"),
                    E::File("candidate-repo/Dockerfile", b"FROM scratch\n"),
                    E::File("candidate-repo/src/main.rs", b"fn main() {}\n"),
                ],
                &IntakeLimits::default(),
            )
            .expect("unpacks");
        assert_eq!(sub.name, "candidate");
        assert!(sub.root.ends_with("candidate-repo"), "{:?}", sub.root);
        assert!(sub.root.join("Dockerfile").is_file());
        assert!(sub.root.join("src/main.rs").is_file());
        assert!(
            sub.root.starts_with(s.work()),
            "unpacked under the work dir"
        );
        let expected = match fmt {
            Fmt::Zip => ArchiveFormat::Zip,
            Fmt::Tar => ArchiveFormat::Tar,
            Fmt::TarGz => ArchiveFormat::TarGz,
        };
        assert_eq!(sub.kind, SubmissionKind::Archive(expected));
        assert!(sub.digest.starts_with("sha256:") && sub.digest.len() == 7 + 64);
    }
}

const TREE: &[E<'static>] = &[
    E::File("Dockerfile", b"FROM alpine\nCOPY . /app\n"),
    E::Exec("run.sh", b"#!/bin/sh\nexec /app/server\n"),
    E::Dir("src"),
    E::File("src/main.rs", b"fn main() { println!(\"hi\"); }\n"),
    E::Link("src/latest", "main.rs"),
];

fn materialise(root: &Path, entries: &[E<'_>]) {
    fs::create_dir_all(root).expect("mkdir root");
    for entry in entries {
        match *entry {
            E::File(n, d) | E::Exec(n, d) => {
                let path = root.join(n);
                fs::write(&path, d).expect("write");
                let mode = if matches!(entry, E::Exec(..)) {
                    0o755
                } else {
                    0o644
                };
                fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            }
            E::Dir(n) => fs::create_dir_all(root.join(n)).expect("mkdir"),
            E::Link(n, t) => std::os::unix::fs::symlink(t, root.join(n)).expect("symlink"),
            _ => panic!("not materialised"),
        }
    }
}

#[test]
fn the_same_tree_has_the_same_digest_however_it_is_packed() {
    let s = Scratch::new();
    let mut digests = Vec::new();
    for fmt in ALL {
        let sub = s
            .open_archive(fmt, TREE, &IntakeLimits::default())
            .expect("unpacks");
        digests.push((format!("{fmt:?}"), sub.digest));
    }
    // Wrapped in a folder, as candidates usually zip it.
    let wrapped: Vec<String> = TREE
        .iter()
        .map(|e| match e {
            E::File(n, _) | E::Exec(n, _) | E::Dir(n) | E::Link(n, _) => format!("my-repo/{n}"),
            _ => unreachable!(),
        })
        .collect();
    let wrapped_entries: Vec<E<'_>> = TREE
        .iter()
        .zip(&wrapped)
        .map(|(e, n)| match *e {
            E::File(_, d) => E::File(n, d),
            E::Exec(_, d) => E::Exec(n, d),
            E::Dir(_) => E::Dir(n),
            E::Link(_, t) => E::Link(n, t),
            other => other,
        })
        .collect();
    let sub = s
        .open_archive(Fmt::Zip, &wrapped_entries, &IntakeLimits::default())
        .expect("unpacks");
    digests.push(("wrapped zip".into(), sub.digest));
    // The same tree as a plain directory, with a `.git` that does not count.
    let dir = s.path().join("as-dir");
    materialise(&dir, TREE);
    fs::create_dir_all(dir.join(".git")).expect("mkdir .git");
    fs::write(dir.join(".git/HEAD"), b"garbage").expect("write");
    let sub = s.open(&dir, &IntakeLimits::default()).expect("directory");
    assert_eq!(sub.kind, SubmissionKind::GitRepository);
    assert_eq!(sub.name, "as-dir");
    assert_eq!(sub.root, dir.canonicalize().expect("canonical"));
    digests.push(("directory".into(), sub.digest.clone()));
    let first = digests[0].1.clone();
    for (what, digest) in &digests {
        assert_eq!(digest, &first, "{what} digest differs");
    }

    // Any change changes it: contents, the executable bit, a link's target, a new file.
    fs::write(dir.join("src/main.rs"), b"fn main() {}\n").expect("write");
    let changed = s.open(&dir, &IntakeLimits::default()).expect("dir").digest;
    assert_ne!(changed, first);
    fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o644)).expect("chmod");
    let unexec = s.open(&dir, &IntakeLimits::default()).expect("dir").digest;
    assert_ne!(unexec, changed);
    fs::remove_file(dir.join("src/latest")).expect("rm");
    std::os::unix::fs::symlink("other.rs", dir.join("src/latest")).expect("symlink");
    let relinked = s.open(&dir, &IntakeLimits::default()).expect("dir").digest;
    assert_ne!(relinked, unexec);
    fs::write(dir.join("new.txt"), b"").expect("write");
    let added = s.open(&dir, &IntakeLimits::default()).expect("dir").digest;
    assert_ne!(added, relinked);
}

#[test]
fn a_directory_is_used_in_place_and_its_links_to_host_files_are_not_read() {
    let s = Scratch::new();
    let secret = s.path().join("host-secret.txt");
    fs::write(&secret, b"first secret").expect("write");
    let dir = s.path().join("candidate");
    materialise(&dir, &[E::File("Dockerfile", b"FROM scratch\n")]);
    std::os::unix::fs::symlink(&secret, dir.join("leak")).expect("symlink");
    std::os::unix::fs::symlink(s.path(), dir.join("leak-dir")).expect("symlink");
    let before: Vec<_> = {
        let mut v: Vec<_> = fs::read_dir(&dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        v.sort();
        v
    };

    let one = s.open(&dir, &IntakeLimits::default()).expect("directory");
    assert_eq!(one.kind, SubmissionKind::Directory);
    fs::write(&secret, b"another secret, longer").expect("write");
    let two = s.open(&dir, &IntakeLimits::default()).expect("directory");
    assert_eq!(one.digest, two.digest, "the digest read the link's target");
    assert_eq!(two.read_file("leak", 100), None);
    assert_eq!(two.read_file("leak-dir/host-secret.txt", 100), None);
    assert_eq!(two.read_file("../host-secret.txt", 100), None);

    let facts = inspect(&two, &InspectLimits::default());
    let leak = facts
        .files
        .iter()
        .find(|f| f.path == "leak")
        .expect("listed");
    assert!(leak.symlink && !leak.tracked);
    assert!(
        !facts.files.iter().any(|f| f.path.starts_with("leak-dir/")),
        "the listing followed a link"
    );
    assert_eq!(facts.history, Err(NoHistory::NotARepository));

    let after: Vec<_> = {
        let mut v: Vec<_> = fs::read_dir(&dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(before, after, "the directory was modified");
    assert!(
        !s.work().exists() || fs::read_dir(s.work()).expect("ls").next().is_none(),
        "a directory submission is not copied"
    );
}

#[test]
fn directory_limits_apply_too() {
    let s = Scratch::new();
    let dir = s.path().join("big");
    materialise(&dir, &[E::File("a.bin", &[7u8; 600 * 1024])]);
    let result = s.open(&dir, &small_limits());
    assert_refused(result, "a.bin", "larger than 512 KiB");
}

#[test]
fn unknown_files_are_not_archives() {
    let s = Scratch::new();
    let path = s.write("notes.txt", b"just some text, not an archive");
    assert!(matches!(
        s.open(&path, &IntakeLimits::default()),
        Err(IntakeError::UnsupportedFormat { .. })
    ));
    let missing = s.path().join("missing.zip");
    assert!(matches!(
        s.open(&missing, &IntakeLimits::default()),
        Err(IntakeError::Unreadable { .. })
    ));
    let broken = s.write("broken.zip", b"PK\x03\x04 and then nothing useful");
    assert!(matches!(
        s.open(&broken, &IntakeLimits::default()),
        Err(IntakeError::Corrupt { .. })
    ));
}

// ---- git ---------------------------------------------------------------------------------

/// Runs our own `git` to build a fixture (never on a submission under test).
fn git(repo: &Path, home: &Path, args: &[&str], date: &str) {
    git_with(repo, home, args, date, None);
}

/// [`git`] with `stdin` fed to it; returns what it printed, trimmed.
fn git_with(repo: &Path, home: &Path, args: &[&str], date: &str, stdin: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Candidate")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Candidate")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the git CLI is needed to build this fixture");
    let input = child.stdin.take();
    let feeder = stdin.map(<[u8]>::to_vec).map(|bytes| {
        std::thread::spawn(move || {
            if let Some(mut pipe) = input {
                pipe.write_all(&bytes).expect("feed git");
            }
        })
    });
    let out = child.wait_with_output().expect("git runs");
    if let Some(feeder) = feeder {
        feeder.join().expect("the feeder thread");
    }
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository with three commits (one adds `.env`, the next removes it), then made hostile:
/// every config key, hook and filter that would run something touches a marker file.
fn hostile_repo(s: &Scratch) -> (PathBuf, Vec<PathBuf>) {
    let repo = s.path().join("hostile");
    let home = s.path().join("home");
    fs::create_dir_all(&repo).expect("mkdir");
    fs::create_dir_all(&home).expect("mkdir");
    git(
        &repo,
        &home,
        &["init", "-q", "-b", "main"],
        "2024-01-01T10:00:00+00:00",
    );
    fs::write(repo.join("Dockerfile"), "FROM alpine\n").expect("write");
    fs::write(repo.join("app.secret"), "data\n").expect("write");
    git(&repo, &home, &["add", "."], "2024-01-01T10:00:00+00:00");
    git(
        &repo,
        &home,
        &[
            "commit",
            "-q",
            "-m",
            "Initial commit\n\nScaffold the service.",
        ],
        "2024-01-01T10:00:00+00:00",
    );
    fs::write(repo.join(".env"), "API_KEY=sk_live_abcdef123456\n").expect("write");
    fs::create_dir_all(repo.join("node_modules/left-pad")).expect("mkdir");
    fs::write(
        repo.join("node_modules/left-pad/index.js"),
        "module.exports=1\n",
    )
    .expect("write");
    git(&repo, &home, &["add", "."], "2024-01-02T11:00:00+02:00");
    git(
        &repo,
        &home,
        &["commit", "-q", "-m", "Add configuration"],
        "2024-01-02T11:00:00+02:00",
    );
    git(
        &repo,
        &home,
        &["rm", "-q", "-r", "--cached", ".env", "node_modules"],
        "2024-01-03T12:00:00+00:00",
    );
    fs::remove_file(repo.join(".env")).expect("rm");
    fs::remove_dir_all(repo.join("node_modules")).expect("rm");
    fs::write(repo.join(".gitattributes"), "* filter=x diff=x merge=x\n").expect("write");
    git(
        &repo,
        &home,
        &["add", ".gitattributes"],
        "2024-01-03T12:00:00+00:00",
    );
    git(
        &repo,
        &home,
        &["commit", "-q", "-m", "Remove secrets"],
        "2024-01-03T12:00:00+00:00",
    );
    // An untracked file in the working tree.
    fs::write(repo.join("notes.txt"), "scratch\n").expect("write");

    // Now make it hostile. Nothing below may ever run.
    let marker = |what: &str| s.path().join(format!("marker-{what}"));
    let markers: Vec<PathBuf> = [
        "fsmonitor",
        "hook",
        "smudge",
        "clean",
        "process",
        "ssh",
        "pager",
        "editor",
        "diff",
        "textconv",
        "credential",
        "askpass",
        "proxy",
        "ext",
        "gpg",
        "merge",
        "alias",
    ]
    .iter()
    .map(|w| marker(w))
    .collect();
    let touch = |what: &str| format!("touch {}", marker(what).display());
    let config = format!(
        r#"[core]
	repositoryformatversion = 0
	filemode = true
	bare = false
	fsmonitor = "{fsmonitor}"
	sshCommand = "{ssh}"
	pager = "{pager}"
	editor = "{editor}"
	askPass = "{askpass}"
	gitProxy = "{proxy}"
	hooksPath = hooks
[filter "x"]
	smudge = "{smudge}"
	clean = "{clean}"
	process = "{process}"
	required = true
[diff "x"]
	command = "{diff}"
	textconv = "{textconv}"
[merge "x"]
	driver = "{merge}"
[credential]
	helper = "!{credential}"
[gpg]
	program = "{gpg}"
[commit]
	gpgSign = true
[alias]
	log = "!{alias}"
[protocol "ext"]
	allow = always
[remote "origin"]
	url = "ext::sh -c {ext_cmd}"
[include]
	path = /etc/passwd
"#,
        fsmonitor = touch("fsmonitor"),
        ssh = touch("ssh"),
        pager = touch("pager"),
        editor = touch("editor"),
        askpass = touch("askpass"),
        proxy = touch("proxy"),
        smudge = touch("smudge"),
        clean = touch("clean"),
        process = touch("process"),
        diff = touch("diff"),
        textconv = touch("textconv"),
        merge = touch("merge"),
        credential = touch("credential"),
        gpg = touch("gpg"),
        alias = touch("alias"),
        ext_cmd = marker("ext").display(),
    );
    fs::write(repo.join(".git/config"), config).expect("write config");
    for dir in [repo.join(".git/hooks"), repo.join("hooks")] {
        fs::create_dir_all(&dir).expect("mkdir hooks");
        for hook in [
            "post-checkout",
            "pre-commit",
            "post-index-change",
            "reference-transaction",
            "fsmonitor-watchman",
        ] {
            let path = dir.join(hook);
            fs::write(&path, format!("#!/bin/sh\n{}\n", touch("hook"))).expect("hook");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    (repo, markers)
}

#[test]
fn a_hostile_git_repository_is_read_without_running_anything() {
    let s = Scratch::new();
    let (repo, markers) = hostile_repo(&s);
    let sub = s.open(&repo, &IntakeLimits::default()).expect("opens");
    assert_eq!(sub.kind, SubmissionKind::GitRepository);
    let facts = inspect(&sub, &InspectLimits::default());

    let history = facts.history.as_ref().expect("history is read");
    let subjects: Vec<&str> = history.commits.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["Remove secrets", "Add configuration", "Initial commit"]
    );
    assert!(!history.commits_truncated && history.incomplete.is_none());
    let first = &history.commits[2];
    assert_eq!(first.body, "Scaffold the service.");
    assert_eq!(first.author_name, "Ada Candidate");
    assert_eq!(first.author_email, "ada@example.com");
    assert_eq!(first.time, "2024-01-01T10:00:00Z");
    assert!(first.parents.is_empty());
    assert_eq!(first.files, ["Dockerfile", "app.secret"]);
    let second = &history.commits[1];
    assert_eq!(second.time, "2024-01-02T11:00:00+02:00");
    assert_eq!(second.parents, std::slice::from_ref(&first.id));
    assert_eq!(second.files, [".env", "node_modules/left-pad/index.js"]);
    let third = &history.commits[0];
    assert_eq!(
        third.files,
        [".env", ".gitattributes", "node_modules/left-pad/index.js"]
    );
    assert_eq!(
        history.paths,
        [
            ".env",
            ".gitattributes",
            "Dockerfile",
            "app.secret",
            "node_modules/left-pad/index.js"
        ]
    );

    // Blobs from history, for secret scanning: `.env` is gone from HEAD but not from history.
    assert_eq!(
        facts.blob_text(&second.id, ".env", 1024).as_deref(),
        Some("API_KEY=sk_live_abcdef123456\n")
    );
    assert_eq!(
        facts.history_blob(&second.id, ".env", 7).as_deref(),
        Some(&b"API_KEY"[..])
    );
    assert_eq!(facts.history_blob(&third.id, ".env", 1024), None);
    assert_eq!(facts.history_blob(&second.id, "node_modules", 1024), None);
    assert_eq!(facts.history_blob("not-a-commit", ".env", 1024), None);

    // The working tree: tracked from the index, untracked notes, no `.git/` entries.
    let find = |p: &str| facts.files.iter().find(|f| f.path == p);
    assert!(find("Dockerfile").expect("Dockerfile").tracked);
    assert!(find(".gitattributes").expect(".gitattributes").tracked);
    assert!(!find("notes.txt").expect("notes.txt").tracked);
    assert!(!find("hooks/pre-commit").expect("hooks").tracked);
    assert!(find(".env").is_none());
    assert!(!facts.files.iter().any(|f| f.path.starts_with(".git/")));
    assert_eq!(find("Dockerfile").expect("Dockerfile").size, 12);

    // The same repository zipped up reads the same way.
    let zipped = s.path().join("hostile.zip");
    zip_dir(&repo, &zipped);
    let from_zip = s
        .open(&zipped, &IntakeLimits::default())
        .expect("zip opens");
    assert_eq!(
        from_zip.digest, sub.digest,
        "`.git/` is not part of the digest"
    );
    let zip_facts = inspect(&from_zip, &InspectLimits::default());
    assert_eq!(zip_facts.history.as_ref().map(|h| h.commits.len()), Ok(3));

    for marker in &markers {
        assert!(
            !marker.exists(),
            "{} was created: something ran",
            marker.display()
        );
    }
}

/// Zips `dir` (with `.git`) under a top-level folder, as a candidate would upload it.
fn zip_dir(dir: &Path, out: &Path) {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(fs::File::create(out).expect("create zip"));
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        for entry in fs::read_dir(dir.join(&rel)).expect("ls") {
            let entry = entry.expect("entry");
            let rel = rel.join(entry.file_name());
            let name = format!("repo/{}", rel.display());
            let meta = fs::symlink_metadata(entry.path()).expect("meta");
            if meta.is_dir() {
                w.add_directory(name, SimpleFileOptions::default())
                    .expect("zip dir");
                pending.push(rel);
            } else {
                let mode = meta.permissions().mode() & 0o777;
                w.start_file(name, SimpleFileOptions::default().unix_permissions(mode))
                    .expect("zip file");
                w.write_all(&fs::read(entry.path()).expect("read"))
                    .expect("zip write");
            }
        }
    }
    w.finish().expect("zip finish");
}

#[test]
fn broken_or_escaping_git_dirs_are_facts_not_errors() {
    let s = Scratch::new();

    let garbage = s.path().join("garbage");
    materialise(&garbage, &[E::File("Dockerfile", b"FROM scratch\n")]);
    fs::create_dir_all(garbage.join(".git")).expect("mkdir");
    fs::write(garbage.join(".git/HEAD"), b"not a ref").expect("write");
    let sub = s.open(&garbage, &IntakeLimits::default()).expect("opens");
    let facts = inspect(&sub, &InspectLimits::default());
    assert!(
        matches!(facts.history, Err(NoHistory::Unreadable { .. })),
        "{:?}",
        facts.history
    );
    assert_eq!(facts.files.len(), 1);

    // A `.git` file pointing to a repository elsewhere is not followed.
    let (real, _) = hostile_repo(&s);
    let linked = s.path().join("linked");
    materialise(&linked, &[E::File("Dockerfile", b"FROM scratch\n")]);
    fs::write(
        linked.join(".git"),
        format!("gitdir: {}\n", real.join(".git").display()),
    )
    .expect("write");
    let sub = s.open(&linked, &IntakeLimits::default()).expect("opens");
    assert_eq!(sub.kind, SubmissionKind::Directory);
    let facts = inspect(&sub, &InspectLimits::default());
    match &facts.history {
        Err(NoHistory::Unreadable { reason }) => assert!(reason.contains("`.git` is a file")),
        other => panic!("expected an unreadable history, got {other:?}"),
    }
    assert!(
        facts
            .history_blob("0000000000000000000000000000000000000000", "x", 10)
            .is_none()
    );

    // Alternates would read objects from outside the submission.
    let alt = s.path().join("alt");
    fs::create_dir_all(&alt).expect("mkdir");
    git(&alt, s.path(), &["init", "-q"], "2024-01-01T10:00:00+00:00");
    fs::write(
        alt.join(".git/objects/info/alternates"),
        format!("{}\n", real.join(".git/objects").display()),
    )
    .expect("write");
    let sub = s.open(&alt, &IntakeLimits::default()).expect("opens");
    match &inspect(&sub, &InspectLimits::default()).history {
        Err(NoHistory::Unreadable { reason }) => assert!(reason.contains("alternates")),
        other => panic!("expected an unreadable history, got {other:?}"),
    }

    // A repository without commits has an empty history, not an error.
    let empty = s.path().join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    git(
        &empty,
        s.path(),
        &["init", "-q"],
        "2024-01-01T10:00:00+00:00",
    );
    let sub = s.open(&empty, &IntakeLimits::default()).expect("opens");
    let facts = inspect(&sub, &InspectLimits::default());
    assert_eq!(facts.commits().map(<[_]>::len), Ok(0));
}

#[test]
fn inspect_limits_cap_what_is_read() {
    let s = Scratch::new();
    let (repo, _) = hostile_repo(&s);
    let sub = s.open(&repo, &IntakeLimits::default()).expect("opens");
    let limits = InspectLimits {
        max_files: 2,
        max_commits: 2,
        max_files_per_commit: 1,
        max_history_paths: 2,
        ..InspectLimits::default()
    };
    let facts = inspect(&sub, &limits);
    assert_eq!(facts.files.len(), 2);
    assert!(facts.files_truncated);
    let history = facts.history.as_ref().expect("history");
    assert_eq!(history.commits.len(), 2);
    assert!(history.commits_truncated);
    assert!(
        history
            .commits
            .iter()
            .all(|c| c.files.len() <= 1 && c.files_truncated)
    );
    assert!(history.paths.len() <= 2);
}

/// A tree of 150,000 entries (5.6 MiB) and a commit with a 100 MiB message, in a repository
/// whose own configuration tries to lift gix's allocation limit: neither is inflated, the
/// history is reported incomplete, and the runner stays small.
#[test]
fn git_object_bombs_are_not_inflated() {
    let s = Scratch::new();
    let repo = s.path().join("bombs");
    let home = s.path().join("home");
    fs::create_dir_all(&repo).expect("repo dir");
    fs::create_dir_all(&home).expect("home dir");
    let date = "2026-01-02T03:04:05Z";
    git(&repo, &home, &["init", "-q", "-b", "main"], date);
    fs::write(repo.join("a.txt"), "a\n").expect("write");
    git(&repo, &home, &["add", "a.txt"], date);
    git(&repo, &home, &["commit", "-q", "-m", "first"], date);
    let blob = git_with(&repo, &home, &["rev-parse", "HEAD:a.txt"], date, None);
    let listing: String = (0..150_000)
        .map(|i| format!("100644 blob {blob}\tfile-{i:06}.txt\n"))
        .collect();
    let big_tree = git_with(&repo, &home, &["mktree"], date, Some(listing.as_bytes()));
    let tree_bomb = git_with(
        &repo,
        &home,
        &["commit-tree", &big_tree, "-p", "HEAD", "-m", "wide"],
        date,
        None,
    );
    let mut config = fs::read_to_string(repo.join(".git/config")).expect("config");
    config.push_str(
        "[gitoxide \"objects\"]\n\tallocLimit = 8000000000\n\tallocLimitIfReducedTrust = 0\n",
    );
    fs::write(repo.join(".git/config"), config).expect("config");

    git(
        &repo,
        &home,
        &["update-ref", "refs/heads/main", &tree_bomb],
        date,
    );
    let sub = s.open(&repo, &IntakeLimits::default()).expect("opens");
    let facts = inspect(&sub, &InspectLimits::default());
    let history = facts.history.as_ref().expect("history");
    let reason = history.incomplete.clone().unwrap_or_default();
    assert!(reason.contains("more than the 4 MiB"), "{reason}");
    assert!(history.commits.is_empty(), "{:?}", history.commits);

    let tree = git_with(&repo, &home, &["rev-parse", "HEAD~1^{tree}"], date, None);
    let mut body = format!(
        "tree {tree}\nauthor Ada <a@example.com> 1767323045 +0000\ncommitter Ada <a@example.com> 1767323045 +0000\n\n"
    )
    .into_bytes();
    body.resize(body.len() + 100 * 1024 * 1024, b'a');
    let message_bomb = git_with(
        &repo,
        &home,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "--stdin",
        ],
        date,
        Some(body.as_slice()),
    );
    drop(body);
    git(
        &repo,
        &home,
        &["update-ref", "refs/heads/main", &message_bomb],
        date,
    );
    let sub = s.open(&repo, &IntakeLimits::default()).expect("opens");
    let facts = inspect(&sub, &InspectLimits::default());
    // The tip itself is refused: the history is a fact (unreadable), never inflated.
    match &facts.history {
        Ok(history) => assert!(
            history.incomplete.is_some() && history.commits.is_empty(),
            "the 100 MiB commit was read: {:?}",
            history.incomplete
        ),
        Err(NoHistory::Unreadable { reason }) => {
            assert!(reason.contains("loose object"), "{reason}");
        }
        Err(other) => panic!("{other:?}"),
    }
    assay_testkit::memory::assert_peak_under_512_mib("intake");
}
