//! Semantic validation after parsing: ids, skills, kinds, profiles, `needs`, and every
//! `{{ variable }}` checked against what is in scope where it is used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::load::ParsedSuite;
use crate::model::*;
use crate::{Diagnostic, Template};

/// Generators: `{{ gen.NAME }}`, a fresh value at each use.
pub const GENERATORS: &[&str] = &["email", "uuid", "key", "amount", "password", "word", "int"];

/// Variables the engine defines for every run: `{{ run.NAME }}`.
pub const RUN_VARS: &[&str] = &["seed", "id"];

/// Fields every principal has besides its captures.
const PRINCIPAL_FIELDS: &[&str] = &["name", "email", "password", "token"];

/// Names in scope at one place of the assessment.
#[derive(Debug, Clone, Default)]
struct Scope {
    /// Plain variables (vars, captures, engine-provided names like `copy`).
    names: BTreeSet<String>,
    /// Principal name → its fields.
    principals: BTreeMap<String, BTreeSet<String>>,
    secrets: BTreeSet<String>,
    /// `race.GROUP.*` groups in scope.
    races: BTreeSet<String>,
}

impl Scope {
    fn with(&self, names: impl IntoIterator<Item = String>) -> Scope {
        let mut s = self.clone();
        s.names.extend(names);
        s
    }

    /// Why `path` is not defined here, or `None` when it is.
    fn undefined(&self, path: &[String]) -> Option<String> {
        let root = path.first()?.as_str();
        let second = path.get(1).map(String::as_str);
        match root {
            "gen" => match second {
                Some(g) if GENERATORS.contains(&g) => None,
                _ => Some(format!(
                    "unknown generator: use one of gen.{}",
                    GENERATORS.join(", gen.")
                )),
            },
            "secret" => match second {
                Some(s) if self.secrets.contains(s) => None,
                _ => Some("unknown secret: declare it under `secrets:` in assessment.yaml".into()),
            },
            "run" => match second {
                Some(r) if RUN_VARS.contains(&r) => None,
                _ => Some(format!(
                    "unknown run variable: use one of run.{}",
                    RUN_VARS.join(", run.")
                )),
            },
            "race" => match second {
                Some(g) if self.races.contains(g) => None,
                _ => {
                    Some("`race.*` is only in scope after a race, naming one of its groups".into())
                }
            },
            _ if self.principals.contains_key(root) => match second {
                None => Some(format!(
                    "`{root}` is a principal: name a field, e.g. `{root}.token`"
                )),
                Some(f) if self.principals.get(root).is_some_and(|fs| fs.contains(f)) => None,
                Some(f) => Some(format!("principal `{root}` has no field `{f}`")),
            },
            _ if self.names.contains(root) => None,
            _ => Some(
                "not defined here: define it in `vars:` or capture it in an earlier step".into(),
            ),
        }
    }
}

struct Validator<'a> {
    problems: Vec<Diagnostic>,
    file: &'a Path,
    /// The assessment has `database` settings (for SQL seeding).
    has_database: bool,
    /// Names of `shapes:`.
    shapes: BTreeSet<String>,
    /// What is in scope for run-wide (`never`) checks: global variables and principals.
    global: Scope,
    /// Names of the sidecars, and the one `database` checks use.
    sidecars: BTreeSet<String>,
    database_sidecar: Option<String>,
}

impl Validator<'_> {
    fn at(&mut self, loc: Loc, message: impl Into<String>, hint: Option<&str>) {
        let d = Diagnostic::at(self.file, loc, message);
        self.problems.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }

    fn template(&mut self, loc: Loc, scope: &Scope, t: &Template) {
        match t.parts() {
            Err(e) => self.at(loc, e, Some("write variables as `{{ name }}`")),
            Ok(parts) => {
                for part in parts {
                    if let crate::TemplatePart::Var(path) = part
                        && let Some(why) = scope.undefined(&path)
                    {
                        self.at(
                            loc,
                            format!("undefined variable `{{{{ {} }}}}`: {why}", path.join(".")),
                            None,
                        );
                    }
                }
            }
        }
    }

    fn json(&mut self, loc: Loc, scope: &Scope, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.template(loc, scope, &Template(s.clone())),
            serde_json::Value::Array(a) => a.iter().for_each(|x| self.json(loc, scope, x)),
            serde_json::Value::Object(m) => m.values().for_each(|x| self.json(loc, scope, x)),
            _ => {}
        }
    }

    fn request(&mut self, loc: Loc, scope: &Scope, r: &Request) {
        const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
        if !METHODS.contains(&r.method.as_str()) {
            self.at(
                loc,
                format!("unknown HTTP method `{}`", r.method),
                Some("use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS"),
            );
        }
        if !r.path.as_str().starts_with('/') {
            self.at(
                loc,
                format!("path `{}` must start with `/`", r.path.as_str()),
                None,
            );
        }
        self.template(loc, scope, &r.path);
        for t in r.query.values().chain(r.headers.values()) {
            self.template(loc, scope, t);
        }
        if let Some(j) = &r.json {
            self.json(loc, scope, j);
        }
        if let Some(b) = &r.body {
            self.template(loc, scope, b);
        }
        if r.json.is_some() && r.body.is_some() {
            self.at(loc, "a request has either `json` or `body`, not both", None);
        }
        if let Some(Auth::Principal(p)) = &r.auth
            && !scope.principals.contains_key(p)
        {
            self.at(
                loc,
                format!("unknown principal `{p}`"),
                Some("declare it under `principals.names` in assessment.yaml"),
            );
        }
        if let Some(Auth::Crafted(CraftedAuth {
            as_principal: Some(p),
            ..
        })) = &r.auth
            && !scope.principals.contains_key(p)
        {
            self.at(
                loc,
                format!("unknown principal `{p}`"),
                Some("declare it under `principals.names` in assessment.yaml"),
            );
        }
    }

    /// Validates steps in order; returns the scope after their captures.
    fn steps(&mut self, scope: &Scope, steps: &[Located<Step>]) -> Scope {
        let mut scope = scope.clone();
        for step in steps {
            self.step(step.loc, &scope, &step.value);
            scope.names.extend(step.value.capture.keys().cloned());
        }
        scope
    }

    fn step(&mut self, loc: Loc, scope: &Scope, step: &Step) {
        // A repeated step knows its repetition, `{{ i }}` (1, 2, …).
        let repeated;
        let scope = if step.repeat.is_some() {
            repeated = scope.with(["i".to_owned()]);
            &repeated
        } else {
            scope
        };
        self.request(loc, scope, &step.request);
        self.expect(loc, scope, &step.expect);
        self.lesser(scope, &step.partial);
    }

    /// Lesser readings: a credit strictly between 0 and 1, a reason, a valid expectation.
    fn lesser(&mut self, scope: &Scope, partial: &[Located<Lesser>]) {
        for l in partial {
            if !(l.value.credit.is_finite() && l.value.credit > 0.0 && l.value.credit < 1.0) {
                self.at(
                    l.loc,
                    format!(
                        "the credit of a lesser reading must be between 0 and 1 (exclusive), not {}",
                        l.value.credit
                    ),
                    Some("full credit is `expect` itself; a reading worth nothing needs no entry"),
                );
            }
            if l.value.why.trim().is_empty() {
                self.at(
                    l.loc,
                    "a lesser reading says `why` it earns credit",
                    Some("e.g. `why: \"403 where 401 is asked: a common framework default\"`"),
                );
            }
            self.expect(l.loc, scope, &l.value.expect);
        }
    }

    /// A shape: every name it uses is a type or a key of `shapes:`.
    fn shape(&mut self, loc: Loc, shape: &crate::Shape) {
        let mut names = BTreeSet::new();
        shape.references(&mut names);
        for n in names {
            if !self.shapes.contains(&n) {
                self.at(
                    loc,
                    format!("unknown shape `{n}`"),
                    Some(&format!(
                        "use a type ({}) or define it under `shapes:` in assessment.yaml",
                        crate::SHAPE_TYPES.join(", ")
                    )),
                );
            }
        }
    }

    fn expect(&mut self, loc: Loc, scope: &Scope, e: &Expect) {
        if let Some(code) = &e.error {
            self.template(loc, scope, code);
        }
        for p in e
            .headers
            .values()
            .chain(e.json.values())
            .chain(e.body.iter())
        {
            self.predicate(loc, scope, p);
        }
        if let Some(shape) = &e.shape {
            self.shape(loc, shape);
        }
        for path in e.json.keys() {
            if !path.starts_with('$') {
                self.at(
                    loc,
                    format!("`{path}` is not a JSONPath"),
                    Some("JSONPaths start with `$`, e.g. `$.data[0].id`"),
                );
            }
        }
    }

    fn predicate(&mut self, loc: Loc, scope: &Scope, p: &Predicate) {
        match p {
            Predicate::Contains(t) | Predicate::NotContains(t) => self.template(loc, scope, t),
            Predicate::Equals(v) | Predicate::NotEquals(v) => self.json(loc, scope, v),
            Predicate::OneOf(vs) | Predicate::Set(vs) | Predicate::Includes(vs) => {
                vs.iter().for_each(|v| self.json(loc, scope, v))
            }
            Predicate::Shape(shape) => self.shape(loc, shape),
            Predicate::Optional(inner) => self.predicate(loc, scope, inner),
            Predicate::Matches(r) | Predicate::NotMatches(r) if r.is_empty() => {
                self.at(loc, "empty regular expression", None);
            }
            _ => {}
        }
    }

    fn check(&mut self, scope: &Scope, check: &Located<Check>) {
        let loc = check.loc;
        let c = &check.value;
        let id = &c.id.value;
        if id.is_empty()
            || !id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            self.at(
                c.id.loc,
                format!("check id `{id}` must be kebab-case"),
                Some("use lowercase letters, digits and `-`"),
            );
        }
        if c.skills.value.is_empty() {
            self.at(
                c.skills.loc,
                format!("check `{id}` names no skill"),
                Some("every check evidences at least one skill, e.g. `skills: {api-design: 1}`"),
            );
        }
        for (skill, w) in &c.skills.value {
            if !(w.is_finite() && *w > 0.0) {
                self.at(
                    c.skills.loc,
                    format!("weight of `{skill}` must be a positive number"),
                    None,
                );
            }
        }
        for skill in &c.critical {
            if !c.skills.value.contains_key(skill) {
                self.at(
                    c.skills.loc,
                    format!("check `{id}` is critical for `{skill}`, which it does not evidence"),
                    Some("list the skill in `skills` too, or drop it from `critical`"),
                );
            }
        }
        let kinds = c.kinds();
        if kinds.len() != 1 {
            let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            self.at(
                loc,
                format!(
                    "check `{id}` must have exactly one kind, found {}",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                ),
                Some(
                    "add one of http, concurrent, load, security, database, lifecycle, repository, never, growth",
                ),
            );
        }
        let mut scope = scope.with(c.vars.keys().cloned());
        for t in c.vars.values() {
            self.template(loc, &scope, t);
        }
        match c.kind() {
            Some(KindKey::Http(steps)) => {
                if steps.is_empty() {
                    self.at(loc, format!("check `{id}` has no steps"), None);
                }
                self.steps(&scope, steps);
            }
            Some(KindKey::Concurrent(cc)) => {
                scope = self.steps(&scope, &cc.before);
                for g in &cc.race {
                    let race_scope = scope.with(["copy".to_owned()]);
                    self.request(loc, &race_scope, &g.request);
                    if g.copies == 0 || g.copies > 256 {
                        self.at(
                            loc,
                            format!("race group `{}` must have 1 to 256 copies", g.name),
                            None,
                        );
                    }
                    scope.races.insert(g.name.clone());
                }
                let after = self.steps(&scope, &cc.after);
                for cmp in &cc.verify {
                    self.template(cmp.loc, &after, &cmp.value.left);
                    self.template(cmp.loc, &after, &cmp.value.right);
                }
            }
            Some(KindKey::Load(l)) => {
                scope = self.steps(&scope, &l.before);
                if let Some(seed) = &l.seed {
                    if !(1..=256).contains(&seed.concurrency) {
                        self.at(
                            loc,
                            format!(
                                "`seed.concurrency` must be 1 to 256, not {}",
                                seed.concurrency
                            ),
                            None,
                        );
                    }
                    match (&seed.request, &seed.sql) {
                        (Some(r), None) => self.request(loc, &scope.with(["n".to_owned()]), r),
                        (None, Some(sql)) => {
                            self.template(loc, &scope.with(["count".to_owned()]), sql);
                            if !self.has_database {
                                self.at(
                                    loc,
                                    "`seed.sql` needs the assessment's `database` settings",
                                    Some("add `database: {sidecar: db, user: …, password: …, dbname: …}` to assessment.yaml"),
                                );
                            }
                        }
                        _ => self.at(
                            loc,
                            "a seed sets exactly one of `request` (through the API) and `sql` (through the database)",
                            None,
                        ),
                    }
                }
                if l.mix.is_empty() {
                    self.at(
                        loc,
                        "a load check needs at least one request in `mix`",
                        None,
                    );
                }
                for m in &l.mix {
                    self.request(loc, &scope, &m.request);
                }
                if l.model == LoadModelKind::Open && l.rate.is_none() {
                    self.at(
                        loc,
                        "an open-model load check needs a `rate` (requests per second)",
                        Some("add `rate: 100`, or set `model: closed`"),
                    );
                }
                if let Some(s) = &l.scaling {
                    self.request(loc, &scope, &s.small);
                    self.request(loc, &scope, &s.large);
                }
            }
            Some(KindKey::Security(s)) => self.security(loc, &scope, s),
            Some(KindKey::Database(d)) => {
                if let Some(q) = &d.query {
                    self.template(loc, &scope, q);
                }
                for t in &d.nowhere {
                    self.template(loc, &scope, t);
                }
                if d.query.is_none() && d.nowhere.is_empty() {
                    self.at(loc, "a database check needs a `query` or `nowhere`", None);
                }
                if !d.forms.is_empty() && d.nowhere.is_empty() {
                    self.at(
                        loc,
                        "`forms` says how `nowhere` values are searched; add `nowhere`",
                        None,
                    );
                }
                if d.max_rows == 0 {
                    self.at(loc, "`max_rows` must be at least 1", None);
                }
            }
            Some(KindKey::Lifecycle(l)) => {
                let s = self.steps(&scope, &l.before);
                self.steps(&s, &l.after);
                let on_database = matches!(
                    l.action,
                    LifecycleAction::DatabaseRestart | LifecycleAction::DatabaseLate
                );
                if on_database && l.sidecar.is_none() && self.database_sidecar.is_none() {
                    self.at(
                        loc,
                        format!("`{:?}` needs a sidecar to act on", l.action),
                        Some("add `sidecar: db`, or the assessment's `database:` settings"),
                    );
                }
                if let Some(name) = &l.sidecar
                    && !self.sidecars.contains(name)
                {
                    self.at(
                        loc,
                        format!("`sidecar: {name}` is not a sidecar of the assessment"),
                        None,
                    );
                }
                if !on_database && (l.sidecar.is_some() || l.down_for.is_some()) {
                    self.at(
                        loc,
                        "`sidecar` and `down_for` go with `database_restart` and `database_late`",
                        None,
                    );
                }
                if l.recover_within.is_some() && l.action != LifecycleAction::DatabaseRestart {
                    self.at(loc, "`recover_within` goes with `database_restart`", None);
                }
                if l.action == LifecycleAction::DatabaseRestart && l.after.is_empty() {
                    self.at(
                        loc,
                        "a `database_restart` needs `after` steps: they show whether the service serves again",
                        Some("add a request that reads or writes through the database"),
                    );
                }
            }
            Some(KindKey::Repository(r)) => {
                let set = [
                    r.readme.is_some(),
                    r.tests.is_some(),
                    r.migrations.is_some(),
                    r.dockerfile.is_some(),
                    r.history.is_some(),
                    r.no_tracked.is_some(),
                    r.stack.is_some(),
                    r.run_tests.is_some(),
                    r.dependencies.is_some(),
                    r.versioned_migrations.is_some(),
                ]
                .iter()
                .filter(|x| **x)
                .count();
                if set != 1 {
                    self.at(loc, "a repository check sets exactly one rule", Some("one of readme, tests, run_tests, migrations, versioned_migrations, dockerfile, history, no_tracked, stack, dependencies"));
                }
            }
            Some(KindKey::Never(n)) => self.never(loc, n),
            Some(KindKey::Growth(g)) => self.growth(loc, &scope, g),
            None => {}
        }
    }

    fn never(&mut self, loc: Loc, n: &NeverCheck) {
        if !n.server_error && !n.leak && !n.hashes && n.forbid.is_empty() && n.reveal.is_empty() {
            self.at(
                loc,
                "a never check sets at least one rule",
                Some("server_error, leak, forbid, reveal or hashes"),
            );
        }
        if n.forbid.iter().any(String::is_empty) {
            self.at(loc, "empty regular expression in `forbid`", None);
        }
        let global = self.global.clone();
        for t in &n.reveal {
            if t.as_str().trim().is_empty() {
                self.at(
                    loc,
                    "an empty value in `reveal` would match every body",
                    None,
                );
            }
            // Judged over the whole run: only what every suite sees is in scope.
            self.template(loc, &global, t);
        }
    }

    fn growth(&mut self, loc: Loc, scope: &Scope, g: &GrowthCheck) {
        let scope = self.steps(scope, &g.before);
        if g.grow.is_empty() {
            self.at(loc, "a growth check needs `grow` steps", None);
        }
        let after = self.steps(&scope.with(["n".to_owned()]), &g.grow);
        self.step(loc, &after, &g.measure);
        match g.sizes.as_slice() {
            [small, large] if 0 < *small && small < large && *large <= 10_000 => {}
            _ => self.at(
                loc,
                format!(
                    "`sizes` must be two sizes, smaller first, 1 to 10000: found {:?}",
                    g.sizes
                ),
                Some("e.g. `sizes: [1, 50]`"),
            ),
        }
        if !(1..=1000).contains(&g.samples) {
            self.at(loc, "`samples` must be 1 to 1000", None);
        }
        if g.warmup > 100 {
            self.at(loc, "`warmup` must be at most 100", None);
        }
        let r = g.ratio;
        if !(r.target.is_finite() && r.floor.is_finite() && 1.0 <= r.target && r.target < r.floor) {
            self.at(
                loc,
                "`ratio` needs 1 <= target < floor (larger ratios are worse)",
                Some("e.g. `ratio: {target: 2, floor: 6}`"),
            );
        }
    }

    fn security(&mut self, loc: Loc, scope: &Scope, s: &SecurityCheck) {
        let set = [
            s.auth_matrix.is_some(),
            s.ownership.is_some(),
            s.injection.is_some(),
            s.leakage.is_some(),
            s.rate_limit.is_some(),
            s.headers.is_some(),
            s.secrets.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if set != 1 {
            self.at(loc, "a security check sets exactly one probe", Some("one of auth_matrix, ownership, injection, leakage, rate_limit, headers, secrets"));
        }
        if let Some(m) = &s.auth_matrix {
            let sc = self.steps(scope, &m.before);
            m.endpoints.iter().for_each(|r| self.request(loc, &sc, r));
            self.lesser(&sc, &m.partial);
        }
        if let Some(o) = &s.ownership {
            let sc = self.steps(scope, &o.before);
            o.requests.iter().for_each(|r| self.request(loc, &sc, r));
            if !sc.principals.contains_key(&o.intruder) {
                self.at(loc, format!("unknown principal `{}`", o.intruder), None);
            }
            self.steps(&sc, &o.after);
        }
        if let Some(i) = &s.injection {
            let sc = self.steps(scope, &i.before);
            self.request(loc, &sc.with(["payload".to_owned()]), &i.request);
        }
        if let Some(l) = &s.leakage {
            let sc = self.steps(scope, &l.before);
            l.requests.iter().for_each(|r| self.request(loc, &sc, r));
        }
        if let Some(r) = &s.rate_limit {
            let sc = self.steps(scope, &r.before);
            self.request(loc, &sc, &r.request);
            if let Some(x) = &r.still_refused {
                self.request(loc, &sc, x);
            }
            if let Some(x) = &r.unaffected {
                self.step(loc, &sc, x);
            }
        }
        if let Some(h) = &s.headers {
            self.request(loc, scope, &h.request);
        }
    }
}

/// Every problem in a parsed assessment.
pub(crate) fn validate(
    f: &AssessmentFile,
    suites: &[ParsedSuite],
    root_path: &Path,
) -> Vec<Diagnostic> {
    let mut v = Validator {
        problems: Vec::new(),
        file: root_path,
        has_database: f.database.is_some(),
        shapes: f.shapes.keys().cloned().collect(),
        global: Scope::default(),
        sidecars: f.sidecars.keys().cloned().collect(),
        database_sidecar: f.database.as_ref().map(|d| d.sidecar.clone()),
    };
    for (name, shape) in &f.shapes {
        if crate::SHAPE_TYPES.contains(&name.as_str()) || name.is_empty() || name.ends_with('?') {
            v.at(
                shape.loc,
                format!("`{name}` cannot name a shape: it is a type name or ends with `?`"),
                Some("pick another name, e.g. `error_body`"),
            );
        }
        v.shape(shape.loc, &shape.value);
    }
    let scheme = &f.service.auth_scheme;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        v.at(
            Loc::default(),
            format!("`service.auth_scheme` `{scheme}` is not an HTTP auth scheme"),
            Some("write one word, e.g. `Bearer` or `Token`"),
        );
    }

    // Global scope.
    let mut global = Scope {
        secrets: f.secrets.iter().cloned().collect(),
        ..Scope::default()
    };
    global.names.extend(f.vars.keys().cloned());
    for t in f.vars.values() {
        v.template(Loc::default(), &global, t);
    }
    for t in f.service.env.values() {
        v.template(Loc::default(), &global, t);
    }
    for (name, sc) in &f.sidecars {
        for t in sc.env.values() {
            v.template(Loc::default(), &global, t);
        }
        if sc.ready.is_empty() {
            v.at(
                Loc::default(),
                format!("sidecar `{name}` needs a `ready` command"),
                None,
            );
        }
    }
    if let Some(db) = &f.database {
        if !f.sidecars.contains_key(&db.sidecar) {
            v.at(
                Loc::default(),
                format!(
                    "`database.sidecar` names `{}`, which is not a sidecar",
                    db.sidecar
                ),
                None,
            );
        }
        for t in [&db.user, &db.password, &db.dbname] {
            v.template(Loc::default(), &global, t);
        }
    }
    if let Some(j) = &f.jwt {
        v.template(Loc::default(), &global, &j.secret);
    }

    if let Some(p) = &f.principals {
        let mut pscope = global.with(["principal".to_owned()]);
        // `principal.*` fields: the built-ins; captures are added as we go.
        let mut fields: BTreeSet<String> = PRINCIPAL_FIELDS.iter().map(|s| s.to_string()).collect();
        for steps in [&p.register, &p.login] {
            for step in steps {
                v.step(step.loc, &pscope, &step.value);
                fields.extend(step.value.capture.keys().cloned());
                pscope.names.extend(step.value.capture.keys().cloned());
            }
        }
        if !p
            .login
            .iter()
            .any(|s| s.value.capture.contains_key("token"))
        {
            v.at(
                Loc::default(),
                "`principals.login` must capture `token`",
                Some("add `capture: {token: \"$.access_token\"}`"),
            );
        }
        let mut seen = BTreeSet::new();
        for n in &p.names {
            if !seen.insert(n.value.clone()) {
                v.at(
                    n.loc,
                    format!("principal `{}` is declared twice", n.value),
                    None,
                );
            }
            global.principals.insert(n.value.clone(), fields.clone());
        }
    }

    for (id, p) in &f.profiles {
        if !(0.0..=100.0).contains(&p.pass_mark) {
            v.at(
                Loc::default(),
                format!("profile `{id}`: pass_mark must be within 0..=100"),
                None,
            );
        }
        if p.weights.values().any(|w| !(w.is_finite() && *w >= 0.0))
            || p.weights.values().sum::<f64>() <= 0.0
        {
            v.at(
                Loc::default(),
                format!("profile `{id}`: weights must be non-negative and not all zero"),
                None,
            );
        }
    }
    if !f.profiles.contains_key(&f.default_profile.value) {
        v.at(
            f.default_profile.loc,
            format!(
                "default_profile `{}` is not one of the profiles",
                f.default_profile.value
            ),
            Some("name a key of `profiles:`"),
        );
    }

    // Suites.
    v.global = global.clone();
    // Check id → whether it is a run-wide (`never`) check, judged after every suite.
    let mut check_ids: BTreeMap<String, bool> = BTreeMap::new();
    let mut suite_ids = BTreeSet::new();
    for suite in suites {
        let mut sv = Validator {
            problems: Vec::new(),
            file: &suite.path,
            has_database: f.database.is_some(),
            shapes: v.shapes.clone(),
            global: global.clone(),
            sidecars: v.sidecars.clone(),
            database_sidecar: v.database_sidecar.clone(),
        };
        let s = &suite.file;
        if !suite_ids.insert(s.suite.value.clone()) {
            sv.at(
                s.suite.loc,
                format!("suite id `{}` is used twice", s.suite.value),
                None,
            );
        }
        let mut scope = global.with(s.vars.keys().cloned());
        for t in s.vars.values() {
            sv.template(s.suite.loc, &scope, t);
        }
        scope = sv.steps(&scope, &s.setup);
        for check in &s.checks {
            let c = &check.value;
            for need in &c.needs {
                if check_ids.get(&need.value) == Some(&true) {
                    sv.at(
                        need.loc,
                        format!(
                            "`needs` names `{}`, a never check, which is judged after every suite",
                            need.value
                        ),
                        Some("nothing can wait for a run-wide check; drop it from `needs`"),
                    );
                } else if !check_ids.contains_key(&need.value) {
                    sv.at(
                        need.loc,
                        format!(
                            "`needs` names `{}`, which is not an earlier check",
                            need.value
                        ),
                        Some("a check can only need checks that run before it"),
                    );
                }
            }
            if check_ids
                .insert(c.id.value.clone(), c.never.is_some())
                .is_some()
            {
                sv.at(
                    c.id.loc,
                    format!("check id `{}` is used twice", c.id.value),
                    Some("check ids are unique across the assessment"),
                );
            }
            sv.check(&scope, check);
        }
        v.problems.extend(sv.problems);
    }
    v.problems
}
