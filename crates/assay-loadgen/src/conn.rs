//! One worker's HTTP/1.1 connection: opened lazily, kept alive, reopened after any failure.
//!
//! A small client of its own, on `httparse`, because the generator's job is narrow and hot:
//! every request kind is serialised once ([`super::plan::PreparedRequest`]) and sent with
//! one `write`; the response head is parsed in place from the worker's read buffer (no
//! header map, no body channel, no allocation per request); the body is framed by
//! `content-length`, `chunked` or the end of the connection, counted against the cap and
//! discarded. A response usually costs one `write` and one `read` system call. Every
//! exchange runs under the request timeout, connecting included.

use std::io::ErrorKind as IoErrorKind;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::plan::Prepared;
use super::report::ErrorKind;

/// The read buffer's starting size; it grows, up to the header cap, only for a larger
/// response head.
const BUF_START: usize = 16 << 10;
/// Header lines accepted in a response head (hyper's default, too).
const MAX_HEADERS: usize = 100;
/// Longest chunk-size line (with extensions) accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

/// What one request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A complete response (body read within the cap).
    Response {
        status: u16,
    },
    Failed(ErrorKind),
}

/// A worker's connection slot and its request watchdog.
pub(crate) struct Slot {
    link: Link,
    /// One timer per worker, moved lazily: it is re-armed when it fires early (for an
    /// earlier request's deadline), not for every request, which keeps timer-wheel updates
    /// off the hot path. Deadlines only grow, so it never fires later than the current one.
    watchdog: Pin<Box<Sleep>>,
}

impl Slot {
    pub fn new() -> Self {
        Self {
            link: Link {
                conn: None,
                buf: Vec::new(),
                start: 0,
                end: 0,
            },
            // Far away until the first request sets it.
            watchdog: Box::pin(tokio::time::sleep(Duration::from_secs(86_400))),
        }
    }

    /// Sends request kind `kind` and reads its response, all within the request timeout
    /// counted from `started`. Any failure drops the connection; the next exchange opens a
    /// new one.
    pub async fn exchange(
        &mut self,
        prepared: &Prepared,
        kind: usize,
        started: Instant,
    ) -> Outcome {
        let deadline = started + prepared.request_timeout;
        if self.watchdog.deadline() > deadline {
            self.watchdog.as_mut().reset(deadline);
        }
        let outcome = {
            let fut = self.link.exchange(prepared, kind);
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    biased;
                    out = &mut fut => break out,
                    () = self.watchdog.as_mut() => {
                        if Instant::now() >= deadline {
                            break Outcome::Failed(ErrorKind::Timeout);
                        }
                        self.watchdog.as_mut().reset(deadline);
                    }
                }
            }
        };
        if matches!(outcome, Outcome::Failed(_)) {
            // Whatever state it was left in (an abandoned exchange included), it is not
            // used again.
            self.link.conn = None;
        }
        outcome
    }
}

/// The connection and its read buffer: `buf[start..end]` holds bytes received and not yet
/// consumed.
struct Link {
    conn: Option<TcpStream>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body: `HEAD`, 1xx, 204, 304.
    Empty,
    Length(u64),
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    /// Bytes of the head, blank line included.
    len: usize,
    status: u16,
    framing: Framing,
    /// The connection may carry another request after this response.
    keep_alive: bool,
}

impl Link {
    async fn exchange(&mut self, prepared: &Prepared, kind: usize) -> Outcome {
        let Some(request) = prepared.requests.get(kind) else {
            return Outcome::Failed(ErrorKind::Protocol);
        };
        if let Err(e) = self.ready(prepared).await {
            return Outcome::Failed(e);
        }
        let Some(stream) = self.conn.as_mut() else {
            return Outcome::Failed(ErrorKind::Closed);
        };
        if stream.write_all(&request.bytes).await.is_err() {
            return Outcome::Failed(ErrorKind::Closed);
        }
        match self.response(prepared, request.head_only).await {
            Ok((status, keep_alive)) => {
                // Bytes past the response were never asked for: the connection is out of
                // step, and is replaced (the response itself is complete).
                if !keep_alive || self.start != self.end {
                    self.conn = None;
                }
                Outcome::Response { status }
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Makes sure a connection is open. A kept-alive connection that became readable while
    /// idle (the server closed it, or sent what nobody asked for) is replaced without
    /// counting an error: nothing was sent on it. The check makes no system call unless the
    /// socket was flagged readable.
    async fn ready(&mut self, prepared: &Prepared) -> Result<(), ErrorKind> {
        if let Some(stream) = &self.conn {
            let mut probe = [0u8; 1];
            match stream.try_read(&mut probe) {
                Err(e) if e.kind() == IoErrorKind::WouldBlock => return Ok(()),
                _ => self.conn = None,
            }
        }
        let stream = TcpStream::connect(prepared.addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        // Without it small requests wait on Nagle's algorithm; failing to set it only costs
        // latency, so the connection is used anyway.
        stream.set_nodelay(true).ok();
        self.conn = Some(stream);
        self.start = 0;
        self.end = 0;
        if self.buf.len() < BUF_START {
            self.buf.resize(BUF_START, 0);
        }
        Ok(())
    }

    /// Reads one response (skipping interim 1xx ones) and its body; its status and whether
    /// the connection can be kept.
    async fn response(
        &mut self,
        prepared: &Prepared,
        head_only: bool,
    ) -> Result<(u16, bool), ErrorKind> {
        let max_head = prepared.max_header_bytes.max(BUF_START);
        let head = loop {
            let head = match parse_head(&self.buf[self.start..self.end], head_only)? {
                Some(head) => head,
                None => {
                    self.recycle();
                    if self.end - self.start >= max_head {
                        return Err(ErrorKind::Protocol);
                    }
                    self.make_room(max_head);
                    if self.fill().await? == 0 {
                        return Err(ErrorKind::Closed);
                    }
                    continue;
                }
            };
            self.start += head.len;
            match head.status {
                101 => return Err(ErrorKind::Protocol),
                100..=199 => continue,
                _ => break head,
            }
        };
        match head.framing {
            Framing::Empty => {}
            Framing::Length(n) => self.skip_exact(n, prepared.body_cap).await?,
            Framing::Chunked => self.skip_chunked(prepared).await?,
            Framing::Close => self.skip_to_close(prepared.body_cap).await?,
        }
        Ok((head.status, head.keep_alive))
    }

    /// Discards a body of `n` bytes.
    async fn skip_exact(&mut self, n: u64, cap: usize) -> Result<(), ErrorKind> {
        if n > cap as u64 {
            return Err(ErrorKind::BodyTooLarge);
        }
        let mut left = n;
        loop {
            let take = (self.end - self.start).min(usize::try_from(left).unwrap_or(usize::MAX));
            self.start += take;
            left -= take as u64;
            if left == 0 {
                return Ok(());
            }
            self.recycle();
            if self.fill().await? == 0 {
                return Err(ErrorKind::Closed);
            }
        }
    }

    /// Discards a chunked body (and its trailers).
    async fn skip_chunked(&mut self, prepared: &Prepared) -> Result<(), ErrorKind> {
        let mut decoder = Chunked::new(prepared.body_cap, prepared.max_header_bytes);
        loop {
            self.start += decoder.feed(&self.buf[self.start..self.end])?;
            if decoder.done() {
                return Ok(());
            }
            self.recycle();
            if self.fill().await? == 0 {
                return Err(ErrorKind::Closed);
            }
        }
    }

    /// Discards a body that ends when the connection does.
    async fn skip_to_close(&mut self, cap: usize) -> Result<(), ErrorKind> {
        let mut read = self.end - self.start;
        self.start = self.end;
        loop {
            if read > cap {
                return Err(ErrorKind::BodyTooLarge);
            }
            self.recycle();
            match self.fill().await? {
                0 => return Ok(()),
                n => {
                    read = read.saturating_add(n);
                    self.start = self.end;
                }
            }
        }
    }

    /// Starts the buffer over when everything in it was consumed.
    fn recycle(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Makes space after `end` for more of an incomplete head: moves it to the front, and
    /// grows the buffer (up to `max_head`) when the head alone fills it.
    fn make_room(&mut self, max_head: usize) {
        if self.end < self.buf.len() {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).clamp(BUF_START, max_head);
            self.buf.resize(grown, 0);
        }
    }

    /// Reads what has arrived into the free space after `end`; 0 means the server closed
    /// the connection. A read that does not fill the space tells tokio the socket is
    /// drained, so the next one waits for readiness instead of trying first.
    async fn fill(&mut self) -> Result<usize, ErrorKind> {
        let Some(stream) = self.conn.as_mut() else {
            return Err(ErrorKind::Closed);
        };
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len().max(BUF_START) * 2, 0);
        }
        let n = stream
            .read(&mut self.buf[self.end..])
            .await
            .map_err(|_| ErrorKind::Closed)?;
        self.end += n;
        Ok(n)
    }
}

/// Parses a response head from the start of `bytes`; `None` while it is incomplete.
fn parse_head(bytes: &[u8], head_only: bool) -> Result<Option<Head>, ErrorKind> {
    // Left uninitialised: filling 100 empty headers for every response would cost more
    // than parsing the few a response has.
    let mut headers = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        bytes,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorKind::Protocol),
    };
    let status = response.code.ok_or(ErrorKind::Protocol)?;
    let http11 = response.version == Some(1);
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut other_coding = false;
    let mut close = false;
    let mut keep_alive_token = false;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(h.value).ok_or(ErrorKind::Protocol)?;
            if length.is_some_and(|l| l != n) {
                return Err(ErrorKind::Protocol);
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding decides: `chunked` frames the body, anything else
            // leaves it to the end of the connection.
            for coding in tokens(h.value) {
                chunked = coding.eq_ignore_ascii_case(b"chunked");
                other_coding = !chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in tokens(h.value) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let framing = if head_only || matches!(status, 100..=199 | 204 | 304) {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if other_coding {
        Framing::Close
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::Close
    };
    let keep_alive = framing != Framing::Close && !close && (http11 || keep_alive_token);
    Ok(Some(Head {
        len,
        status,
        framing,
        keep_alive,
    }))
}

/// A `content-length` value: decimal digits only, surrounding blanks allowed.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The comma-separated, trimmed, non-empty tokens of a header value.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Where a chunked-body decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hexadecimal size; `digits` read so far.
    Size {
        value: u64,
        digits: u8,
    },
    /// Skipping chunk extensions up to the line's CR; the size read.
    Extension(u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final blank line).
    TrailerStart,
    TrailerLine,
    TrailerLf,
    EndLf,
    Done,
}

/// An incremental decoder of a chunked body that only counts the data.
#[derive(Debug)]
struct Chunked {
    state: ChunkState,
    data: usize,
    cap: usize,
    /// Bytes of the current size line, or of all trailers.
    line: usize,
    max_trailers: usize,
}

impl Chunked {
    fn new(cap: usize, max_trailers: usize) -> Self {
        Self {
            state: ChunkState::Size {
                value: 0,
                digits: 0,
            },
            data: 0,
            cap,
            line: 0,
            max_trailers,
        }
    }

    fn done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Consumes what it can of `bytes`; how many it consumed (all of them unless the body
    /// ended inside).
    fn feed(&mut self, bytes: &[u8]) -> Result<usize, ErrorKind> {
        use ChunkState as S;
        let protocol = Err(ErrorKind::Protocol);
        let mut i = 0;
        while i < bytes.len() {
            if let S::Data(left) = self.state {
                let take = (bytes.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                self.data = self.data.saturating_add(take);
                if self.data > self.cap {
                    return Err(ErrorKind::BodyTooLarge);
                }
                i += take;
                let left = left - take as u64;
                self.state = if left == 0 { S::DataCr } else { S::Data(left) };
                continue;
            }
            let b = bytes[i];
            i += 1;
            self.state = match self.state {
                S::Size { value, digits } => {
                    self.line += 1;
                    if self.line > MAX_CHUNK_LINE {
                        return protocol;
                    }
                    match (b as char).to_digit(16) {
                        Some(d) if digits < 15 => S::Size {
                            value: value * 16 + u64::from(d),
                            digits: digits + 1,
                        },
                        Some(_) => return protocol,
                        None if digits == 0 => return protocol,
                        None if b == b'\r' => S::SizeLf(value),
                        None if matches!(b, b';' | b' ' | b'\t') => S::Extension(value),
                        None => return protocol,
                    }
                }
                S::Extension(size) => {
                    self.line += 1;
                    if self.line > MAX_CHUNK_LINE {
                        return protocol;
                    }
                    if b == b'\r' {
                        S::SizeLf(size)
                    } else {
                        S::Extension(size)
                    }
                }
                S::SizeLf(size) if b == b'\n' => {
                    self.line = 0;
                    if size == 0 {
                        S::TrailerStart
                    } else {
                        S::Data(size)
                    }
                }
                S::DataCr if b == b'\r' => S::DataLf,
                S::DataLf if b == b'\n' => S::Size {
                    value: 0,
                    digits: 0,
                },
                S::TrailerStart if b == b'\r' => S::EndLf,
                S::TrailerStart | S::TrailerLine => {
                    self.line += 1;
                    if self.line > self.max_trailers {
                        return protocol;
                    }
                    if b == b'\r' {
                        S::TrailerLf
                    } else {
                        S::TrailerLine
                    }
                }
                S::TrailerLf if b == b'\n' => S::TrailerStart,
                S::EndLf if b == b'\n' => {
                    self.state = S::Done;
                    return Ok(i);
                }
                S::Done => return Ok(i - 1),
                _ => return protocol,
            };
        }
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &str) -> Option<Head> {
        parse_head(bytes.as_bytes(), false).expect("parses")
    }

    #[test]
    fn framing_follows_the_head() {
        let text = "HTTP/1.1 200 OK\r\ncontent-length: 14\r\n\r\n";
        let h = head(&format!("{text}Hello")).expect("complete");
        assert_eq!(
            (h.status, h.framing, h.keep_alive),
            (200, Framing::Length(14), true)
        );
        assert_eq!(h.len, text.len());

        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\ncontent-length: 3\r\n\r\n",
        )
        .expect("complete");
        assert_eq!(h.framing, Framing::Chunked);

        let h = head("HTTP/1.1 200 OK\r\n\r\n").expect("complete");
        assert_eq!((h.framing, h.keep_alive), (Framing::Close, false));

        let h = head("HTTP/1.1 204 No Content\r\n\r\n").expect("complete");
        assert_eq!((h.framing, h.keep_alive), (Framing::Empty, true));

        let h = head("HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\n")
            .expect("complete");
        assert!(!h.keep_alive);

        let h = head("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n").expect("complete");
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 2\r\n\r\n")
            .expect("complete");
        assert!(h.keep_alive);

        let h = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", true)
            .expect("parses")
            .expect("complete");
        assert_eq!(h.framing, Framing::Empty);

        assert_eq!(head("HTTP/1.1 200 OK\r\ncontent-len"), None);
        for bad in [
            "this is not http\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n",
        ] {
            assert_eq!(
                parse_head(bad.as_bytes(), false),
                Err(ErrorKind::Protocol),
                "{bad}"
            );
        }
    }

    /// Feeds `body` to a decoder in pieces of `step` bytes.
    fn decode(body: &[u8], step: usize, cap: usize) -> Result<(usize, usize), ErrorKind> {
        let mut d = Chunked::new(cap, 1024);
        let mut at = 0;
        while at < body.len() && !d.done() {
            let end = (at + step).min(body.len());
            at += d.feed(&body[at..end])?;
        }
        if d.done() {
            Ok((at, d.data))
        } else {
            Err(ErrorKind::Closed)
        }
    }

    #[test]
    fn chunked_bodies_are_counted_in_any_split() {
        let body = b"5;name=v\r\nHello\r\nA\r\n, World!!\n\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, 100] {
            assert_eq!(
                decode(body, step, 1 << 20),
                Ok((body.len() - 4, 15)),
                "{step}"
            );
        }
        assert_eq!(decode(b"0\r\n\r\n", 1, 0), Ok((5, 0)));
        assert_eq!(decode(body, 5, 14), Err(ErrorKind::BodyTooLarge));
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nHelloXX",
            b"\r\n",
            b"11111111111111111\r\n",
        ] {
            assert_eq!(decode(bad, 3, 1 << 20), Err(ErrorKind::Protocol));
        }
        assert_eq!(decode(b"5\r\nHel", 3, 1 << 20), Err(ErrorKind::Closed));
    }
}
