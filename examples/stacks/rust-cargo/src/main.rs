//! The counter-api of `assay init`, on tiny_http and signal-hook fetched from crates.io.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tiny_http::{Header, Method, Response, Server};

fn json(status: u16, body: String) -> Response<std::io::Cursor<Vec<u8>>> {
    let header = Header::from_bytes("Content-Type", "application/json").expect("a valid header");
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header)
}

fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let server = Arc::new(Server::http(format!("0.0.0.0:{port}")).expect("the port is free"));
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))
        .expect("SIGTERM handler");
    let counter = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (server, stop, counter) = (server.clone(), stop.clone(), counter.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(200)) else {
                        continue;
                    };
                    let response = match (request.method(), request.url()) {
                        (Method::Get, "/healthz") => json(200, r#"{"status":"ok"}"#.into()),
                        (Method::Get, "/v1/hello") => json(200, r#"{"message":"hello"}"#.into()),
                        (Method::Get, "/v1/counter") => {
                            let value = counter.load(Ordering::SeqCst);
                            json(200, format!(r#"{{"value":{value}}}"#))
                        }
                        (Method::Post, "/v1/counter") => {
                            let value = counter.fetch_add(1, Ordering::SeqCst) + 1;
                            json(200, format!(r#"{{"value":{value}}}"#))
                        }
                        _ => json(404, r#"{"error":"not_found"}"#.into()),
                    };
                    let _ = request.respond(response);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}
