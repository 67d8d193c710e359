//! Large request bodies sent so that an early response is never lost: a server may answer
//! (413, say) and close before it has read the whole body, which HTTP allows (RFC 9112
//! §9.6). A general client may then fail with "connection closed before message completed"
//! or succeed, depending on timing; this exchange reads while it writes and keeps the
//! response whenever it arrived, so the outcome no longer depends on who was faster.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::{BODY_READ_CAP, Incoming, Outgoing};

/// Bodies from this size on are sent this way (below it the whole body fits in the
/// socket's buffers, so it is written before any answer can come back).
pub const EARLY_RESPONSE_BODY: usize = 32 << 10;
/// Bytes of a response head read at most.
const HEAD_CAP: usize = 64 << 10;
/// Response headers parsed at most.
const MAX_HEADERS: usize = 100;
/// How long connecting may take.
const CONNECT: Duration = Duration::from_secs(5);

/// Sends `req` (with its body) over a fresh HTTP/1.1 connection to `url` (`http://` only),
/// reading the response while the body is written. `None` when the URL is not plain HTTP
/// (the caller sends it the usual way).
pub async fn send(url: &str, req: &Outgoing, body: &[u8]) -> Option<Result<Incoming, String>> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if parsed.scheme() != "http" {
        return None;
    }
    let host = parsed.host_str()?.to_owned();
    let port = parsed.port_or_known_default()?;
    Some(exchange(&host, port, req, body).await)
}

async fn exchange(host: &str, port: u16, req: &Outgoing, body: &[u8]) -> Result<Incoming, String> {
    let start = Instant::now();
    let stream = match tokio::time::timeout(CONNECT, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("could not connect: {e}")),
        Err(_) => return Err("could not connect: timed out".into()),
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let head = request_head(host, port, req, body.len());
    let write = async move {
        wr.write_all(&head).await?;
        wr.write_all(body).await?;
        wr.flush().await?;
        // Keep the write half open: closing it would end the connection for some servers.
        Ok::<_, std::io::Error>(wr)
    };
    let read = read_response(&mut rd, req.method.eq_ignore_ascii_case("HEAD"));
    tokio::pin!(write, read);
    let mut written: Option<Result<(), String>> = None;
    let mut _kept = None;
    loop {
        tokio::select! {
            w = &mut write, if written.is_none() => {
                written = Some(match w {
                    Ok(half) => {
                        _kept = Some(half);
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                });
            }
            r = &mut read => {
                return match (r, written) {
                    (Ok((status, headers, body, truncated)), _) => Ok(Incoming {
                        status,
                        headers,
                        body,
                        truncated,
                        elapsed: start.elapsed(),
                    }),
                    (Err(e), Some(Err(w))) => Err(format!(
                        "request failed: writing the body failed ({w}) and no response came: {e}"
                    )),
                    (Err(e), _) => Err(format!("request failed: {e}")),
                };
            }
        }
    }
}

fn request_head(host: &str, port: u16, req: &Outgoing, length: usize) -> Vec<u8> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {host}:{port}\r\n",
        req.method, req.path
    );
    for (k, v) in &req.headers {
        let framing = ["host", "content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h));
        // A header that would split the request is not sent (reqwest refuses it too).
        if framing || k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {length}\r\nconnection: close\r\n\r\n"
    ));
    head.into_bytes()
}

type Parsed = (u16, Vec<(String, String)>, Vec<u8>, bool);

/// Reads one final response (1xx skipped): head, then the body framed by
/// `content-length`, `chunked` or the end of the connection, capped at [`BODY_READ_CAP`].
async fn read_response(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    head_only: bool,
) -> Result<Parsed, String> {
    let mut buf: Vec<u8> = Vec::with_capacity(16 << 10);
    loop {
        let (status, headers, used) = loop {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut slots);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(used)) => {
                    let headers: Vec<(String, String)> = resp
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    break (resp.code.unwrap_or(0), headers, used);
                }
                Ok(httparse::Status::Partial) if buf.len() < HEAD_CAP => {
                    if fill(rd, &mut buf).await? == 0 {
                        return Err(if buf.is_empty() {
                            "the connection closed before any response".into()
                        } else {
                            "the connection closed inside the response head".into()
                        });
                    }
                }
                Ok(httparse::Status::Partial) => {
                    return Err("the response head is larger than 64 KiB".into());
                }
                Err(e) => return Err(format!("not an HTTP response: {e}")),
            }
        };
        buf.drain(..used);
        if (100..200).contains(&status) {
            continue;
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if head_only || status == 204 || status == 304 {
            return Ok((status, headers, Vec::new(), false));
        }
        let chunked =
            header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = header("content-length").and_then(|v| v.trim().parse::<usize>().ok());
        let (body, truncated) = if chunked {
            loop {
                if let Some(decoded) = decode_chunked(&buf) {
                    break decoded;
                }
                if buf.len() > BODY_READ_CAP * 2 || fill(rd, &mut buf).await? == 0 {
                    // Cut off or closed early: what arrived, marked truncated.
                    let mut partial = dechunk_prefix(&buf);
                    partial.truncate(BODY_READ_CAP);
                    break (partial, true);
                }
            }
        } else if let Some(n) = length {
            let want = n.min(BODY_READ_CAP);
            while buf.len() < want {
                if fill(rd, &mut buf).await? == 0 {
                    return Err(format!(
                        "the response body broke off after {} of {n} bytes",
                        buf.len()
                    ));
                }
            }
            buf.truncate(want);
            (buf, n > BODY_READ_CAP)
        } else {
            while buf.len() <= BODY_READ_CAP {
                if fill(rd, &mut buf).await? == 0 {
                    break;
                }
            }
            let cut = buf.len() > BODY_READ_CAP;
            buf.truncate(BODY_READ_CAP);
            (buf, cut)
        };
        return Ok((status, headers, body, truncated));
    }
}

/// Reads more into `buf`; 0 at the end of the connection. A reset after the response was
/// sent reads as the end (what arrived before it is kept).
async fn fill(rd: &mut tokio::net::tcp::OwnedReadHalf, buf: &mut Vec<u8>) -> Result<usize, String> {
    let mut chunk = [0u8; 16 << 10];
    match rd.read(&mut chunk).await {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(0),
        Err(e) => Err(e.to_string()),
    }
}

/// The decoded body (capped, and whether it was cut) once the last chunk has arrived.
fn decode_chunked(buf: &[u8]) -> Option<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = find_crlf(&buf[at..])? + at;
        let size_text = std::str::from_utf8(&buf[at..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // Trailers until an empty line.
            loop {
                let end = find_crlf(&buf[at..])? + at;
                if end == at {
                    let cut = body.len() > BODY_READ_CAP;
                    body.truncate(BODY_READ_CAP);
                    return Some((body, cut));
                }
                at = end + 2;
            }
        }
        if buf.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

/// The chunks of an incomplete chunked body that arrived whole.
fn dechunk_prefix(buf: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut at = 0;
    while let Some(end) = find_crlf(&buf[at..]).map(|e| e + at) {
        let Some(size) = std::str::from_utf8(&buf[at..end])
            .ok()
            .and_then(|t| usize::from_str_radix(t.split(';').next()?.trim(), 16).ok())
        else {
            break;
        };
        at = end + 2;
        if size == 0 || buf.len() < at + size {
            break;
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
        if at > buf.len() {
            break;
        }
    }
    body
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode_once_complete() {
        let full = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nx-t: 1\r\n\r\n";
        assert_eq!(decode_chunked(full), Some((b"Wikipedia".to_vec(), false)));
        for cut in 0..full.len() - 1 {
            assert_eq!(decode_chunked(&full[..cut]), None, "cut at {cut}");
        }
        assert_eq!(dechunk_prefix(&full[..18]), b"Wiki".to_vec());
    }
}
