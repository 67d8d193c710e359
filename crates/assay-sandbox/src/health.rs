//! The health probe: one HTTP/1.1 GET from the grading host, judged on its status line only,
//! so a service that hangs, trickles or streams an endless body cannot hold the runner.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads at most this much looking for the status line.
const STATUS_LINE_CAP: usize = 1024;

/// GETs `path` from `addr` and returns the status code, or why there is none. The whole
/// exchange (connect, send, status line) is bounded by `timeout`.
pub async fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> Result<u16, String> {
    match tokio::time::timeout(timeout, exchange(addr, path)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no status line within {:.1} s",
            timeout.as_secs_f64()
        )),
    }
}

async fn exchange(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: assay-health\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            return parse_status(&buf[..end]);
        }
        if buf.len() >= STATUS_LINE_CAP {
            return Err("no HTTP status line in the first 1 KiB".to_owned());
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read from {addr}: {e}"))?;
        if n == 0 {
            return if buf.is_empty() {
                Err("connection closed without a response".to_owned())
            } else {
                parse_status(&buf)
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn parse_status(line: &[u8]) -> Result<u16, String> {
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") {
        return Err(format!(
            "not an HTTP response: {}",
            assay_model::truncate_text(&line, 80).0
        ));
    }
    parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..600).contains(code))
        .ok_or_else(|| {
            format!(
                "bad status line: {}",
                assay_model::truncate_text(&line, 80).0
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(reply: &'static [u8], hang: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                if hang {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                let _ = s.write_all(reply).await;
                // An endless body must not matter.
                loop {
                    if s.write_all(&[0xff; 4096]).await.is_err() {
                        break;
                    }
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn status_line_is_enough() {
        let addr = serve_once(b"HTTP/1.1 204 No Content\r\n", false).await;
        assert_eq!(
            probe(addr, "/health", Duration::from_secs(2)).await,
            Ok(204)
        );
    }

    #[tokio::test]
    async fn hanging_and_garbage_are_errors_in_time() {
        let addr = serve_once(b"HTTP/1.1 200 OK\r\n", true).await;
        let t = std::time::Instant::now();
        assert!(probe(addr, "/", Duration::from_millis(300)).await.is_err());
        assert!(t.elapsed() < Duration::from_secs(2));
        let addr = serve_once(b"\xff\xfe garbage", false).await;
        assert!(probe(addr, "/", Duration::from_secs(2)).await.is_err());
    }
}
