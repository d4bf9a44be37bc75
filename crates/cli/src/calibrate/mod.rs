//! `tollgate calibrate`: how long each OWASP argon2id row takes here, natively and inside
//! workerd, and which row (as `ARGON2_*` vars) fits a per-login CPU budget.
//!
//! The rows are [`Argon2Params::OWASP_ROWS`], which OWASP rates equally strong: less memory is
//! paid for with more passes. Among the rows that fit the budget the one with the most memory
//! is recommended, since memory is what makes each guess expensive on GPUs and ASICs; every
//! row stays far below the isolate's memory limit.

mod dev_server;
mod http;
mod native;
mod workerd;

use std::io::Write;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use tollgate_core::password::Argon2Params;

use crate::error::CliError;
use crate::os_random::OsRandom;
use dev_server::{DevServer, Wrangler};
use http::BaseUrl;
use workerd::WorkerdError;

/// Memory a Worker isolate may use, in MiB (Cloudflare Workers limits: 128 MB per isolate,
/// wasm memory included, on every plan).
pub const ISOLATE_MEMORY_MIB: u32 = 128;

/// CPU time per request on the Workers Free plan, in milliseconds (Cloudflare Workers limits).
pub const FREE_PLAN_CPU_MS: f64 = 10.0;

/// What `tollgate calibrate` was asked to do.
#[derive(Debug, Clone)]
pub struct CalibrateOptions {
    /// CPU budget for one password hash, in milliseconds.
    pub budget_ms: u32,
    /// Skip workerd.
    pub native_only: bool,
    /// Measure this already running dev server instead of starting one.
    pub url: Option<String>,
    /// The checkout whose wrangler to start (default: found from the working directory).
    pub project_dir: Option<PathBuf>,
    /// Timed samples per row and runtime.
    pub samples: usize,
}

/// One OWASP row's measured cost.
#[derive(Debug, Clone, PartialEq)]
pub struct RowTiming {
    /// The row.
    pub params: Argon2Params,
    /// Median milliseconds per hash natively.
    pub native_ms: f64,
    /// Median milliseconds per hash inside workerd, when measured.
    pub workerd_ms: Option<f64>,
}

impl RowTiming {
    /// The time the recommendation goes by: workerd's when measured (that is what a login
    /// pays), else native.
    pub fn deciding_ms(&self) -> f64 {
        self.workerd_ms.unwrap_or(self.native_ms)
    }
}

/// The row to configure for `budget_ms`: among the rows whose deciding time fits, the one
/// with the most memory. `None` when no row fits.
pub fn recommend(rows: &[RowTiming], budget_ms: f64) -> Option<&RowTiming> {
    rows.iter()
        .filter(|row| row.deciding_ms() <= budget_ms)
        .max_by_key(|row| row.params.memory_kib)
}

/// Median of `values` (mean of the middle two for an even count); 0 for none.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Runs `tollgate calibrate`.
///
/// # Errors
/// [`CliError::InvalidArgument`] for a bad `--url`; [`CliError::Calibration`] when the given
/// `--url` cannot be measured, or no row fits the budget (after printing the table);
/// [`CliError::Hashing`] if argon2 fails natively.
pub fn run(options: &CalibrateOptions) -> Result<(), CliError> {
    let rows = Argon2Params::OWASP_ROWS;
    let samples = options.samples.max(1);
    let mut rng = OsRandom::new()?;
    let explicit_url = match &options.url {
        Some(url) => Some(BaseUrl::parse(url).map_err(|why| {
            CliError::invalid_argument(
                format!("--url {why}"),
                "pass the base URL of a local `wrangler dev`, such as http://127.0.0.1:8787",
            )
        })?),
        None => None,
    };

    let progress = bar(rows.len() * (samples + 1), "native  ");
    let mut timings = Vec::with_capacity(rows.len());
    for params in rows {
        let native_ms = native::time_row(params, samples, &mut rng, &progress)?;
        timings.push(RowTiming {
            params,
            native_ms,
            workerd_ms: None,
        });
    }
    progress.finish_and_clear();

    let workerd_note = if options.native_only {
        Some("workerd not measured (--native-only)".to_string())
    } else if let Some(url) = &explicit_url {
        measure_workerd(url, &mut timings, samples).map_err(|e| CliError::Calibration {
            message: format!(
                "could not measure the Worker at {}: {}",
                url.as_string(),
                describe(&e)
            ),
            hint: "start it with `--var TOLLGATE_CALIBRATION:enabled`, or pass --native-only"
                .into(),
        })?;
        None
    } else {
        start_and_measure(options, &mut timings, samples, &mut rng).err()
    };
    if let Some(note) = &workerd_note {
        eprintln!("note: {note}");
    }
    print_report(&timings, options.budget_ms)
}

/// Starts `wrangler dev`, measures, stops it. `Err` is the note saying why workerd was skipped.
fn start_and_measure(
    options: &CalibrateOptions,
    timings: &mut [RowTiming],
    samples: usize,
    rng: &mut OsRandom,
) -> Result<(), String> {
    let fallback = "; measuring natively only (pass --native-only to skip workerd, or --url to \
                    measure a running dev server)";
    let wrangler = Wrangler::find(options.project_dir.as_deref()).map_err(|why| why + fallback)?;
    let spinner = ProgressBar::new_spinner().with_message(
        "starting wrangler dev (the first start builds the Worker, which can take minutes)",
    );
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let server = DevServer::start(&wrangler, rng);
    spinner.finish_and_clear();
    let server = server.map_err(|why| why + fallback)?;
    let measured = measure_workerd(&server.url, timings, samples);
    drop(server);
    measured.map_err(|e| describe(&e) + fallback)
}

fn measure_workerd(
    base: &BaseUrl,
    timings: &mut [RowTiming],
    samples: usize,
) -> Result<(), WorkerdError> {
    let progress = bar(timings.len() * (samples + 1), "workerd ");
    for row in timings.iter_mut() {
        row.workerd_ms = Some(workerd::time_row(base, row.params, samples, &progress)?);
    }
    progress.finish_and_clear();
    Ok(())
}

fn describe(err: &WorkerdError) -> String {
    match err {
        WorkerdError::NotEnabled => format!(
            "the Worker answered 404 to POST {}: calibration is not enabled \
             (TOLLGATE_CALIBRATION=enabled) or this Worker predates the endpoint",
            workerd::ENDPOINT
        ),
        WorkerdError::Failed(why) | WorkerdError::Unavailable(why) => why.clone(),
    }
}

fn bar(len: usize, label: &str) -> ProgressBar {
    let progress = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{label}{{bar:40}} {{pos}}/{{len}} hashes ({{eta}} left)"
    )) {
        progress.set_style(style);
    }
    progress
}

/// Prints the table, the recommendation and the warnings on stdout.
fn print_report(timings: &[RowTiming], budget_ms: u32) -> Result<(), CliError> {
    let budget = f64::from(budget_ms);
    let measured_workerd = timings.iter().all(|t| t.workerd_ms.is_some());
    let mut out = String::new();
    out.push_str(&format!(
        "argon2id per hash (median; p=1), budget {budget_ms} ms:\n\
         {:<14} {:>10} {:>10} {:>14} {:>16}\n",
        "row", "native", "workerd", "memory/login", "logins/128 MiB"
    ));
    for t in timings {
        let memory_mib = f64::from(t.params.memory_kib) / 1024.0;
        out.push_str(&format!(
            "m={:<6} t={:<3} {:>7.1} ms {:>10} {:>10.1} MiB {:>16}\n",
            t.params.memory_kib,
            t.params.iterations,
            t.native_ms,
            t.workerd_ms
                .map_or("-".to_string(), |ms| format!("{ms:.1} ms")),
            memory_mib,
            ISOLATE_MEMORY_MIB * 1024 / t.params.memory_kib,
        ));
    }
    out.push_str(
        "(memory/login: argon2 memory one login hashes with; logins/128 MiB: how many such \
         hashes the isolate limit holds, before the Worker's own memory)\n",
    );
    let basis = if measured_workerd {
        "workerd"
    } else {
        "native"
    };
    let chosen = recommend(timings, budget);
    if let Some(row) = chosen {
        let p = row.params;
        out.push_str(&format!(
                "\nrecommended: m={} t={} p={} ({basis} {:.1} ms <= {budget_ms} ms; the fitting \
                 row with the most memory). In wrangler.toml:\n[vars]\n\
                 ARGON2_MEMORY_KIB = \"{}\"\nARGON2_ITERATIONS = \"{}\"\nARGON2_PARALLELISM = \"{}\"\n",
                p.memory_kib,
                p.iterations,
                p.parallelism,
                row.deciding_ms(),
                p.memory_kib,
                p.iterations,
                p.parallelism
            ));
        if !measured_workerd {
            out.push_str(
                "warning: chosen on native timings; the Worker runs argon2 as wasm, which \
                     is slower (often 1.2-2x): measure workerd before relying on it\n",
            );
        }
    }
    let fastest = timings
        .iter()
        .map(RowTiming::deciding_ms)
        .fold(f64::INFINITY, f64::min);
    out.push_str(&free_plan_warning(fastest, basis));
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| CliError::io_on("writing to stdout", &e))?;
    if chosen.is_none() {
        return Err(CliError::Calibration {
            message: format!(
                "no OWASP row fits {budget_ms} ms ({basis}); the fastest takes {fastest:.1} ms"
            ),
            hint: format!(
                "raise --budget-ms to at least {} (the Paid plan allows far more CPU per request)",
                fastest.ceil()
            ),
        });
    }
    Ok(())
}

/// The Free-plan warning, printed on every run: a login hashes once at an OWASP row and also
/// parses the request, signs its tokens and reads and writes KV, all inside the same 10 ms, on
/// Cloudflare's hardware, not this machine's. Even where this machine's fastest row measures
/// under 10 ms there is no margin to count on, so the warning never depends on the numbers;
/// the numbers only make it concrete.
fn free_plan_warning(fastest_ms: f64, basis: &str) -> String {
    let (measured, outcome) = if fastest_ms > FREE_PLAN_CPU_MS {
        (
            format!("the fastest takes {fastest_ms:.1} ms here ({basis} timing) by itself"),
            "will exceed it",
        )
    } else {
        (
            format!(
                "the fastest takes {fastest_ms:.1} ms here ({basis} timing), leaving no room for \
                 the rest of a login, and Cloudflare's CPUs are not this machine's"
            ),
            "can exceed it at any time",
        )
    };
    format!(
        "warning: no OWASP row fits the {FREE_PLAN_CPU_MS} ms CPU limit of the Workers Free plan \
         ({measured}); logins there {outcome}: deploy on the Paid plan\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(row: usize, native_ms: f64, workerd_ms: Option<f64>) -> RowTiming {
        RowTiming {
            params: Argon2Params::OWASP_ROWS[row],
            native_ms,
            workerd_ms,
        }
    }

    #[test]
    fn recommends_the_fitting_row_with_the_most_memory() {
        let rows = [
            timing(0, 40.0, Some(70.0)),
            timing(1, 33.0, Some(55.0)),
            timing(2, 31.0, Some(49.0)),
            timing(3, 30.0, Some(48.0)),
            timing(4, 29.0, Some(47.0)),
        ];
        assert_eq!(
            recommend(&rows, 50.0).map(|r| r.params.memory_kib),
            Some(12_288)
        );
        assert_eq!(
            recommend(&rows, 100.0).map(|r| r.params.memory_kib),
            Some(47_104)
        );
        assert_eq!(recommend(&rows, 40.0), None);
    }

    #[test]
    fn native_timings_decide_only_without_workerd() {
        let rows = [timing(0, 40.0, None), timing(1, 60.0, None)];
        assert_eq!(
            recommend(&rows, 50.0).map(|r| r.params.memory_kib),
            Some(47_104)
        );
        let rows = [timing(0, 40.0, Some(80.0)), timing(1, 35.0, Some(45.0))];
        assert_eq!(
            recommend(&rows, 50.0).map(|r| r.params.memory_kib),
            Some(19_456)
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
