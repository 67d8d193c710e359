//! What a run asks of the sandbox: the service, its sidecars, and the hardening and limits
//! they run under (all with safe defaults an assessment may override).

use std::collections::BTreeMap;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

/// The role assay's `database` checks connect as in an `assay/postgres` sidecar (see
/// [`SidecarSpec::with_checks_role`]); the service's own role never has its password.
pub const CHECKS_ROLE: &str = "assay_checks";

/// Everything [`super::Sandbox::start`] needs.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// Unique among live runs; `[A-Za-z0-9][A-Za-z0-9_.-]{0,47}`. Labels every resource.
    pub run_id: String,
    pub service: ServiceSpec,
    /// Started first, in order, each ready before the next (and before the service).
    pub sidecars: Vec<SidecarSpec>,
    /// Hardening and limits of the service container.
    pub hardening: Hardening,
}

/// The submission's service.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// An image that exists locally (e.g. `assay-sub:<hash>` from the build).
    pub image: String,
    /// Environment passed to the service (e.g. `DATABASE_URL` pointing at sidecar `db`).
    pub env: BTreeMap<String, String>,
    /// The TCP port the service listens on inside its container.
    pub port: u16,
    pub health: HealthCheck,
    /// Grace between SIGTERM and SIGKILL when the sandbox restarts the service.
    pub stop_grace: Duration,
}

impl ServiceSpec {
    /// A service with the default health check and a 10 s stop grace.
    pub fn new(image: impl Into<String>, port: u16) -> ServiceSpec {
        ServiceSpec {
            image: image.into(),
            env: BTreeMap::new(),
            port,
            health: HealthCheck::default(),
            stop_grace: Duration::from_secs(10),
        }
    }
}

/// How the host decides the service is up: an HTTP GET answered with any 2xx.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub path: String,
    /// Give up (NeverHealthy) after this long.
    pub timeout: Duration,
    /// Pause between attempts.
    pub interval: Duration,
    /// Limit of one attempt (connect + status line).
    pub request_timeout: Duration,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: "/health".to_owned(),
            timeout: Duration::from_secs(60),
            interval: Duration::from_millis(500),
            request_timeout: Duration::from_secs(2),
        }
    }
}

/// A supporting container (database, cache) on the run's network, reachable by the service
/// under `name`.
#[derive(Debug, Clone)]
pub struct SidecarSpec {
    /// Network alias and part of the container name, e.g. `db`.
    pub name: String,
    pub image: String,
    pub env: BTreeMap<String, String>,
    pub readiness: Readiness,
    pub hardening: SidecarHardening,
    /// How to make the sidecar drop its clients and refuse new ones, and accept them again,
    /// while it keeps running (its data kept); `None`: it cannot.
    pub outage: Option<Outage>,
}

/// Commands run inside a sidecar (each must exit 0) for an outage its clients see while it
/// keeps running: `refuse` drops every client connection and refuses new ones, `accept`
/// undoes it.
#[derive(Debug, Clone)]
pub struct Outage {
    pub refuse: Vec<String>,
    pub accept: Vec<String>,
}

impl Outage {
    /// An `assay/postgres` sidecar's outage, run by its bootstrap superuser `assay_admin`
    /// on the local socket (in `/var/run/postgresql`, or `/tmp` where the entrypoint put it)
    /// from `template1`: every database but the templates stops accepting connections
    /// (`ALLOW_CONNECTIONS false`), then every other client backend is terminated (twice, a
    /// moment apart, for a connection that was being set up as the first statement ran).
    /// Clients see what they see when PostgreSQL restarts: their sessions end with
    /// `57P01` ("terminating connection due to administrator command") and new ones are
    /// refused with `55000` ("database … is not currently accepting connections").
    pub fn postgres() -> Outage {
        // Each `-c` is a transaction of its own: the refusal is committed (and seen by every
        // new connection) before the first termination.
        let psql = |statements: &[&str]| -> Vec<String> {
            let mut command: Vec<String> = [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "/var/run/postgresql,/tmp",
                "-U",
                "assay_admin",
                "-d",
                "template1",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            for sql in statements {
                command.push("-c".to_owned());
                command.push((*sql).to_owned());
            }
            command
        };
        let allow = |on: bool| {
            format!(
                "DO $$DECLARE d name; BEGIN FOR d IN SELECT datname FROM pg_database WHERE NOT datistemplate LOOP EXECUTE format('ALTER DATABASE %I ALLOW_CONNECTIONS {on}', d); END LOOP; END$$"
            )
        };
        let terminate = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";
        Outage {
            refuse: psql(&[&allow(false), terminate, "SELECT pg_sleep(0.2)", terminate]),
            accept: psql(&[&allow(true)]),
        }
    }
}

impl SidecarSpec {
    /// The `assay/postgres:15` sidecar (see `sandbox-images/postgres`): data, socket and
    /// temp directories on size-capped tmpfs, read-only root, no capabilities. `user` is the
    /// service's role: it owns `database` and is no superuser (it cannot run programs, read
    /// server files or touch other roles).
    pub fn postgres(name: &str, user: &str, password: &str, database: &str) -> SidecarSpec {
        let env = [
            ("POSTGRES_USER", user),
            ("POSTGRES_PASSWORD", password),
            ("POSTGRES_DB", database),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        SidecarSpec {
            name: name.to_owned(),
            image: "assay/postgres:15".to_owned(),
            env,
            readiness: Readiness {
                command: vec![
                    "pg_isready".into(),
                    "-q".into(),
                    "-h".into(),
                    "127.0.0.1".into(),
                    "-U".into(),
                    user.to_owned(),
                ],
                timeout: Duration::from_secs(60),
                interval: Duration::from_millis(300),
            },
            hardening: SidecarHardening {
                tmpfs: vec![
                    TmpfsMount::new("/tmp", 64 * MIB),
                    TmpfsMount::new("/var/run/postgresql", 16 * MIB)
                        .with_options("uid=999,gid=999,mode=2775"),
                    TmpfsMount::new("/var/lib/postgresql/data", 256 * MIB)
                        .with_options("uid=999,gid=999,mode=0700"),
                ],
                ..SidecarHardening::default()
            },
            outage: Some(Outage::postgres()),
        }
    }
}

impl SidecarSpec {
    /// Asks an `assay/postgres` sidecar for the role the grader's `database` checks connect
    /// as ([`CHECKS_ROLE`]): it reads and writes every table (`pg_read_all_data`,
    /// `pg_write_all_data`, row-level security bypassed) and nothing more. Its `password` must
    /// be drawn per run and given to nothing but the checks.
    pub fn with_checks_role(mut self, password: &str) -> SidecarSpec {
        self.env
            .insert("ASSAY_CHECKS_USER".to_owned(), CHECKS_ROLE.to_owned());
        self.env
            .insert("ASSAY_CHECKS_PASSWORD".to_owned(), password.to_owned());
        self
    }
}

/// A command run inside a sidecar until it exits 0.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub command: Vec<String>,
    pub timeout: Duration,
    pub interval: Duration,
}

/// The hardening of sidecars: images of ours, but reachable by the service, so confined like
/// it (seccomp profile, runtime, capabilities, limits).
#[derive(Debug, Clone)]
pub struct SidecarHardening {
    /// The service's profile by default ([`Seccomp::Assay`]).
    pub seccomp: Seccomp,
    /// OCI runtime, e.g. `runsc`; the service's (`--runtime`) in a run.
    pub runtime: Option<String>,
    pub memory_bytes: u64,
    pub nano_cpus: u64,
    pub pids_limit: i64,
    pub cap_drop_all: bool,
    pub no_new_privileges: bool,
    pub read_only_rootfs: bool,
    pub tmpfs: Vec<TmpfsMount>,
    pub log_max_size_bytes: u64,
    pub log_max_files: u32,
}

impl Default for SidecarHardening {
    fn default() -> Self {
        SidecarHardening {
            seccomp: Seccomp::Assay,
            runtime: None,
            memory_bytes: 512 * MIB,
            nano_cpus: 1_000_000_000,
            pids_limit: 256,
            cap_drop_all: true,
            no_new_privileges: true,
            read_only_rootfs: true,
            tmpfs: vec![TmpfsMount::new("/tmp", 64 * MIB)],
            log_max_size_bytes: 4 * MIB,
            log_max_files: 2,
        }
    }
}

/// A size-capped tmpfs (memory-backed, charged to the container's memory limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsMount {
    pub path: String,
    pub size_bytes: u64,
    /// Extra mount options, e.g. `uid=999,gid=999,mode=0700`; `nosuid,nodev` are always set.
    pub options: String,
}

impl TmpfsMount {
    pub fn new(path: &str, size_bytes: u64) -> TmpfsMount {
        TmpfsMount {
            path: path.to_owned(),
            size_bytes,
            options: String::new(),
        }
    }

    pub fn with_options(mut self, options: &str) -> TmpfsMount {
        self.options = options.to_owned();
        self
    }

    /// The value of Docker's `HostConfig.Tmpfs` entry.
    pub fn docker_options(&self) -> String {
        let mut o = format!("rw,nosuid,nodev,size={}", self.size_bytes);
        if !self.options.is_empty() {
            o.push(',');
            o.push_str(&self.options);
        }
        o
    }
}

/// Which seccomp profile confines the service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Seccomp {
    /// Docker 20.10's default profile without io_uring (`assay_docker::SECCOMP_PROFILE`).
    #[default]
    Assay,
    /// The engine's built-in default profile.
    EngineDefault,
    /// A profile given as JSON.
    Custom(String),
}

/// Hardening and limits of the service container. The defaults are the security model; an
/// assessment may loosen single settings (e.g. `read_only_rootfs: false` for a framework that
/// insists on writing next to its code).
#[derive(Debug, Clone)]
pub struct Hardening {
    /// Drop every Linux capability (`cap_drop: ALL`), then add back `cap_add`.
    pub cap_drop_all: bool,
    pub cap_add: Vec<String>,
    /// `no-new-privileges`: setuid binaries and file capabilities cannot raise privileges.
    pub no_new_privileges: bool,
    /// Run a tiny init as PID 1 (reaps zombies, forwards signals).
    pub init: bool,
    pub pids_limit: i64,
    /// Memory limit; swap is set equal, i.e. no swap.
    pub memory_bytes: u64,
    /// CPU limit in billionths of a CPU.
    pub nano_cpus: u64,
    /// `RLIMIT_NOFILE` (soft = hard).
    pub nofile: u64,
    /// `RLIMIT_FSIZE` in bytes: the largest file any process may write.
    pub fsize_bytes: u64,
    /// The `/tmp` tmpfs.
    pub tmp: TmpfsMount,
    /// Root filesystem read-only. When false, the writable layer is watched (see
    /// `writable_layer_cap_bytes`).
    pub read_only_rootfs: bool,
    /// A writable, size-capped home directory (tmpfs) for services that need one.
    pub writable_home: Option<TmpfsMount>,
    /// When the root filesystem is writable: kill the service once its writable layer
    /// exceeds this.
    pub writable_layer_cap_bytes: u64,
    /// How often the writable-layer watchdog looks.
    pub watchdog_interval: Duration,
    /// Container log rotation: at most `log_max_files` files of `log_max_size_bytes`.
    pub log_max_size_bytes: u64,
    pub log_max_files: u32,
    pub seccomp: Seccomp,
    /// OCI runtime, e.g. `runsc` for gVisor; `None` = the engine's default (runc).
    pub runtime: Option<String>,
    /// `/dev/shm` size.
    pub shm_size_bytes: u64,
    /// The service is killed after running this long, whatever the caller does.
    pub max_lifetime: Duration,
    /// How often memory and CPU are sampled.
    pub sample_interval: Duration,
}

impl Default for Hardening {
    fn default() -> Self {
        Hardening {
            cap_drop_all: true,
            cap_add: Vec::new(),
            no_new_privileges: true,
            init: true,
            pids_limit: 256,
            memory_bytes: 512 * MIB,
            nano_cpus: 1_000_000_000,
            nofile: 4096,
            fsize_bytes: 64 * MIB,
            tmp: TmpfsMount::new("/tmp", 64 * MIB),
            read_only_rootfs: true,
            writable_home: None,
            writable_layer_cap_bytes: 256 * MIB,
            watchdog_interval: Duration::from_secs(1),
            log_max_size_bytes: 8 * MIB,
            log_max_files: 2,
            seccomp: Seccomp::Assay,
            runtime: None,
            shm_size_bytes: 64 * MIB,
            max_lifetime: Duration::from_secs(30 * 60),
            sample_interval: Duration::from_millis(500),
        }
    }
}
