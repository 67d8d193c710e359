//! Large request bodies against real local servers that answer before reading the body and
//! close (as HTTP allows): the engine's client keeps the early response however the race
//! between writing and the close goes; servers that read everything still answer normally.

use std::time::Duration;

use assay_engine::http::{Client, Outgoing};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// What the server does once it has read the request head.
#[derive(Clone, Copy)]
enum Answer {
    /// 413 at once, then close without reading the body (the kernel resets the connection).
    EarlyAndClose,
    /// Read 8 KiB of the body, then 413 and close.
    PartlyReadThenClose,
    /// Read the whole body (content-length), answer 201 chunked.
    ReadAllChunked,
}

async fn server(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut read = buf.len() - head_end;
                let want = match answer {
                    Answer::EarlyAndClose => 0,
                    Answer::PartlyReadThenClose => 8 << 10,
                    Answer::ReadAllChunked => length,
                };
                while read < want {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read += n;
                }
                let reply: &[u8] = match answer {
                    Answer::ReadAllChunked => b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"id\"\r\n5\r\n: 7}\n\r\n0\r\n\r\n",
                    _ => b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: 35\r\nconnection: close\r\n\r\n{\"error\":{\"code\":\"body_too_large\"}}",
                };
                let _ = sock.write_all(reply).await;
                // Dropped with the body unread: the kernel answers with a reset.
            });
        }
    });
    format!("http://{addr}")
}

fn post(size: usize) -> Outgoing {
    Outgoing {
        method: "POST".into(),
        path: "/v1/users".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Some(vec![b' '; size]),
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn an_early_413_is_read_whatever_the_race_with_the_close() {
    for answer in [Answer::EarlyAndClose, Answer::PartlyReadThenClose] {
        let client = Client::new(&server(answer).await).expect("client");
        // 70 KiB as the assessments send, and 8 MiB (far more than any socket buffer).
        for size in [70 << 10, 8 << 20] {
            // Many tries: the race between the reset and the read must never decide it.
            for _ in 0..20 {
                let ex = client.send(post(size)).await;
                let resp = ex
                    .response()
                    .unwrap_or_else(|| panic!("{size} bytes: no response: {:?}", ex.outcome));
                assert_eq!(resp.status, 413);
                assert_eq!(resp.text(), r#"{"error":{"code":"body_too_large"}}"#);
            }
        }
    }
}

#[tokio::test]
async fn a_server_that_reads_the_whole_large_body_answers_as_usual() {
    let client = Client::new(&server(Answer::ReadAllChunked).await).expect("client");
    for size in [70 << 10, 3 << 20] {
        let ex = client.send(post(size)).await;
        let resp = ex
            .response()
            .unwrap_or_else(|| panic!("no response: {:?}", ex.outcome));
        assert_eq!(resp.status, 201);
        assert_eq!(resp.json(), Some(serde_json::json!({"id": 7})));
        assert_eq!(resp.header("content-type"), Some("application/json"));
    }
}
