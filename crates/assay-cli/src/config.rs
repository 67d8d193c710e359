//! Settings from the configuration file, layered under clap's own: flags win, then the
//! `ASSAY_*` variables (each flag's `#[arg(env = …)]`, read by clap), then the file, then the
//! built-in defaults. A setting is declared once, as a flag with `env`; its file key is the
//! flag's id (`max_entries` for `--max-entries`), and the file's values become the flags'
//! defaults, so clap's own rule (flag > variable > default) finishes it.
//!
//! The file is `--config FILE`, else `$ASSAY_CONFIG`, else `./assay.toml`, else
//! `$XDG_CONFIG_HOME/assay/config.toml` (`~/.config/assay/config.toml`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// One setting: a flag declared with clap's `env`, global (`subcommand` none) or of one
/// subcommand. Found by walking the command, never listed by hand.
#[derive(Debug, Clone)]
struct Setting {
    /// The flag's id, which is also its configuration file key.
    key: String,
    /// Its `ASSAY_*` variable.
    env: String,
    subcommand: Option<String>,
}

/// Every flag of `cmd` (global, or of a subcommand) that has a variable.
fn settings(cmd: &clap::Command) -> Vec<Setting> {
    let of = |c: &clap::Command, subcommand: Option<&str>| -> Vec<Setting> {
        c.get_arguments()
            .filter_map(|a| {
                Some(Setting {
                    key: a.get_id().as_str().to_owned(),
                    env: a.get_env()?.to_string_lossy().into_owned(),
                    subcommand: subcommand.map(str::to_owned),
                })
            })
            .collect()
    };
    let mut all = of(cmd, None);
    for sub in cmd.get_subcommands() {
        all.extend(of(sub, Some(sub.get_name())));
    }
    all
}

/// The file keys (and their variables) of `cmd`'s settings, each once, in declaration order.
fn keys(settings: &[Setting]) -> Vec<(&str, &str)> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for s in settings {
        if !keys.iter().any(|(k, _)| *k == s.key) {
            keys.push((&s.key, &s.env));
        }
    }
    keys
}

/// A setting's value from the file (for error messages, where it came from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub key: String,
    pub value: String,
    pub source: String,
}

/// Reads the environment: `name` → value, `None` when unset.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment (a variable that is not UTF-8 counts as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `clap::Command` for `args`: the configuration file's values as the flags' defaults, the
/// variables (`env`, read by clap) checked here first so a bad one names itself, an empty
/// variable treated as unset, and the settings summarised in `--help`.
pub fn command(args: &[OsString], env: Env<'_>) -> Result<clap::Command> {
    use clap::CommandFactory;
    let cmd = crate::cli::Cli::command();
    let file = match locate(explicit_config(args).as_deref(), env)? {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            from_file(&cmd, &text, &path)?
        }
        None => Vec::new(),
    };
    let cmd = variables(cmd, env)?;
    Ok(documented(apply(cmd, &file)))
}

/// `cmd` with every variable set in `env` checked against its flag's parser (an error names
/// the variable), and an empty one dropped (clap would read it as an empty value).
fn variables(mut cmd: clap::Command, env: Env<'_>) -> Result<clap::Command> {
    for setting in settings(&cmd) {
        match env(&setting.env) {
            None => {}
            Some(raw) if raw.is_empty() => {
                cmd = on_arg(cmd, &setting, |a| a.env(None::<&'static str>));
            }
            Some(raw) => check(&cmd, &setting, &raw, &setting.env)?,
        }
    }
    Ok(cmd)
}

/// `f` applied to the setting's flag.
fn on_arg(
    cmd: clap::Command,
    setting: &Setting,
    f: impl FnOnce(clap::Arg) -> clap::Arg,
) -> clap::Command {
    let key = setting.key.clone();
    match &setting.subcommand {
        None => cmd.mut_arg(key, f),
        Some(sub) => cmd.mut_subcommand(sub, |s| s.mut_arg(key, f)),
    }
}

/// `raw` read by the setting's own flag (alone, as `--flag=raw`); an error names `source` and
/// the key.
fn check(cmd: &clap::Command, setting: &Setting, raw: &str, source: &str) -> Result<()> {
    let owner = match &setting.subcommand {
        None => Some(cmd),
        Some(sub) => cmd.find_subcommand(sub),
    };
    let Some(arg) = owner.and_then(|c| {
        c.get_arguments()
            .find(|a| a.get_id().as_str() == setting.key)
    }) else {
        return Ok(());
    };
    let long = arg.get_long().unwrap_or(setting.key.as_str()).to_owned();
    let alone = arg
        .clone()
        .env(None::<&'static str>)
        .global(false)
        .default_value(None::<&'static str>);
    let probe = clap::Command::new("assay").no_binary_name(true).arg(alone);
    if let Err(e) = probe.try_get_matches_from([format!("--{long}={raw}")]) {
        let message = e.to_string();
        let first = message.lines().next().unwrap_or_default();
        let why = first.strip_prefix("error: ").unwrap_or(first);
        bail!("{source}: `{}`: {why}", setting.key);
    }
    Ok(())
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

/// The settings of a configuration file (TOML), each checked by its flag's parser; unknown
/// keys and wrong types are errors naming the key and the file.
fn from_file(cmd: &clap::Command, text: &str, origin: &Path) -> Result<Vec<Value>> {
    let source = origin.display().to_string();
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{source} is not valid TOML"))?;
    let all = settings(cmd);
    let mut values = Vec::new();
    for (key, value) in table {
        let mut matching = all.iter().filter(|s| s.key == key).peekable();
        if matching.peek().is_none() {
            let known: Vec<&str> = keys(&all).into_iter().map(|(k, _)| k).collect();
            bail!(
                "{source}: unknown configuration key `{key}`; use one of {}",
                known.join(", ")
            );
        }
        let raw = match value {
            toml::Value::String(s) => s.trim().to_owned(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!(
                "{source}: `{key}` must be a string, number or boolean, not {}",
                other.type_str()
            ),
        };
        for setting in matching {
            check(cmd, setting, &raw, &source)?;
        }
        values.push(Value {
            key,
            value: raw,
            source: source.clone(),
        });
    }
    Ok(values)
}

/// `cmd` with the file's `values` as the defaults of their flags (wherever the key is a flag).
fn apply(mut cmd: clap::Command, values: &[Value]) -> clap::Command {
    let all = settings(&cmd);
    for v in values {
        // clap keeps `&'static str` defaults; a handful of short strings per process.
        let value: &'static str = Box::leak(v.value.clone().into_boxed_str());
        for setting in all.iter().filter(|s| s.key == v.key) {
            cmd = on_arg(cmd, setting, |a| a.default_value(value));
        }
    }
    cmd
}

/// `cmd` with its settings' variables shown without their values (`[env: ASSAY_OUT]`, never
/// a secret-looking path), and `--help`'s summary of settings, both from the flags themselves.
fn documented(mut cmd: clap::Command) -> clap::Command {
    let all = settings(&cmd);
    for setting in &all {
        cmd = on_arg(cmd, setting, |a| a.hide_env_values(true));
    }
    let keys = keys(&all);
    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    let vars: Vec<&str> = keys.iter().map(|(_, v)| *v).collect();
    let summary = format!(
        "{}\n\nSettings ({}) come from, in order:\n\
         1. flags;\n\
         2. ASSAY_* variables ({}; NO_COLOR turns colour off under --color auto), each shown \
         beside its flag; an empty one counts as unset;\n\
         3. a TOML file whose keys are the flags' names (max_entries for --max-entries): \
         --config FILE (or ASSAY_CONFIG), else ./assay.toml, else \
         $XDG_CONFIG_HOME/assay/config.toml. See docs/configuration.md.",
        crate::cli::EXIT_CODES,
        names.join(", "),
        vars.join(", ")
    );
    cmd.after_help(summary)
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches;

    use super::*;
    use crate::cli::{Cli, ColorChoice, Command};

    /// What `assay batch` ends up with.
    #[derive(Debug, PartialEq)]
    struct Seen {
        out: String,
        jobs: usize,
        seed: Option<u64>,
        test_mode: bool,
        color: ColorChoice,
    }

    /// Variables as (name, value).
    type Vars<'a> = &'a [(&'a str, &'a str)];

    /// `cmd` without this process's own variables (clap reads them when the command is
    /// made), so the cases see only their own.
    fn without_process_env(mut cmd: clap::Command) -> clap::Command {
        for setting in settings(&cmd) {
            cmd = on_arg(cmd, &setting, |a| a.env(None::<&'static str>));
        }
        cmd
    }

    /// Parses `assay batch` with `file` and `flags`; `env` is checked as `command` checks the
    /// process's variables.
    fn parse(file: &str, env: Vars<'_>, flags: &[&str]) -> Result<Seen> {
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let cmd = <Cli as clap::CommandFactory>::command();
        let file = from_file(&cmd, file, Path::new("assay.toml"))?;
        let cmd = without_process_env(apply(variables(cmd, &lookup)?, &file));
        let mut args = vec!["assay", "batch", "assessment", "submissions"];
        args.extend_from_slice(flags);
        let matches = cmd.try_get_matches_from(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let Command::Batch(b) = cli.command else {
            bail!("not batch")
        };
        Ok(Seen {
            out: b.out.display().to_string(),
            jobs: b.jobs,
            seed: b.seed,
            test_mode: b.test_mode,
            color: cli.color,
        })
    }

    /// Variables over the file are clap's own rule (a variable beats a default), run for real
    /// with the binary's environment in tests/it/cli.rs
    /// (`settings_come_from_flags_then_variables_then_the_file`).
    #[test]
    fn flags_beat_the_file_beat_built_in_defaults() {
        use ColorChoice::*;
        let file = "out = \"file\"\njobs = 3\nseed = 7\ntest_mode = true\ncolor = \"never\"\n";
        let seen = |out: &str, jobs, seed, test_mode, color| Seen {
            out: out.to_owned(),
            jobs,
            seed,
            test_mode,
            color,
        };
        #[rustfmt::skip]
        let cases: &[(&str, &[&str], Seen)] = &[
            // built-in defaults
            ("", &[], seen("out/batch", 1, None, false, Auto)),
            // the file alone
            (file, &[], seen("file", 3, Some(7), true, Never)),
            // a string with spaces around it, and a boolean written as a string
            ("out = \" padded \"\ntest_mode = \"1\"", &[], seen("padded", 1, None, true, Auto)),
            // flags over the file
            (file, &["--out", "flag", "--jobs", "4", "--seed", "5", "--test-mode=false", "--color", "auto"],
                seen("flag", 4, Some(5), false, Auto)),
            // a bare --test-mode turns it on
            ("", &["--test-mode"], seen("out/batch", 1, None, true, Auto)),
        ];
        for (file, flags, want) in cases {
            let seen = parse(file, &[], flags).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
            assert_eq!(&seen, want, "file {file:?}, flags {flags:?}");
        }
    }

    #[test]
    fn every_setting_is_a_flag_with_a_variable() {
        let cmd = <Cli as clap::CommandFactory>::command();
        let all = settings(&cmd);
        let found: Vec<(&str, &str)> = keys(&all);
        let want = [
            ("color", "ASSAY_COLOR"),
            ("extra_ca", "ASSAY_EXTRA_CA"),
            ("out", "ASSAY_OUT"),
            ("profile", "ASSAY_PROFILE"),
            ("seed", "ASSAY_SEED"),
            ("test_mode", "ASSAY_TEST_MODE"),
            ("runtime", "ASSAY_RUNTIME"),
            ("registries", "ASSAY_REGISTRIES"),
            ("performance_lane", "ASSAY_PERFORMANCE_LANE"),
            ("max_entries", "ASSAY_MAX_ENTRIES"),
            ("max_unpacked", "ASSAY_MAX_UNPACKED"),
            ("max_file_size", "ASSAY_MAX_FILE_SIZE"),
            ("jobs", "ASSAY_JOBS"),
        ];
        for pair in want {
            assert!(found.contains(&pair), "{pair:?} among {found:?}");
        }
        assert_eq!(found.len(), want.len(), "{found:?}");
        for setting in &all {
            assert_eq!(
                setting.env,
                format!("ASSAY_{}", setting.key.to_ascii_uppercase()),
                "a variable is its key in capitals"
            );
        }
        // `out` of regrade is not a setting (only run and batch read ASSAY_OUT).
        assert!(
            !all.iter()
                .any(|s| s.key == "out" && s.subcommand.as_deref() == Some("regrade"))
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let cases: &[(&str, Vars<'_>, &str)] = &[
            (
                "colour = \"never\"",
                &[],
                "unknown configuration key `colour`",
            ),
            ("jobs = 0", &[], "assay.toml: `jobs`"),
            ("max_unpacked = \"0\"", &[], "assay.toml: `max_unpacked`"),
            (
                "seed = [1]",
                &[],
                "`seed` must be a string, number or boolean",
            ),
            ("", &[("ASSAY_JOBS", "many")], "ASSAY_JOBS: `jobs`"),
            ("", &[("ASSAY_JOBS", "0")], "ASSAY_JOBS: `jobs`"),
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
        // Good variables pass, an empty one counts as unset.
        for env in [
            ("ASSAY_TEST_MODE", "1"),
            ("ASSAY_TEST_MODE", "off"),
            ("ASSAY_COLOR", "NEVER"),
            ("ASSAY_MAX_UNPACKED", "1GiB"),
            ("ASSAY_SEED", ""),
        ] {
            parse("", &[env], &[]).unwrap_or_else(|e| panic!("{env:?}: {e}"));
        }
    }

    #[test]
    fn help_names_each_variable_once_per_flag() {
        let help = documented(<Cli as clap::CommandFactory>::command())
            .render_long_help()
            .to_string();
        assert!(help.contains("ASSAY_TEST_MODE"), "{help}");
        assert!(help.contains("max_entries for --max-entries"), "{help}");
        let mut batch = documented(<Cli as clap::CommandFactory>::command());
        let batch = batch
            .find_subcommand_mut("batch")
            .map(|b| b.render_long_help().to_string())
            .unwrap_or_default();
        assert!(batch.contains("[env: ASSAY_JOBS]"), "{batch}");
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
