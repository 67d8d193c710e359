//! Settings from the environment (`ASSAY_*`) and the optional configuration file, layered
//! under the command line: flags win, then variables, then the file. Both become the
//! defaults of the matching flags, so clap's own rule (a flag beats a default) finishes it.
//!
//! The file is `--config FILE`, else `$ASSAY_CONFIG`, else `./assay.toml`, else
//! `$XDG_CONFIG_HOME/assay/config.toml` (`~/.config/assay/config.toml`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What a setting's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Seed,
    Jobs,
    Bool,
    Color,
    /// A whole number ≥ 1.
    Count,
    /// A byte size such as `512MiB`.
    Size,
}

/// One configurable setting: its file key, its variable, the subcommands whose flag it sets
/// (none: a global flag) and the flag's id.
#[derive(Debug)]
struct Setting {
    key: &'static str,
    env: &'static str,
    subcommands: &'static [&'static str],
    arg: &'static str,
    kind: Kind,
}

const SETTINGS: &[Setting] = &[
    Setting {
        key: "out",
        env: "ASSAY_OUT",
        subcommands: &["run", "batch"],
        arg: "out",
        kind: Kind::Text,
    },
    Setting {
        key: "profile",
        env: "ASSAY_PROFILE",
        subcommands: &["run", "batch", "regrade"],
        arg: "profile",
        kind: Kind::Text,
    },
    Setting {
        key: "seed",
        env: "ASSAY_SEED",
        subcommands: &["run", "batch"],
        arg: "seed",
        kind: Kind::Seed,
    },
    Setting {
        key: "jobs",
        env: "ASSAY_JOBS",
        subcommands: &["batch"],
        arg: "jobs",
        kind: Kind::Jobs,
    },
    Setting {
        key: "test_mode",
        env: "ASSAY_TEST_MODE",
        subcommands: &["run", "batch"],
        arg: "test_mode",
        kind: Kind::Bool,
    },
    Setting {
        key: "runtime",
        env: "ASSAY_RUNTIME",
        subcommands: &["run", "batch"],
        arg: "runtime",
        kind: Kind::Text,
    },
    Setting {
        key: "max_entries",
        env: "ASSAY_MAX_ENTRIES",
        subcommands: &["run", "batch"],
        arg: "max_entries",
        kind: Kind::Count,
    },
    Setting {
        key: "max_unpacked",
        env: "ASSAY_MAX_UNPACKED",
        subcommands: &["run", "batch"],
        arg: "max_unpacked",
        kind: Kind::Size,
    },
    Setting {
        key: "max_file_size",
        env: "ASSAY_MAX_FILE_SIZE",
        subcommands: &["run", "batch"],
        arg: "max_file_size",
        kind: Kind::Size,
    },
    Setting {
        key: "registries",
        env: "ASSAY_REGISTRIES",
        subcommands: &["run", "batch"],
        arg: "registries",
        kind: Kind::Text,
    },
    Setting {
        key: "performance_lane",
        env: "ASSAY_PERFORMANCE_LANE",
        subcommands: &["run", "batch"],
        arg: "performance_lane",
        kind: Kind::Text,
    },
    Setting {
        key: "extra_ca",
        env: "ASSAY_EXTRA_CA",
        subcommands: &[],
        arg: "extra_ca",
        kind: Kind::Text,
    },
    Setting {
        key: "color",
        env: "ASSAY_COLOR",
        subcommands: &[],
        arg: "color",
        kind: Kind::Color,
    },
];

/// A setting's value and where it came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub key: &'static str,
    pub value: String,
    pub source: String,
}

/// Reads the environment: `name` → value, `None` when unset.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment (a variable that is not UTF-8 counts as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `clap::Command` for `args`, with variables and the configuration file as defaults.
pub fn command(args: &[OsString], env: Env<'_>) -> Result<clap::Command> {
    use clap::CommandFactory;
    let file = match locate(explicit_config(args).as_deref(), env)? {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            from_file(&text, &path)?
        }
        None => Vec::new(),
    };
    Ok(apply(
        crate::cli::Cli::command(),
        &layer(file, from_env(env)?),
    ))
}

/// `--config FILE` or `--config=FILE` among `args`, read before clap parses them.
fn explicit_config(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.to_str().and_then(|s| s.strip_prefix("--config=")) {
            return Some(PathBuf::from(p));
        }
    }
    None
}

/// The file to read, if any: `explicit` (from `--config`) and `$ASSAY_CONFIG` must exist;
/// `./assay.toml` and the XDG file may not.
pub fn locate(explicit: Option<&Path>, env: Env<'_>) -> Result<Option<PathBuf>> {
    let named = explicit.map(|p| (p.to_owned(), "--config")).or_else(|| {
        env("ASSAY_CONFIG")
            .filter(|v| !v.is_empty())
            .map(|v| (PathBuf::from(v), "ASSAY_CONFIG"))
    });
    if let Some((p, how)) = named {
        if !p.is_file() {
            bail!(
                "the configuration file {} (from {how}) does not exist; fix the path or remove {how}",
                p.display()
            );
        }
        return Ok(Some(p));
    }
    let local = PathBuf::from("assay.toml");
    if local.is_file() {
        return Ok(Some(local));
    }
    let base = env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")));
    Ok(base
        .map(|b| b.join("assay").join("config.toml"))
        .filter(|p| p.is_file()))
}

/// The settings of a configuration file (TOML); unknown keys and wrong types are errors
/// naming the key and the file.
pub fn from_file(text: &str, origin: &Path) -> Result<Vec<Value>> {
    let source = origin.display().to_string();
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{source} is not valid TOML"))?;
    let mut values = Vec::new();
    for (key, value) in table {
        let Some(setting) = SETTINGS.iter().find(|s| s.key == key) else {
            let known: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
            bail!(
                "{source}: unknown configuration key `{key}`; use one of {}",
                known.join(", ")
            );
        };
        let raw = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!(
                "{source}: `{key}` must be a string, number or boolean, not {}",
                other.type_str()
            ),
        };
        values.push(Value {
            key: setting.key,
            value: normalise(setting, &raw, &source)?,
            source: source.clone(),
        });
    }
    Ok(values)
}

/// The settings of the `ASSAY_*` variables that are set (an empty variable counts as unset).
pub fn from_env(env: Env<'_>) -> Result<Vec<Value>> {
    let mut values = Vec::new();
    for setting in SETTINGS {
        let Some(raw) = env(setting.env).filter(|v| !v.is_empty()) else {
            continue;
        };
        values.push(Value {
            key: setting.key,
            value: normalise(setting, &raw, setting.env)?,
            source: setting.env.to_owned(),
        });
    }
    Ok(values)
}

/// `file`'s values with `env`'s on top (a variable beats the file).
pub fn layer(file: Vec<Value>, env: Vec<Value>) -> Vec<Value> {
    let mut values: Vec<Value> = file
        .into_iter()
        .filter(|f| !env.iter().any(|e| e.key == f.key))
        .collect();
    values.extend(env);
    values
}

/// Checks `raw` against the setting's kind and writes it as clap reads it.
fn normalise(setting: &Setting, raw: &str, source: &str) -> Result<String> {
    let raw = raw.trim();
    let key = setting.key;
    Ok(match setting.kind {
        Kind::Text => raw.to_owned(),
        Kind::Seed => match raw.parse::<u64>() {
            Ok(n) => n.to_string(),
            Err(_) => bail!("{source}: `{key}` must be a whole number ≥ 0, not `{raw}`"),
        },
        Kind::Count => match raw.parse::<u64>() {
            Ok(n) if n >= 1 => n.to_string(),
            _ => bail!("{source}: `{key}` must be a whole number ≥ 1, not `{raw}`"),
        },
        Kind::Size => match crate::cli::parse_size(raw) {
            Ok(_) => raw.to_owned(),
            Err(e) => bail!("{source}: `{key}`: {e}"),
        },
        Kind::Jobs => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n.to_string(),
            _ => bail!("{source}: `{key}` must be a whole number ≥ 1, not `{raw}`"),
        },
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => "true".to_owned(),
            "0" | "false" | "no" | "off" => "false".to_owned(),
            _ => bail!("{source}: `{key}` must be true or false (or 1/0), not `{raw}`"),
        },
        Kind::Color => match raw.to_ascii_lowercase().as_str() {
            v @ ("auto" | "always" | "never") => v.to_owned(),
            _ => bail!("{source}: `{key}` must be auto, always or never, not `{raw}`"),
        },
    })
}

/// `cmd` with `values` as the defaults of their flags.
pub fn apply(mut cmd: clap::Command, values: &[Value]) -> clap::Command {
    for v in values {
        let Some(setting) = SETTINGS.iter().find(|s| s.key == v.key) else {
            continue;
        };
        // clap keeps `&'static str` defaults; a handful of short strings per process.
        let value: &'static str = Box::leak(v.value.clone().into_boxed_str());
        if setting.subcommands.is_empty() {
            cmd = cmd.mut_arg(setting.arg, |a| a.default_value(value));
        }
        for sub in setting.subcommands {
            cmd = cmd.mut_subcommand(*sub, |s| s.mut_arg(setting.arg, |a| a.default_value(value)));
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches;

    use super::*;
    use crate::cli::{Cli, ColorChoice, Command};

    /// What `assay batch` ends up with.
    #[derive(Debug, PartialEq)]
    struct Seen {
        out: &'static str,
        jobs: usize,
        seed: Option<u64>,
        test_mode: bool,
        color: ColorChoice,
    }

    /// Variables as (name, value).
    type Vars<'a> = &'a [(&'a str, &'a str)];

    fn parse(file: &str, env: Vars<'_>, flags: &[&str]) -> Result<Seen> {
        let file = from_file(file, Path::new("assay.toml"))?;
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let cmd = apply(
            <Cli as clap::CommandFactory>::command(),
            &layer(file, from_env(&lookup)?),
        );
        let mut args = vec!["assay", "batch", "assessment", "submissions"];
        args.extend_from_slice(flags);
        let matches = cmd.try_get_matches_from(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let Command::Batch(b) = cli.command else {
            bail!("not batch")
        };
        Ok(Seen {
            out: Box::leak(b.out.display().to_string().into_boxed_str()),
            jobs: b.jobs,
            seed: b.seed,
            test_mode: b.test_mode,
            color: cli.color,
        })
    }

    #[test]
    fn flags_beat_variables_beat_the_file_beat_built_in_defaults() {
        use ColorChoice::*;
        let file = "out = \"file\"\njobs = 3\nseed = 7\ntest_mode = true\ncolor = \"never\"\n";
        #[rustfmt::skip]
        let cases: &[(&str, Vars<'_>, &[&str], Seen)] = &[
            // built-in defaults
            ("", &[], &[], Seen { out: "out/batch", jobs: 1, seed: None, test_mode: false, color: Auto }),
            // the file alone
            (file, &[], &[], Seen { out: "file", jobs: 3, seed: Some(7), test_mode: true, color: Never }),
            // variables over the file
            (file, &[("ASSAY_OUT", "env"), ("ASSAY_JOBS", "2"), ("ASSAY_TEST_MODE", "0"), ("ASSAY_COLOR", "always")], &[],
                Seen { out: "env", jobs: 2, seed: Some(7), test_mode: false, color: Always }),
            // variables without a file; `1` is true
            ("", &[("ASSAY_TEST_MODE", "1"), ("ASSAY_SEED", "42")], &[],
                Seen { out: "out/batch", jobs: 1, seed: Some(42), test_mode: true, color: Auto }),
            // an empty variable counts as unset
            (file, &[("ASSAY_OUT", "")], &[], Seen { out: "file", jobs: 3, seed: Some(7), test_mode: true, color: Never }),
            // flags over variables over the file
            (file, &[("ASSAY_OUT", "env"), ("ASSAY_JOBS", "2"), ("ASSAY_SEED", "9")],
                &["--out", "flag", "--jobs", "4", "--seed", "5", "--test-mode=false", "--color", "auto"],
                Seen { out: "flag", jobs: 4, seed: Some(5), test_mode: false, color: Auto }),
            // a bare --test-mode turns it on
            ("", &[], &["--test-mode"], Seen { out: "out/batch", jobs: 1, seed: None, test_mode: true, color: Auto }),
        ];
        for (file, env, flags, want) in cases {
            let seen = parse(file, env, flags).unwrap_or_else(|e| panic!("{env:?} {flags:?}: {e}"));
            assert_eq!(&seen, want, "file {file:?}, env {env:?}, flags {flags:?}");
        }
    }

    #[test]
    fn bad_values_name_their_source() {
        let cases: &[(&str, Vars<'_>, &str)] = &[
            (
                "colour = \"never\"",
                &[],
                "unknown configuration key `colour`",
            ),
            (
                "jobs = 0",
                &[],
                "assay.toml: `jobs` must be a whole number ≥ 1",
            ),
            (
                "seed = [1]",
                &[],
                "`seed` must be a string, number or boolean",
            ),
            ("", &[("ASSAY_JOBS", "many")], "ASSAY_JOBS: `jobs`"),
            (
                "",
                &[("ASSAY_TEST_MODE", "maybe")],
                "ASSAY_TEST_MODE: `test_mode`",
            ),
            ("", &[("ASSAY_COLOR", "pink")], "ASSAY_COLOR: `color`"),
        ];
        for (file, env, want) in cases {
            let err = parse(file, env, &[]).expect_err("refused");
            assert!(err.to_string().contains(want), "{err} should say {want}");
        }
    }

    #[test]
    fn config_is_found_before_clap_parses() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            explicit_config(&args(&["assay", "--config", "a.toml", "run"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            explicit_config(&args(&["assay", "run", "--config=b.toml"])),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(
            explicit_config(&args(&["assay", "run", "--", "--config"])),
            None
        );
        let none = |_: &str| None;
        let err = locate(Some(Path::new("/nonexistent/assay.toml")), &none)
            .expect_err("a named file must exist");
        assert!(err.to_string().contains("--config"), "{err}");
    }
}
