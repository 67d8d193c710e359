//! `lifecycle` checks: restart and persistence, SIGTERM and time to exit, start-up time,
//! peak memory, the database restarting under the service or starting after it.

use std::time::{Duration, Instant};

use assay_format::{Band, LifecycleAction, LifecycleCheck};
use assay_model::Evidence;

use crate::context::{CheckCx, Verdict};

/// Grace given to a service after SIGTERM before it is killed (the contract's limit is
/// judged separately, from the measured time).
const STOP_GRACE: Duration = Duration::from_secs(15);

/// How long `database_restart` keeps the database refusing connections, and how long
/// `database_late` holds it back, unless the check says (`down_for`).
pub const DEFAULT_DOWN_FOR: Duration = Duration::from_secs(5);

/// How long after the database accepts connections again the first `after` step of a
/// `database_restart` may be retried, unless the check says (`recover_within`).
pub const DEFAULT_RECOVERY: Duration = Duration::from_secs(15);

/// The first pause between attempts at the first step after a database restart; doubled
/// after each, up to [`MAX_RECOVERY_PAUSE`] (a handful of attempts, all kept as evidence).
const FIRST_RECOVERY_PAUSE: Duration = Duration::from_millis(500);
const MAX_RECOVERY_PAUSE: Duration = Duration::from_secs(4);

pub async fn run(cx: &mut CheckCx<'_, '_>, spec: &LifecycleCheck) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the {:?} did not hold: {}",
            spec.action,
            f.message()
        ));
    }
    let service = cx.shared.service.clone();
    let verdict = match spec.action {
        LifecycleAction::Restart => {
            let stop = match service.stop(STOP_GRACE).await {
                Ok(s) => s,
                Err(e) => return Verdict::error(format!("could not stop the service: {e}")),
            };
            measurement(
                cx,
                "seconds to exit after SIGTERM",
                stop.seconds_to_exit,
                "s",
                None,
            );
            let started = service.start().await;
            cx.shared.client.set_base_url(&service.base_url());
            match started {
                Ok(true) => Verdict::pass("the service restarted and became healthy"),
                Ok(false) => {
                    return fail_with_log(
                        cx,
                        "the service did not become healthy again after a restart".into(),
                    )
                    .await;
                }
                Err(e) => return Verdict::error(format!("could not start the service again: {e}")),
            }
        }
        LifecycleAction::Sigterm => {
            let limit = spec.within.map(|d| d.0).unwrap_or(Duration::from_secs(10));
            let stop = match service
                .stop(STOP_GRACE.max(limit + Duration::from_secs(2)))
                .await
            {
                Ok(s) => s,
                Err(e) => return Verdict::error(format!("could not stop the service: {e}")),
            };
            measurement(
                cx,
                "seconds to exit after SIGTERM",
                stop.seconds_to_exit,
                "s",
                Some(limit.as_secs_f64()),
            );
            if let Some(code) = stop.exit_code {
                cx.evidence.note(format!("exit code {code}"));
            }
            let restarted = service.start().await;
            cx.shared.client.set_base_url(&service.base_url());
            let v = if stop.killed_after_grace {
                Verdict::fail(format!(
                    "the service ignored SIGTERM: still running after {:.1} s, killed",
                    stop.seconds_to_exit
                ))
            } else if stop.seconds_to_exit > limit.as_secs_f64() {
                Verdict::fail(format!(
                    "the service took {:.1} s to exit after SIGTERM (limit {:.0} s)",
                    stop.seconds_to_exit,
                    limit.as_secs_f64()
                ))
            } else {
                Verdict::pass(format!(
                    "exited {:.2} s after SIGTERM",
                    stop.seconds_to_exit
                ))
            };
            match restarted {
                Ok(true) => v,
                Ok(false) => {
                    return Verdict {
                        message: format!("{}; it then did not start again", v.message),
                        ..v
                    };
                }
                Err(e) => return Verdict::error(format!("could not start the service again: {e}")),
            }
        }
        LifecycleAction::DatabaseRestart | LifecycleAction::DatabaseLate => {
            let Some(name) = spec.sidecar.clone().or_else(|| {
                cx.shared
                    .assessment
                    .file
                    .database
                    .as_ref()
                    .map(|d| d.sidecar.clone())
            }) else {
                return Verdict::error("no sidecar to act on: name one with `sidecar:`");
            };
            let down_for = spec.down_for.map(|d| d.0).unwrap_or(DEFAULT_DOWN_FOR);
            if spec.action == LifecycleAction::DatabaseRestart {
                // Judges its own `after` steps: the first may be retried.
                return database_restart(cx, spec, &name, down_for).await;
            } else {
                let started = service.start_before_sidecar(&name, down_for).await;
                // Docker may have given the service the database's old address.
                cx.shared.client.set_base_url(&service.base_url());
                match started {
                    Ok(true) => {
                        cx.evidence.note(format!(
                            "the service was started while `{name}` was down; `{name}` started {:.0} s later",
                            down_for.as_secs_f64()
                        ));
                        Verdict::pass(format!(
                            "the service started while `{name}` refused connections and became healthy once it came up"
                        ))
                    }
                    Ok(false) => {
                        return fail_with_log(cx, format!(
                            "the service did not become healthy when `{name}` started {:.0} s after it (it must retry while the database refuses connections)",
                            down_for.as_secs_f64()
                        ))
                        .await;
                    }
                    Err(e) => {
                        return Verdict::error(format!(
                            "could not start the service before `{name}`: {e}"
                        ));
                    }
                }
            }
        }
        LifecycleAction::Startup => {
            let limit = spec.within.map(|d| d.0.as_secs_f64()).unwrap_or(30.0);
            match service.startup_seconds() {
                Some(s) => {
                    measurement(cx, "start-up time", s, "s", Some(limit));
                    if s <= limit {
                        Verdict::pass(format!("healthy {s:.1} s after start"))
                    } else {
                        Verdict::fail(format!(
                            "took {s:.1} s to become healthy (limit {limit:.0} s)"
                        ))
                    }
                }
                None => Verdict::error("the start-up time was not measured"),
            }
        }
        LifecycleAction::PeakMemory => {
            let band = spec.memory_mib.unwrap_or(Band {
                target: 256.0,
                floor: 512.0,
            });
            match service.peak_memory().await {
                Some(bytes) => {
                    let mib = bytes as f64 / (1024.0 * 1024.0);
                    cx.evidence.push(Evidence::Measurement {
                        name: "peak memory".into(),
                        value: mib,
                        unit: "MiB".into(),
                        target: Some(band.target),
                        floor: Some(band.floor),
                    });
                    let credit = band_credit(mib, band, false);
                    Verdict::graded(
                        credit,
                        format!(
                            "peak memory {mib:.0} MiB (target {:.0}, floor {:.0})",
                            band.target, band.floor
                        ),
                    )
                }
                None => Verdict::error("peak memory was not measured"),
            }
        }
    };
    if verdict.status != assay_model::Status::Pass {
        return verdict;
    }
    if let Err(f) = cx.steps(&spec.after).await {
        return Verdict::fail(format!("after the {:?}: {}", spec.action, f.message()));
    }
    verdict
}

/// `database_restart`: the database drops every connection and refuses new ones for
/// `down_for` while the service runs, then accepts them again (its data kept). The service
/// must still be running, its first `after` step must hold within `recover_within` (retried
/// with growing pauses: a pooled connection that went stale may fail once), and the other
/// `after` steps as written.
async fn database_restart(
    cx: &mut CheckCx<'_, '_>,
    spec: &LifecycleCheck,
    name: &str,
    down_for: Duration,
) -> Verdict {
    let service = cx.shared.service.clone();
    let window = spec.recover_within.map(|d| d.0).unwrap_or(DEFAULT_RECOVERY);
    if let Err(e) = service.interrupt_sidecar(name, down_for).await {
        return Verdict::error(format!(
            "could not make the database `{name}` refuse connections: {e}"
        ));
    }
    cx.evidence.note(format!(
        "the database `{name}` dropped every connection and refused new ones for {:.0} s, then accepted them again (its data kept) while the service ran",
        down_for.as_secs_f64()
    ));
    if !service.is_running().await {
        return exited(cx, "while its database refused connections").await;
    }
    let Some((first, rest)) = spec.after.split_first() else {
        return Verdict::pass(format!(
            "the service kept running while `{name}` refused connections"
        ));
    };
    let accepting = Instant::now();
    let deadline = accepting + window;
    let mut pause = FIRST_RECOVERY_PAUSE;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let Err(failure) = cx.repeated(&first.value).await else {
            break;
        };
        if !service.is_running().await {
            return exited(cx, "after its database refused connections").await;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Verdict::fail(format!(
                "the service did not serve again within {:.0} s of its database accepting connections ({attempts} attempts; the last: {})",
                window.as_secs_f64(),
                failure.message()
            ));
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_RECOVERY_PAUSE);
    }
    let recovered = accepting.elapsed().as_secs_f64();
    if attempts > 1 {
        cx.evidence.note(format!(
            "the first step after the outage held at attempt {attempts}, {recovered:.1} s after the database accepted connections"
        ));
    }
    if let Err(f) = cx.steps(rest).await {
        if !service.is_running().await {
            return exited(cx, "after its database refused connections").await;
        }
        return Verdict::fail(format!("after the database restart: {}", f.message()));
    }
    Verdict::pass(format!(
        "the service served again {recovered:.1} s after `{name}` accepted connections (it refused them for {:.0} s)",
        down_for.as_secs_f64()
    ))
}

/// The service exited (`when`): a failure with its log as evidence.
async fn exited(cx: &mut CheckCx<'_, '_>, when: &str) -> Verdict {
    fail_with_log(cx, format!("the service exited {when}")).await
}

/// A failure (`message`) with the service's log as evidence.
async fn fail_with_log(cx: &mut CheckCx<'_, '_>, message: String) -> Verdict {
    let logs = cx.shared.service.logs(4096).await;
    cx.evidence.push(Evidence::Log {
        source: "service".into(),
        excerpt: logs,
    });
    Verdict::fail(message)
}

fn measurement(cx: &CheckCx<'_, '_>, name: &str, value: f64, unit: &str, target: Option<f64>) {
    cx.evidence.push(Evidence::Measurement {
        name: name.into(),
        value,
        unit: unit.into(),
        target,
        floor: None,
    });
}

/// Credit for `value` in a band: 1 at or better than target, 0 at or past floor, linear
/// between. `higher_is_better` flips the direction (throughput).
pub fn band_credit(value: f64, band: Band, higher_is_better: bool) -> f64 {
    if !value.is_finite() {
        return 0.0;
    }
    let (v, t, f) = if higher_is_better {
        (-value, -band.target, -band.floor)
    } else {
        (value, band.target, band.floor)
    };
    if v <= t {
        1.0
    } else if v >= f || f <= t {
        0.0
    } else {
        (f - v) / (f - t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_credit_is_linear_between_target_and_floor() {
        let b = Band {
            target: 50.0,
            floor: 150.0,
        };
        assert_eq!(band_credit(40.0, b, false), 1.0);
        assert_eq!(band_credit(100.0, b, false), 0.5);
        assert_eq!(band_credit(150.0, b, false), 0.0);
        assert_eq!(band_credit(f64::NAN, b, false), 0.0);
        let r = Band {
            target: 100.0,
            floor: 0.0,
        };
        assert_eq!(band_credit(50.0, r, true), 0.5);
        assert_eq!(band_credit(120.0, r, true), 1.0);
    }
}
