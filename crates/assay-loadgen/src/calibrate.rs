//! A short measurement of the grading machine itself, taken with the performance lane held
//! just before a run's measured checks: a fixed CPU workload and this load generator against
//! a minimal HTTP server on loopback. Recorded in the scorecard, so runs made on different
//! machines (or on one machine under different load) can be compared.

use std::time::{Duration, Instant};

use assay_model::MachineCalibration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{LoadModel, LoadPlan, Target, WeightedRequest};

/// Rounds of the CPU workload; the median is kept.
const CPU_ROUNDS: usize = 5;
/// Iterations of one round of the CPU workload (a few milliseconds in a release build).
const CPU_ITERATIONS: u64 = 4_000_000;
/// How long the loopback server is driven.
const LOOPBACK: Duration = Duration::from_millis(600);

/// Measures the machine. `None` when the loopback server cannot be started (no figure is
/// better than a wrong one); the run goes on.
pub async fn calibrate() -> Option<MachineCalibration> {
    let cpu_ms = tokio::task::spawn_blocking(cpu_round_median).await.ok()?;
    let listener = TcpListener::bind("127.0.0.1:0").await.ok()?;
    let addr = listener.local_addr().ok()?;
    let server = tokio::spawn(serve(listener));
    let mut plan = LoadPlan::new(
        Target::from_addr(addr),
        LoadModel::Closed { concurrency: 1 },
        LOOPBACK,
        vec![WeightedRequest::get("calibration", "/")],
    );
    plan.warmup = Duration::from_millis(100);
    plan.connections = 1;
    let report = super::run(&plan, None).await.ok();
    server.abort();
    let report = report.filter(|r| r.ok > 0)?;
    Some(MachineCalibration {
        cpu_ms,
        loopback_p50_ms: report.latency.p50_ms,
        loopback_p99_ms: report.latency.p99_ms,
        loopback_rps: report.throughput_rps,
        optimized: !cfg!(debug_assertions),
    })
}

/// The median time of [`CPU_ROUNDS`] rounds of a fixed integer workload, in milliseconds.
fn cpu_round_median() -> f64 {
    let mut times: Vec<f64> = (0..CPU_ROUNDS)
        .map(|round| {
            let start = Instant::now();
            std::hint::black_box(cpu_work(round as u64));
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// xorshift steps folded together: no memory traffic, no allocation, nothing to optimise
/// away (the result is used).
fn cpu_work(seed: u64) -> u64 {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut acc = 0u64;
    for _ in 0..CPU_ITERATIONS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc.wrapping_add(x);
    }
    acc
}

/// Answers every request of every connection with a tiny 200, keep-alive.
async fn serve(listener: TcpListener) {
    while let Ok((mut stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut pending = Vec::new();
            loop {
                let n = match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&buf[..n]);
                while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                    pending.drain(..end + 4);
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(reply).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_machine_is_measured_on_loopback() {
        let c = super::calibrate()
            .await
            .unwrap_or_else(|| panic!("no calibration"));
        assert!(c.cpu_ms > 0.0, "{c:?}");
        assert!(c.loopback_rps > 0.0 && c.loopback_p50_ms > 0.0, "{c:?}");
        assert!(c.loopback_p99_ms >= c.loopback_p50_ms, "{c:?}");
    }
}
