//! `loadgen`: the two halves of the load-generator benchmark, for `run.sh`.
//!
//! - `loadgen server --addr 127.0.0.1:PORT [--stall-every-ms N --stall-ms M]`: a small
//!   hyper HTTP/1.1 server answering every request with a fixed 14-byte body, on one thread.
//!   With a stall, the whole server freezes for M ms every N ms (the thread sleeps, like a
//!   stop-the-world pause), which is what coordinated omission hides.
//! - `loadgen run --url http://127.0.0.1:PORT/ (--rate R | --concurrency C) ...`: one run of
//!   `assay_loadgen::run`, its report printed as one JSON line.
//!
//! Only loopback addresses are accepted, as server address and as target.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use assay_loadgen::{self as load, LoadModel, LoadPlan, Target, WeightedRequest};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

const BODY: &[u8] = b"Hello, World!\n";

const USAGE: &str = "usage:
  loadgen server --addr 127.0.0.1:PORT [--stall-every-ms N --stall-ms M]
  loadgen run --url http://127.0.0.1:PORT/ (--rate R [--connections C] | --concurrency C)
              [--duration-s S] [--warmup-s S] [--threads T] [--timeout-s S] [--seed N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("server") => server(&Args(&args[1..])),
        Some("run") => run(&Args(&args[1..])),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(
                clippy::print_stderr,
                reason = "a command-line tool reports its errors"
            )]
            {
                eprintln!("loadgen: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs.
struct Args<'a>(&'a [String]);

impl Args<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(String::as_str)
    }

    fn parse<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("{name}: cannot parse `{v}`\n{USAGE}")),
        }
    }
}

fn loopback(addr: SocketAddr) -> Result<SocketAddr, String> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(format!(
            "{addr} is not a loopback address: this benchmark targets 127.0.0.1 only"
        ))
    }
}

fn server(args: &Args<'_>) -> Result<(), String> {
    let addr: SocketAddr = args.parse("--addr", SocketAddr::from(([127, 0, 0, 1], 18080)))?;
    let addr = loopback(addr)?;
    let stall_every = Duration::from_millis(args.parse("--stall-every-ms", 0u64)?);
    let stall = Duration::from_millis(args.parse("--stall-ms", 0u64)?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await.map_err(|e| e.to_string())?;
        if !stall_every.is_zero() && !stall.is_zero() {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(stall_every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    // Blocks the server's only thread: nothing is accepted, read or answered.
                    std::thread::sleep(stall);
                }
            });
        }
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            stream.set_nodelay(true).ok();
            tokio::spawn(async move {
                let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("text/plain"),
                    );
                    Ok::<_, Infallible>(response)
                });
                // A connection error is the client's business here.
                hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                    .ok();
            });
        }
    })
}

fn run(args: &Args<'_>) -> Result<(), String> {
    let url = args
        .get("--url")
        .ok_or_else(|| USAGE.to_owned())?
        .to_owned();
    let model = match (args.get("--rate"), args.get("--concurrency")) {
        (Some(_), None) => LoadModel::Open {
            rate_per_sec: args.parse("--rate", 0.0)?,
        },
        (None, Some(_)) => LoadModel::Closed {
            concurrency: args.parse("--concurrency", 0)?,
        },
        _ => {
            return Err(format!(
                "give exactly one of --rate and --concurrency\n{USAGE}"
            ));
        }
    };
    let threads: usize = args.parse("--threads", 1)?;
    let duration = Duration::from_secs_f64(args.parse("--duration-s", 5.0)?);
    let warmup = Duration::from_secs_f64(args.parse("--warmup-s", 1.0)?);
    let timeout = Duration::from_secs_f64(args.parse("--timeout-s", 5.0)?);
    let connections = args.parse("--connections", 16)?;
    let seed = args.parse("--seed", 1)?;
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| e.to_string())?;
    let report = rt.block_on(async move {
        let target = Target::resolve(&url).await.map_err(|e| e.to_string())?;
        loopback(target.addr)?;
        let mut plan = LoadPlan::new(
            target,
            model,
            duration,
            vec![WeightedRequest::get("root", "/")],
        );
        plan.warmup = warmup;
        plan.connections = connections;
        plan.request_timeout = timeout;
        plan.seed = seed;
        load::run(&plan, None).await.map_err(|e| e.to_string())
    })?;
    let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    #[allow(clippy::print_stdout, reason = "the report is this tool's output")]
    {
        println!("{json}");
    }
    Ok(())
}
