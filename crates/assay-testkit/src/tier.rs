//! The test tiers. Plain `cargo test --workspace` is the fast tier: it needs no Docker engine,
//! no Chromium and no root, and a test that needs one of them skips with one line saying why.
//! `ASSAY_REQUIRE_DOCKER=1` (set by `make test`) is the full tier: there a missing engine or
//! browser fails the test, nothing is skipped. Every such test asks here, through
//! `require_docker!()` / `require_chromium!()`, never on its own.

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// The variable that turns a skip into a failure (`make test` sets it).
pub const REQUIRE_VAR: &str = "ASSAY_REQUIRE_DOCKER";

/// The engine assay's Docker backend would reach: `DOCKER_HOST`, else the local socket.
const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the full tier is asked for: a missing tool then fails the test.
pub fn strict() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The Docker engine's endpoint when it answers a ping; `None` (after one line on standard
/// error) when it does not and the full tier is not asked for.
///
/// # Panics
///
/// When the engine does not answer and `ASSAY_REQUIRE_DOCKER=1`.
pub fn require_docker() -> Option<String> {
    static ENGINE: OnceLock<Result<String, String>> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let endpoint = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_SOCKET.to_owned());
        ping(&endpoint)
            .map(|()| endpoint.clone())
            .map_err(|why| format!("the Docker engine at {endpoint} does not answer: {why}"))
    });
    gate(engine.as_ref(), "no Docker engine")
}

/// Headless Chromium: `$CHROMIUM`, else `chromium` or `chromium-browser` on the `PATH`;
/// `None` (after one line on standard error) when there is none and the full tier is not
/// asked for.
///
/// # Panics
///
/// When there is none and `ASSAY_REQUIRE_DOCKER=1`.
pub fn require_chromium() -> Option<PathBuf> {
    static BROWSER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let browser = BROWSER.get_or_init(|| {
        chromium().ok_or_else(|| {
            "headless Chromium was not found ($CHROMIUM, or chromium on the PATH); \
             install it with `apt-get install -y chromium`"
                .to_owned()
        })
    });
    gate(browser.as_ref(), "no Chromium")
}

/// Runs, skips with one line, or fails, as the tier says.
fn gate<T: Clone>(found: Result<&T, &String>, missing: &str) -> Option<T> {
    match found {
        Ok(found) => Some(found.clone()),
        Err(why) if strict() => panic!("{REQUIRE_VAR} is set and {why}"),
        Err(why) => {
            skip_line(missing, why);
            None
        }
    }
}

/// One line on the process's standard error, past the test harness's capture so that a
/// plain `cargo test` shows it too.
fn skip_line(missing: &str, why: &str) {
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(|n| format!("{n}: "))
        .unwrap_or_default();
    let line = format!("{test}skipped: {missing} (set {REQUIRE_VAR}=1 to fail instead): {why}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `GET /_ping` on the engine's endpoint, as assay's backend would reach it.
fn ping(endpoint: &str) -> Result<(), String> {
    let request = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n";
    let answer = if let Some(path) = endpoint.strip_prefix("unix://") {
        let stream = UnixStream::connect(path).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(PING_TIMEOUT))
            .map_err(|e| e.to_string())?;
        ask(stream, request)?
    } else if let Some(address) = endpoint.strip_prefix("tcp://") {
        let address = address
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or_else(|| format!("{address} resolves to nothing"))?;
        let stream =
            TcpStream::connect_timeout(&address, PING_TIMEOUT).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(PING_TIMEOUT))
            .map_err(|e| e.to_string())?;
        ask(stream, request)?
    } else {
        return Err("only unix:// and tcp:// endpoints are supported".to_owned());
    };
    if answer.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("it answered `{answer}`"))
    }
}

/// Sends `request` on `stream` and returns the status line of the answer.
fn ask(mut stream: impl std::io::Read + std::io::Write, request: &[u8]) -> Result<String, String> {
    stream.write_all(request).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    while !got.contains(&b'\n') && got.len() < buf.len() {
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

fn chromium() -> Option<PathBuf> {
    if let Some(named) = std::env::var_os("CHROMIUM").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(named)).filter(|p| is_executable(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("chromium"), dir.join("chromium-browser")])
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
