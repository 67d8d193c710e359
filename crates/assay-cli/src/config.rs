//! The optional configuration file: its values become the defaults of the matching flags,
//! so flags win, then `ASSAY_*` variables (clap reads them), then the file.
//!
//! Found at `--config FILE`, else `$ASSAY_CONFIG`, else `./assay.toml`, else
//! `$XDG_CONFIG_HOME/assay/config.toml` (`~/.config/assay/config.toml`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Keys of the file → (subcommands that take the flag, the flag's id).
const KEYS: &[(&str, &[&str], &str)] = &[
    ("out", &["run", "batch"], "out"),
    ("profile", &["run", "batch"], "profile"),
    ("seed", &["run", "batch"], "seed"),
    ("jobs", &["batch"], "jobs"),
    ("test_mode", &["run", "batch"], "test_mode"),
    ("runtime", &["run", "batch"], "runtime"),
    ("color", &[], "color"),
];

/// The file to read, if any: `explicit` (from `--config`) must exist; the others may not.
pub fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>> {
    if let Some(p) = explicit {
        if !p.is_file() {
            bail!("the configuration file {} does not exist", p.display());
        }
        return Ok(Some(p.to_owned()));
    }
    if let Some(p) = std::env::var_os("ASSAY_CONFIG") {
        return Ok(Some(PathBuf::from(p)));
    }
    let local = PathBuf::from("assay.toml");
    if local.is_file() {
        return Ok(Some(local));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    Ok(base
        .map(|b| b.join("assay/config.toml"))
        .filter(|p| p.is_file()))
}

/// Reads `text` (TOML) into (key, value) pairs; unknown keys are an error naming them.
pub fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let table: toml::Table = text
        .parse()
        .context("the configuration file is not valid TOML")?;
    let mut pairs = Vec::new();
    for (key, value) in table {
        if !KEYS.iter().any(|(k, _, _)| *k == key) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _, _)| *k).collect();
            bail!(
                "unknown configuration key `{key}`: use one of {}",
                known.join(", ")
            );
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!("configuration key `{key}`: {other} is not a string, number or boolean"),
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// `cmd` with the file's values as defaults.
pub fn apply(mut cmd: clap::Command, pairs: &[(String, String)]) -> clap::Command {
    for (key, value) in pairs {
        let Some((_, subs, id)) = KEYS.iter().find(|(k, _, _)| k == key) else {
            continue;
        };
        let value: &'static str = Box::leak(value.clone().into_boxed_str());
        if subs.is_empty() {
            cmd = cmd.mut_arg(*id, |a| a.default_value(value));
        }
        for sub in *subs {
            cmd = cmd.mut_subcommand(*sub, |s| s.mut_arg(*id, |a| a.default_value(value)));
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::cli::{Cli, Command};

    /// (file, flags) → the `out` and `jobs` batch sees. (Environment variables sit between
    /// the two by clap's own rule: `env` is read before a default.)
    #[test]
    fn flags_beat_the_file() {
        let file = "out = \"from-file\"\njobs = 3\n";
        let cases: &[(&[&str], &str, usize)] = &[
            (&[], "from-file", 3),
            (&["--jobs", "2"], "from-file", 2),
            (&["--out", "from-flag"], "from-flag", 3),
        ];
        for (flags, want_out, want_jobs) in cases {
            let cmd = apply(Cli::command(), &parse(file).expect("valid"));
            let mut args = vec!["assay", "batch", "a", "s"];
            args.extend_from_slice(flags);
            let matches = cmd.try_get_matches_from(args).expect("parses");
            let cli = Cli::from_arg_matches(&matches).expect("builds");
            let Command::Batch(b) = cli.command else {
                panic!("batch")
            };
            assert_eq!(b.out, PathBuf::from(want_out), "{flags:?}");
            assert_eq!(b.jobs, *want_jobs, "{flags:?}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = parse("colour = \"never\"").expect_err("unknown key");
        assert!(err.to_string().contains("`colour`"), "{err}");
    }
}
