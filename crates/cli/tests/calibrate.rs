//! `tollgate calibrate`: native timings, the workerd half through the calibration endpoint
//! contract (served here by a stand-in Worker that sleeps per hash), and the fallbacks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use common::{tollgate, tollgate_in};
use serde_json::Value;

/// Serves `/health` and, if `calibration` is on, `POST /__tollgate/calibrate` as the Worker's
/// contract says, taking `per_hash_ms` per requested hash. Returns its base URL.
fn stand_in_worker(per_hash_ms: u64, calibration: bool) -> String {
    stand_in_worker_restarting(per_hash_ms, calibration, 0)
}

/// Like [`stand_in_worker`], but the first `restarts` calibration requests get the 503 that
/// `wrangler dev` answers when the Worker restarts mid-request.
fn stand_in_worker_restarting(per_hash_ms: u64, calibration: bool, restarts: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        // Like wrangler's proxy, it keeps connections open after answering, despite
        // `Connection: close`: a client must stop at the end of the body, not wait for a close.
        let mut kept_open = Vec::new();
        let mut restarts_left = restarts;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header == "\r\n" || header.is_empty() {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, answer) = match request_line.split(' ').nth(1) {
                Some("/health") => (200, r#"{"status":"ok"}"#.to_string()),
                Some("/__tollgate/calibrate") if calibration && restarts_left > 0 => {
                    restarts_left -= 1;
                    (503, "Your worker restarted mid-request.".to_string())
                }
                Some("/__tollgate/calibrate") if calibration => {
                    let params: Value = serde_json::from_slice(&body).unwrap();
                    let count = params["count"].as_u64().unwrap();
                    assert!(params["memory_kib"].as_u64().unwrap() >= 7168);
                    assert_eq!(params["parallelism"], 1);
                    thread::sleep(Duration::from_millis(per_hash_ms * count));
                    (200, format!(r#"{{"count":{count}}}"#))
                }
                _ => (404, r#"{"code":"not_found"}"#.to_string()),
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                answer.len()
            );
            kept_open.push(stream);
        }
    });
    url
}

/// The workerd column of each row of the report.
fn workerd_ms(report: &str) -> Vec<f64> {
    report
        .lines()
        .filter(|l| l.starts_with("m="))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // m=47104 t=1 <native> ms <workerd> ms ...
            cols[4].parse().unwrap()
        })
        .collect()
}

#[test]
fn measures_workerd_through_the_endpoint_by_subtracting_an_empty_request() {
    let url = stand_in_worker(40, true);
    let run = tollgate(
        &[
            "calibrate",
            "--url",
            &url,
            "--samples",
            "2",
            "--budget-ms",
            "1000",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let times = workerd_ms(&run.stdout);
    assert_eq!(times.len(), 5, "{}", run.stdout);
    for t in times {
        assert!(
            (35.0..80.0).contains(&t),
            "about 40 ms per hash, got {t}: {}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("recommended: m=47104 t=1 p=1 (workerd"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "ARGON2_MEMORY_KIB = \"47104\"\nARGON2_ITERATIONS = \"1\"\nARGON2_PARALLELISM = \"1\""
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("46.0 MiB"),
        "memory per login is shown: {}",
        run.stdout
    );
}

#[test]
fn a_worker_restarting_mid_request_is_retried() {
    let url = stand_in_worker_restarting(10, true, 2);
    let run = tollgate(
        &[
            "calibrate",
            "--url",
            &url,
            "--samples",
            "1",
            "--budget-ms",
            "100000",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(workerd_ms(&run.stdout).len(), 5, "{}", run.stdout);
}

#[test]
fn workerd_time_decides_and_no_fitting_row_exits_1_with_the_free_plan_warning() {
    let url = stand_in_worker(250, true);
    let run = tollgate(
        &[
            "calibrate",
            "--url",
            &url,
            "--samples",
            "1",
            "--budget-ms",
            "200",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .starts_with("error[calibration_failed]: no OWASP row fits 200 ms (workerd)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: raise --budget-ms"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("no OWASP row fits the 10 ms CPU limit of the Workers Free plan"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("recommended:"));
}

#[test]
fn the_free_plan_warning_is_printed_even_when_a_row_measures_under_10_ms() {
    // A login on the Free plan has 10 ms of CPU for everything, hashing included: a row that
    // measures 2 ms in a local workerd is no promise about Cloudflare's machines.
    let url = stand_in_worker(2, true);
    let run = tollgate(
        &[
            "calibrate",
            "--url",
            &url,
            "--samples",
            "2",
            "--budget-ms",
            "50",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("recommended: m=47104 t=1 p=1 (workerd"),
        "{}",
        run.stdout
    );
    let warning = run
        .stdout
        .lines()
        .find(|l| {
            l.starts_with("warning: no OWASP row fits the 10 ms CPU limit of the Workers Free plan")
        })
        .unwrap_or_else(|| panic!("no Free-plan warning:\n{}", run.stdout));
    // It cites the measured workerd time of the fastest row.
    let cited: f64 = warning
        .split("the fastest takes ")
        .nth(1)
        .and_then(|rest| rest.split(" ms here (workerd timing)").next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no workerd time cited: {warning}"));
    let fastest = workerd_ms(&run.stdout)
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    assert!(
        (cited - fastest).abs() < 0.051,
        "{cited} vs {fastest}: {warning}"
    );
    assert!(cited < 10.0, "{warning}");
    assert!(warning.ends_with("deploy on the Paid plan"), "{warning}");
}

#[test]
fn a_dev_server_without_the_endpoint_is_reported() {
    let url = stand_in_worker(0, false);
    let run = tollgate(&["calibrate", "--url", &url, "--samples", "1"], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error[calibration_failed]: could not measure the Worker at"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("answered 404 to POST /__tollgate/calibrate"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("TOLLGATE_CALIBRATION:enabled"),
        "{}",
        run.stderr
    );
}

#[test]
fn without_wrangler_it_says_so_and_measures_natively() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wrangler.toml"), "name = \"x\"\n").unwrap();
    let run = tollgate_in(
        Some(dir.path()),
        &["calibrate", "--samples", "1", "--budget-ms", "100000"],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("note: wrangler was not found at"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("run `npm ci`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("measuring natively only"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("recommended: m=47104 t=1 p=1 (native"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("warning: chosen on native timings"),
        "{}",
        run.stdout
    );
}

#[test]
fn native_only_with_an_impossible_budget_fails_and_warns() {
    let run = tollgate(
        &[
            "calibrate",
            "--native-only",
            "--samples",
            "1",
            "--budget-ms",
            "1",
        ],
        "",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("note: workerd not measured (--native-only)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error[calibration_failed]: no OWASP row fits 1 ms (native)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("m=")).count(),
        5,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Workers Free plan"));
}

#[test]
fn bad_calibrate_arguments_are_usage_errors() {
    for args in [
        &["calibrate", "--url", "https://tollgate.example.com"][..],
        &["calibrate", "--budget-ms", "0"],
        &["calibrate", "--native-only", "--url", "http://127.0.0.1:1"],
    ] {
        assert_eq!(tollgate(args, "").code, 2, "{args:?}");
    }
}
