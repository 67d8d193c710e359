//! `.dockerignore` with Docker 20.10's semantics: Go-style globs on the whole relative path,
//! `**` across directories, `!` exceptions (last match wins), a pattern also excluding
//! everything under a matching directory.

use regex::Regex;

/// One compiled line of a `.dockerignore`.
#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern text (without `!`).
    text: String,
    /// Number of `/`-separated components of the pattern.
    dirs: usize,
    exclusion: bool,
    regex: Option<Regex>,
}

/// Most patterns a `.dockerignore` may hold: each is a regex tried on every path.
pub const MAX_PATTERNS: usize = 10_000;

/// The patterns of one `.dockerignore`, in file order.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// Parses a `.dockerignore` the way Docker's `ReadAll` does: a UTF-8 BOM and lines starting
    /// with `#` are dropped, lines are trimmed, patterns are `filepath.Clean`ed and made
    /// relative. A pattern that does not compile never matches (Docker would refuse the build;
    /// we send the file, which is the safer direction for grading). More than
    /// [`MAX_PATTERNS`] patterns is refused, with a reason for the grade.
    pub fn parse(text: &str) -> Result<DockerIgnore, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut pattern = line.trim();
            if pattern.is_empty() {
                continue;
            }
            if patterns.len() == MAX_PATTERNS {
                return Err(format!(
                    "`.dockerignore` holds more than {MAX_PATTERNS} patterns; use `**` globs instead of listing paths"
                ));
            }
            let exclusion = pattern.starts_with('!');
            if exclusion {
                pattern = pattern[1..].trim();
            }
            let mut cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            patterns.push(Pattern {
                dirs: cleaned.split('/').count(),
                regex: compile(&cleaned),
                text: cleaned,
                exclusion,
            });
        }
        Ok(DockerIgnore { patterns })
    }

    /// Adds `!path` (Docker always sends the Dockerfile and `.dockerignore`).
    pub fn keep(&mut self, path: &str) {
        if self.excludes(path) {
            let cleaned = clean(path);
            self.patterns.push(Pattern {
                dirs: cleaned.split('/').count(),
                regex: compile(&cleaned),
                text: cleaned,
                exclusion: true,
            });
        }
    }

    /// True when `path` (relative, `/`-separated) is excluded from the build context.
    pub fn excludes(&self, path: &str) -> bool {
        let parent = match path.rfind('/') {
            Some(i) => &path[..i],
            None => ".",
        };
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for p in &self.patterns {
            let Some(re) = &p.regex else { continue };
            let mut m = re.is_match(path);
            if !m && parent != "." && p.dirs <= parent_dirs.len() {
                m = re.is_match(&parent_dirs[..p.dirs].join("/"));
            }
            if m {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// For an excluded directory: true when no `!` exception could re-include something
    /// under it, so the walk may skip it whole (Docker's CLI does the same).
    pub fn can_skip_dir(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        !self
            .patterns
            .iter()
            .any(|p| p.exclusion && format!("{}/", p.text).starts_with(&prefix))
            && !self
                .patterns
                .iter()
                .any(|p| p.exclusion && p.text.contains(['*', '?', '[', '\\']))
    }
}

/// Go's `filepath.Clean` on a `/`-separated path.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            p => out.push(p),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// Translates a cleaned pattern to a regex as Docker 20.10's `fileutils.Pattern.compile`.
fn compile(pattern: &str) -> Option<Regex> {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        if in_class {
            match ch {
                ']' => {
                    in_class = false;
                    re.push(']');
                }
                '\\' => {
                    re.push('\\');
                    if let Some(&next) = chars.get(i) {
                        re.push(next);
                        i += 1;
                    } else {
                        re.push('\\');
                    }
                }
                '[' | '&' | '~' => {
                    re.push('\\');
                    re.push(ch);
                }
                c => re.push(c),
            }
            continue;
        }
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => match chars.get(i) {
                Some(&next) => {
                    i += 1;
                    re.push_str(&regex::escape(&next.to_string()));
                }
                None => re.push_str("\\\\"),
            },
            '[' => {
                in_class = true;
                re.push('[');
                // Go's negation is `^`; keep it as is.
                if chars.get(i) == Some(&'^') {
                    re.push('^');
                    i += 1;
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    if in_class {
        return None;
    }
    re.push('$');
    Regex::new(&re).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).expect("within the pattern limit")
    }

    #[test]
    fn too_many_patterns_are_refused_and_comments_do_not_count() {
        let at_limit = "x\n".repeat(MAX_PATTERNS);
        assert!(DockerIgnore::parse(&at_limit).is_ok());
        let comments = format!("{at_limit}{}", "# note\n\n".repeat(1000));
        assert!(DockerIgnore::parse(&comments).is_ok());
        let over = "x\n".repeat(MAX_PATTERNS + 1);
        let refused = DockerIgnore::parse(&over).err().unwrap_or_default();
        assert!(refused.contains("more than 10000 patterns"), "{refused}");
    }

    #[test]
    fn clean_matches_go() {
        assert_eq!(clean("a//b/./c/"), "a/b/c");
        assert_eq!(clean("/a/../../b"), "/b");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean("./"), ".");
    }

    #[test]
    fn plain_names_match_from_the_root_only() {
        let i = ig("node_modules\n");
        assert!(i.excludes("node_modules"));
        assert!(i.excludes("node_modules/x/y.js"));
        // Unlike .gitignore, a bare name does not match deeper down.
        assert!(!i.excludes("web/node_modules"));
    }

    #[test]
    fn star_stays_in_one_component_and_double_star_crosses() {
        let i = ig("*.log\n**/*.tmp\ndocs/**\n");
        assert!(i.excludes("a.log"));
        assert!(!i.excludes("sub/a.log"));
        assert!(i.excludes("x.tmp"));
        assert!(i.excludes("a/b/c/x.tmp"));
        assert!(i.excludes("docs/a/b"));
        assert!(!i.excludes("docs2"));
    }

    #[test]
    fn exceptions_and_last_match_wins() {
        let i = ig("# comment\n*.md\n!README.md\n  \n");
        assert!(i.excludes("CHANGES.md"));
        assert!(!i.excludes("README.md"));
        let i = ig("!keep\n*\n");
        assert!(i.excludes("keep"));
    }

    #[test]
    fn leading_slash_and_dot_segments_are_normalised() {
        let i = ig("/target/\n./secret.txt\n");
        assert!(i.excludes("target/debug/x"));
        assert!(i.excludes("secret.txt"));
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        let i = ig("a+b.(c)\n");
        assert!(i.excludes("a+b.(c)"));
        assert!(!i.excludes("aab.(c)"));
    }

    #[test]
    fn character_classes() {
        let i = ig("file[0-9].txt\nx[^a].y\n");
        assert!(i.excludes("file3.txt"));
        assert!(!i.excludes("filea.txt"));
        assert!(i.excludes("xb.y"));
        assert!(!i.excludes("xa.y"));
    }

    #[test]
    fn keep_forces_files_back_in() {
        let mut i = ig("*\n");
        i.keep("Dockerfile");
        assert!(!i.excludes("Dockerfile"));
        assert!(i.excludes("other"));
    }

    #[test]
    fn skipping_directories_respects_exceptions() {
        let i = ig("vendor\n!vendor/keep.txt\n");
        assert!(i.excludes("vendor"));
        assert!(!i.can_skip_dir("vendor"));
        assert!(!i.excludes("vendor/keep.txt"));
        let i = ig("vendor\n");
        assert!(i.can_skip_dir("vendor"));
    }
}
