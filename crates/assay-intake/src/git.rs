//! Reading a submission's git history with `gix`, isolated: no global or system config, no
//! environment, no includes, reduced trust in the repository's own config, and a build of
//! gix without filters, hooks, credential helpers or status (so nothing it reads can run).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::tree::EntryMode;
use time::format_description::well_known::Rfc3339;

use super::facts::{CommitFact, History, InspectLimits, NoHistory};

/// Files looked at inside `.git` when checking it for links before opening it.
const MAX_GIT_DIR_ENTRIES: usize = 500_000;
/// Largest object gix inflates, whatever the repository's own configuration says (a loose
/// or packed object declaring more is refused before any allocation).
const ALLOC_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest commit or tree read: a bigger one (a tree of millions of entries, a commit with a
/// giant message) is never inflated, and the history is kept as read so far.
pub(crate) const MAX_COMMIT_OR_TREE_BYTES: u64 = 4 * 1024 * 1024;

/// Checks `root/.git` and opens it in isolation. The checks refuse what would make gix read
/// outside the submission: a `.git` file or link (pointing to a repository elsewhere), a
/// linked worktree's `commondir`, object alternates, symlinks inside `.git`.
///
/// `check_links` walks `.git` for symlinks; skip it only when reopening a repository that
/// already passed.
pub(crate) fn open_isolated(root: &Path, check_links: bool) -> Result<gix::Repository, NoHistory> {
    let git_dir = root.join(".git");
    let meta = match fs::symlink_metadata(&git_dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(NoHistory::NotARepository),
        Err(e) => return Err(unreadable(format!("`.git` cannot be read ({e})"))),
    };
    if meta.file_type().is_symlink() {
        return Err(unreadable(
            "`.git` is a symlink; a repository outside the submission is never read",
        ));
    }
    if !meta.is_dir() {
        return Err(unreadable(
            "`.git` is a file (a worktree or submodule link to a repository elsewhere); submit the repository itself",
        ));
    }
    if fs::symlink_metadata(git_dir.join("commondir")).is_ok() {
        return Err(unreadable(
            "`.git` belongs to a linked worktree whose repository lives elsewhere; submit the main repository",
        ));
    }
    for alternates in ["objects/info/alternates", "objects/info/http-alternates"] {
        if fs::symlink_metadata(git_dir.join(alternates)).is_ok() {
            return Err(unreadable(format!(
                "`.git/{alternates}` borrows objects from outside the submission; run `git repack -a -d` and remove it"
            )));
        }
    }
    if check_links {
        check_no_links(&git_dir)?;
    }
    // The override wins over the repository's `gitoxide.objects.allocLimit*` keys.
    let options = gix::open::Options::isolated()
        .open_path_as_is(true)
        .with(gix::sec::Trust::Reduced)
        .config_overrides([format!("gitoxide.objects.allocLimit={ALLOC_LIMIT_BYTES}")]);
    let mut repo = gix::open_opts(&git_dir, options)
        .map_err(|e| unreadable(format!("gix cannot open it ({e})")))?;
    repo.object_cache_size_if_unset(4 * 1024 * 1024);
    Ok(repo)
}

fn unreadable(reason: impl Into<String>) -> NoHistory {
    NoHistory::Unreadable {
        reason: reason.into(),
    }
}

/// Refuses a `.git` holding any symlink: reading through one could leave the submission.
fn check_no_links(git_dir: &Path) -> Result<(), NoHistory> {
    let mut pending: Vec<PathBuf> = vec![git_dir.to_owned()];
    let mut seen = 0usize;
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir)
            .map_err(|e| unreadable(format!("`{}` cannot be listed ({e})", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| unreadable(format!("`.git` cannot be listed ({e})")))?;
            seen += 1;
            if seen > MAX_GIT_DIR_ENTRIES {
                return Err(unreadable(format!(
                    "`.git` holds more than {MAX_GIT_DIR_ENTRIES} files; run `git gc` and submit again"
                )));
            }
            let file_type = entry
                .file_type()
                .map_err(|e| unreadable(format!("`.git` cannot be listed ({e})")))?;
            if file_type.is_symlink() {
                let shown = entry
                    .path()
                    .strip_prefix(git_dir)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                return Err(unreadable(format!(
                    "`.git/{shown}` is a symlink; repositories with links inside `.git` are not read"
                )));
            }
            if file_type.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

/// Reads HEAD's history, newest first, within `limits`.
pub(crate) fn read_history(
    repo: &gix::Repository,
    limits: &InspectLimits,
) -> Result<History, NoHistory> {
    let mut history = History::default();
    let head = repo
        .head()
        .map_err(|e| unreadable(format!("HEAD cannot be read ({e})")))?;
    if head.is_unborn() {
        return Ok(history);
    }
    let Some(tip) = head.id() else {
        return Ok(history);
    };
    let walk = repo
        .rev_walk([tip.detach()])
        .sorting(gix::revision::walk::Sorting::ByCommitTime(
            gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
        ))
        .use_commit_graph(false)
        .all()
        .map_err(|e| unreadable(format!("the history cannot be walked ({e})")))?;
    let mut paths: BTreeSet<Vec<u8>> = BTreeSet::new();
    for info in walk {
        if history.commits.len() >= limits.max_commits {
            history.commits_truncated = true;
            break;
        }
        let info = match info {
            Ok(info) => info,
            Err(e) => {
                // A shallow clone or a missing object: keep what was read.
                history.incomplete = Some(format!("the history walk stopped early ({e})"));
                break;
            }
        };
        match read_commit(repo, info.id, limits, &mut paths, &mut history) {
            Ok(commit) => history.commits.push(commit),
            Err(e) => {
                history.incomplete = Some(format!("commit {} cannot be read ({e})", info.id));
                break;
            }
        }
    }
    history.paths = paths
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .collect();
    Ok(history)
}

fn read_commit(
    repo: &gix::Repository,
    id: ObjectId,
    limits: &InspectLimits,
    paths: &mut BTreeSet<Vec<u8>>,
    history: &mut History,
) -> Result<CommitFact, gix::Error> {
    let commit = find_commit(repo, id)?;
    let (author_name, author_email, time) = {
        let author = commit.author()?;
        let time = author.time().map(rfc3339).unwrap_or_default();
        (
            cap_text(author.name.trim(), limits.max_message_bytes),
            cap_text(author.email.trim(), limits.max_message_bytes),
            time,
        )
    };
    let (subject, body) = {
        let message = commit.message()?;
        let subject = cap_text(message.summary().as_ref(), limits.max_message_bytes);
        let body = message
            .body
            .map(|b| cap_text(b.trim(), limits.max_message_bytes))
            .unwrap_or_default();
        (subject, body)
    };
    let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
    let new_tree = commit.tree_id()?.detach();
    // Diff against the first parent, like `git log --first-parent -m`; a root commit adds all.
    let old_tree = match parents.first() {
        Some(parent) => Some(find_commit(repo, *parent)?.tree_id()?.detach()),
        None => None,
    };
    let mut changes = Vec::new();
    let files_truncated = diff_trees(
        repo,
        old_tree,
        Some(new_tree),
        limits.max_files_per_commit,
        &mut changes,
    )?;
    let mut files = Vec::with_capacity(changes.len());
    for (path, present) in changes {
        if present {
            if paths.len() < limits.max_history_paths {
                paths.insert(path.clone());
            } else if !paths.contains(&path) {
                history.paths_truncated = true;
            }
        }
        files.push(String::from_utf8_lossy(&path).into_owned());
    }
    Ok(CommitFact {
        id: id.to_string(),
        parents: parents.iter().map(ToString::to_string).collect(),
        author_name,
        author_email,
        time,
        subject,
        body,
        files,
        files_truncated,
    })
}

/// Refuses a commit or tree larger than [`MAX_COMMIT_OR_TREE_BYTES`] before inflating it.
fn ensure_small(repo: &gix::Repository, id: ObjectId) -> Result<(), gix::Error> {
    let size = repo.find_header(id)?.size();
    if size > MAX_COMMIT_OR_TREE_BYTES {
        return Err(gix::Error::from_error(io::Error::other(format!(
            "object {id} is {size} bytes, more than the {} read of a commit or tree",
            assay_model::ByteSize(MAX_COMMIT_OR_TREE_BYTES)
        ))));
    }
    Ok(())
}

fn find_commit<'r>(repo: &'r gix::Repository, id: ObjectId) -> Result<gix::Commit<'r>, gix::Error> {
    ensure_small(repo, id)?;
    repo.find_commit(id)
}

/// Non-tree entries of a tree, by name.
type Entries = BTreeMap<Vec<u8>, (EntryMode, ObjectId)>;

fn tree_entries(repo: &gix::Repository, id: Option<ObjectId>) -> Result<Entries, gix::Error> {
    let mut out = Entries::new();
    if let Some(id) = id {
        ensure_small(repo, id)?;
        let tree = repo.find_tree(id)?;
        for entry in tree.decode()?.entries {
            out.insert(entry.filename.to_vec(), (entry.mode, entry.oid.to_owned()));
        }
    }
    Ok(out)
}

/// Paths that differ between two trees (`true`: present in the new one), at most `cap`;
/// returns whether the cap cut the list. Unchanged subtrees are skipped by id.
fn diff_trees(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    cap: usize,
    out: &mut Vec<(Vec<u8>, bool)>,
) -> Result<bool, gix::Error> {
    let mut pending: Vec<(Vec<u8>, Option<ObjectId>, Option<ObjectId>)> =
        vec![(Vec::new(), old, new)];
    while let Some((prefix, old, new)) = pending.pop() {
        if old == new {
            continue;
        }
        let old_entries = tree_entries(repo, old)?;
        let new_entries = tree_entries(repo, new)?;
        let names: BTreeSet<&Vec<u8>> = old_entries.keys().chain(new_entries.keys()).collect();
        for name in names {
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            let before = old_entries.get(name);
            let after = new_entries.get(name);
            if before == after {
                continue;
            }
            let old_tree = before.filter(|(m, _)| m.is_tree()).map(|(_, id)| *id);
            let new_tree = after.filter(|(m, _)| m.is_tree()).map(|(_, id)| *id);
            if old_tree.is_some() || new_tree.is_some() {
                pending.push((path.clone(), old_tree, new_tree));
            }
            let changed = match after {
                Some((mode, _)) if !mode.is_tree() => Some(true),
                _ => before.filter(|(m, _)| !m.is_tree()).map(|_| false),
            };
            if let Some(present) = changed {
                if out.len() >= cap {
                    return Ok(true);
                }
                out.push((path, present));
            }
        }
    }
    out.sort();
    Ok(false)
}

/// Up to `cap` bytes of the blob at `path` in `commit` (a full hex id); None when absent, not a
/// file, or bigger than `max_object_bytes` (never inflated).
pub(crate) fn blob_at(
    repo: &gix::Repository,
    commit: &str,
    path: &str,
    cap: usize,
    max_object_bytes: u64,
) -> Option<Vec<u8>> {
    let id = ObjectId::from_hex(commit.trim().as_bytes()).ok()?;
    let commit = find_commit(repo, id).ok()?;
    ensure_small(repo, commit.tree_id().ok()?.detach()).ok()?;
    let tree = commit.tree().ok()?;
    let rel: PathBuf = path.split('/').filter(|p| !p.is_empty()).collect();
    let entry = tree.lookup_entry_by_path(&rel).ok()??;
    if !entry.mode().is_blob() {
        return None;
    }
    let oid = entry.oid().to_owned();
    let header = repo.find_header(oid).ok()?;
    if header.size() > max_object_bytes {
        tracing::debug!(%oid, size = header.size(), "history blob too large to read");
        return None;
    }
    let mut data = repo.find_blob(oid).ok()?.detach().data;
    data.truncate(cap);
    Some(data)
}

fn rfc3339(time: gix::date::Time) -> String {
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(time.seconds) else {
        return time.seconds.to_string();
    };
    let offset = time::UtcOffset::from_whole_seconds(time.offset).unwrap_or(time::UtcOffset::UTC);
    utc.checked_to_offset(offset)
        .unwrap_or(utc)
        .format(&Rfc3339)
        .unwrap_or_else(|_| time.seconds.to_string())
}

fn cap_text(bytes: &[u8], max: usize) -> String {
    assay_model::truncate_text(&String::from_utf8_lossy(bytes), max).0
}
