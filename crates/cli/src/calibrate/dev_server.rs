//! Starting and stopping a local `wrangler dev` with the calibration endpoint enabled.
//!
//! The server runs in its own process group under a small `sh` supervisor. The supervisor's
//! stdin is a pipe whose only writer is this process: when the pipe closes (we stop it, or
//! this process dies, even by SIGKILL or Ctrl-C) a watcher signals the whole group, so
//! neither wrangler nor workerd outlives the command.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tollgate_core::random::Random;

use super::http::{self, BaseUrl};
use crate::os_random::OsRandom;
use crate::private_fs::{create_new_dir, create_new_file};

/// How long `wrangler dev` may take to answer `/health`: it runs the Worker's build command
/// first, and a cold release build takes about four minutes on a 2-core machine.
pub const READY_TIMEOUT: Duration = Duration::from_secs(360);

/// How long the group may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Runs `"$@"` (wrangler) in the background and waits for it; a watcher stops the process
/// group when stdin reaches end of file. The watcher ignores the SIGTERM it sends the group
/// so it can follow up with SIGKILL for anything still alive after 10 s.
const SUPERVISOR: &str = r#"
exec 3<&0
"$@" </dev/null &
server=$!
{
  trap '' TERM
  read -r _ <&3
  kill -TERM 0
  i=0
  while kill -0 "$server" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
  kill -KILL 0
} &
wait "$server"
"#;

/// Where the project's wrangler is.
#[derive(Debug, Clone)]
pub struct Wrangler {
    /// The checkout holding `wrangler.toml`.
    pub project_dir: PathBuf,
    /// `<project>/node_modules/.bin/wrangler`.
    pub bin: PathBuf,
}

impl Wrangler {
    /// Finds wrangler in `project_dir`, or in the nearest ancestor of the working directory
    /// holding `wrangler.toml`.
    ///
    /// # Errors
    /// A sentence saying what is missing and what to do.
    pub fn find(project_dir: Option<&Path>) -> Result<Wrangler, String> {
        let project_dir = match project_dir {
            Some(dir) => dir.to_path_buf(),
            None => {
                let cwd = std::env::current_dir()
                    .map_err(|e| format!("cannot read the working directory: {e}"))?;
                cwd.ancestors()
                    .find(|dir| dir.join("wrangler.toml").is_file())
                    .map(Path::to_path_buf)
                    .ok_or_else(|| {
                        "no wrangler.toml in the working directory or above it: run from the \
                         Tollgate checkout or pass --project-dir"
                            .to_string()
                    })?
            }
        };
        if !project_dir.join("wrangler.toml").is_file() {
            return Err(format!("{} has no wrangler.toml", project_dir.display()));
        }
        let bin = project_dir.join("node_modules/.bin/wrangler");
        if !bin.is_file() {
            return Err(format!(
                "wrangler was not found at {}: run `npm ci` in {}",
                bin.display(),
                project_dir.display()
            ));
        }
        Ok(Wrangler { project_dir, bin })
    }
}

/// A running `wrangler dev`, stopped when dropped.
pub struct DevServer {
    supervisor: Child,
    /// Our end of the supervisor's stdin: closing it stops the server.
    lifeline: Option<ChildStdin>,
    /// Persist dir, env file and log; removed when the server has stopped.
    dir: PathBuf,
    /// Where it listens.
    pub url: BaseUrl,
}

impl DevServer {
    /// Starts `wrangler dev --local` on free loopback ports with `TOLLGATE_CALIBRATION` enabled,
    /// a fresh persist dir and a random `JWT_SECRET`, and waits until `GET /health` answers 200.
    ///
    /// # Errors
    /// A sentence with the end of wrangler's output when it exits or is not ready in time.
    pub fn start(wrangler: &Wrangler, rng: &mut OsRandom) -> Result<DevServer, String> {
        let dir = std::env::temp_dir().join(format!(
            "tollgate-calibrate-{}",
            URL_SAFE_NO_PAD.encode(rng.bytes::<9>())
        ));
        // Owner-only and created new (never a directory or file already there): the env file
        // holds a signing secret, and the temporary directory is shared with other users.
        create_new_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let env_file = dir.join("dev.vars");
        let secret = URL_SAFE_NO_PAD.encode(rng.bytes::<32>());
        create_new_file(&env_file)
            .and_then(|mut f| f.write_all(format!("JWT_SECRET={secret}\n").as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", env_file.display()))?;
        let log_path = dir.join("wrangler.log");
        let log = create_new_file(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let (port, inspector_port) = free_ports().map_err(|e| format!("no free port: {e}"))?;
        let url = BaseUrl::parse(&format!("http://127.0.0.1:{port}"))?;

        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("tollgate-wrangler-supervisor")
            .arg(&wrangler.bin)
            .args([
                "dev",
                "--local",
                "--ip",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .args([
                "--inspector-ip",
                "127.0.0.1",
                "--inspector-port",
                &inspector_port.to_string(),
            ])
            .arg("--persist-to")
            .arg(dir.join("state"))
            .arg("--env-file")
            .arg(&env_file)
            .args(["--var", "TOLLGATE_CALIBRATION:enabled"])
            .arg("--show-interactive-dev-session=false")
            .current_dir(&wrangler.project_dir)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("FORCE_COLOR", "0")
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        let mut supervisor = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(format!("cannot run sh to start wrangler: {e}"));
            }
        };
        let lifeline = supervisor.stdin.take();
        let mut server = DevServer {
            supervisor,
            lifeline,
            dir,
            url,
        };
        server.wait_until_ready(&log_path)?;
        Ok(server)
    }

    fn wait_until_ready(&mut self, log_path: &Path) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.supervisor.try_wait() {
                return Err(format!(
                    "wrangler dev exited ({status}) before it was ready; its output ends with:\n{}",
                    log_tail(log_path)
                ));
            }
            if http::request(&self.url, "GET", "/health", None).is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            sleep(Duration::from_millis(250));
        }
        Err(format!(
            "wrangler dev did not answer GET /health within {} s; its output ends with:\n{}",
            READY_TIMEOUT.as_secs(),
            log_tail(log_path)
        ))
    }

    /// Stops the server's process group and waits until it is gone.
    fn stop(&mut self) {
        drop(self.lifeline.take());
        let pgid = self.supervisor.id();
        let deadline = Instant::now() + STOP_GRACE + Duration::from_secs(5);
        while group_alive(pgid) && Instant::now() < deadline {
            sleep(Duration::from_millis(100));
        }
        if group_alive(pgid) {
            signal_group(pgid, "KILL");
        }
        let _ = self.supervisor.wait();
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Two distinct free TCP ports on 127.0.0.1, picked by the OS and released for wrangler.
fn free_ports() -> std::io::Result<(u16, u16)> {
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// Whether any process is left in group `pgid` (dash's `kill` takes `-PGID`, not `-- -PGID`).
fn group_alive(pgid: u32) -> bool {
    Command::new("sh")
        .args(["-c", "kill -0 -\"$1\" 2>/dev/null", "sh", &pgid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("sh")
        .args([
            "-c",
            &format!("kill -{signal} -\"$1\" 2>/dev/null"),
            "sh",
            &pgid.to_string(),
        ])
        .status();
}

/// The last 3000 characters of wrangler's log.
fn log_tail(path: &Path) -> String {
    let log = fs::read_to_string(path).unwrap_or_default();
    let start = log.char_indices().rev().nth(3000).map_or(0, |(i, _)| i);
    log[start..].to_string()
}
