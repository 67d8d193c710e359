//! One worker's HTTP/1.1 connection: opened lazily, kept alive, reopened after any failure.
//! The connection is driven inside the worker's own task (no task per connection), every
//! exchange runs under the request timeout and every body is read, discarded and capped.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Body as _;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::plan::Prepared;
use super::report::ErrorKind;

type Driver = Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// What one request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A complete response (body read within the cap).
    Response {
        status: u16,
    },
    Failed(ErrorKind),
}

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Pin<Box<Driver>>,
    /// The driver future has completed: the connection is gone.
    done: bool,
}

impl Conn {
    fn usable(&self) -> bool {
        !self.done && !self.sender.is_closed()
    }
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
            link: Link::default(),
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
            self.link.conn = None;
        }
        outcome
    }
}

/// The connection itself, opened lazily.
#[derive(Default)]
struct Link {
    conn: Option<Conn>,
}

impl Link {
    async fn exchange(&mut self, prepared: &Prepared, kind: usize) -> Outcome {
        if let Err(e) = self.ready(prepared).await {
            return Outcome::Failed(e);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Outcome::Failed(ErrorKind::Closed);
        };
        let Some(request) = prepared.requests.get(kind) else {
            return Outcome::Failed(ErrorKind::Protocol);
        };
        let response = drive(
            conn.driver.as_mut(),
            &mut conn.done,
            true,
            conn.sender.send_request(request.build()),
        )
        .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(classify(&e)),
        };
        let status = response.status().as_u16();
        let mut body = response.into_body();
        if body
            .size_hint()
            .exact()
            .is_some_and(|n| n > prepared.body_cap as u64)
        {
            return Outcome::Failed(ErrorKind::BodyTooLarge);
        }
        let mut read = 0usize;
        loop {
            match drive(conn.driver.as_mut(), &mut conn.done, false, body.frame()).await {
                None => break,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        read = read.saturating_add(data.len());
                        if read > prepared.body_cap {
                            return Outcome::Failed(ErrorKind::BodyTooLarge);
                        }
                    }
                    // A body of known length is done with its last byte: no need to poll
                    // for the end.
                    if body.is_end_stream() {
                        break;
                    }
                }
                Some(Err(e)) => return Outcome::Failed(classify(&e)),
            }
        }
        Outcome::Response { status }
    }

    /// Makes sure a connection is open and ready for a request. A kept-alive connection
    /// the server closed meanwhile is replaced once without counting an error: nothing was
    /// sent on it.
    async fn ready(&mut self, prepared: &Prepared) -> Result<(), ErrorKind> {
        for _ in 0..2 {
            if self.conn.as_ref().is_some_and(|c| !c.usable()) {
                self.conn = None;
            }
            let conn = match self.conn.as_mut() {
                Some(c) => c,
                None => self.conn.insert(connect(prepared).await?),
            };
            if conn.sender.is_ready() {
                return Ok(());
            }
            if drive(
                conn.driver.as_mut(),
                &mut conn.done,
                true,
                conn.sender.ready(),
            )
            .await
            .is_ok()
            {
                return Ok(());
            }
            self.conn = None;
        }
        Err(ErrorKind::Connect)
    }
}

async fn connect(prepared: &Prepared) -> Result<Conn, ErrorKind> {
    let tcp = TcpStream::connect(prepared.addr)
        .await
        .map_err(|_| ErrorKind::Connect)?;
    // Without it small requests wait on Nagle's algorithm; failing to set it only costs
    // latency, so the connection is used anyway.
    tcp.set_nodelay(true).ok();
    let (sender, driver) = prepared
        .builder
        .handshake(TokioIo::new(tcp))
        .await
        .map_err(|_| ErrorKind::Connect)?;
    Ok(Conn {
        sender,
        driver: Box::pin(driver),
        done: false,
    })
}

/// Polls `fut` to completion while also driving the connection (writing the request,
/// reading the response). Once the connection has ended, `fut` alone is polled: hyper then
/// fails it promptly.
///
/// With `driver_first`, the connection is polled before `fut`, so what it delivers (the
/// response) completes `fut` in the same poll rather than after another wake-up; without,
/// `fut` goes first, for what is usually already delivered (body chunks), sparing a poll of
/// the connection.
async fn drive<F: Future>(
    mut driver: Pin<&mut Driver>,
    done: &mut bool,
    driver_first: bool,
    fut: F,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if !driver_first && let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if !*done && driver.as_mut().poll(cx).is_ready() {
            *done = true;
        }
        fut.as_mut().poll(cx)
    })
    .await
}

fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        ErrorKind::Protocol
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Closed
    }
}
