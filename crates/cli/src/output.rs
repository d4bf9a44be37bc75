//! Where bulk files go: a file written atomically with owner-only permissions, or stdout when
//! it is not a terminal.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;
use crate::private_fs::create_temp_beside;

/// An output being written: a temporary file renamed into place by [`Output::finish`], or
/// stdout.
pub enum Output {
    /// A new temporary file beside `path`, renamed to `path` when finished.
    File {
        /// Buffered writer over the temporary file.
        writer: BufWriter<File>,
        /// The temporary file (removed if the output is dropped unfinished).
        temp: TempPath,
        /// The final name.
        path: PathBuf,
    },
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
}

/// A file removed when dropped, unless [`TempPath::keep`] was called.
pub struct TempPath(Option<PathBuf>);

impl TempPath {
    /// The path.
    pub fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    /// Stops the file from being removed.
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempPath {
    /// An output dropped unfinished (an error part-way) leaves no file behind.
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = fs::remove_file(path);
        }
    }
}

impl Output {
    /// Opens `path` for writing, or stdout when `path` is `None` or `-`.
    ///
    /// A file is first written as a new temporary file beside `path`, under a random name,
    /// created with `O_EXCL` and mode 0600 (it holds password hashes; see [`crate::private_fs`]:
    /// nothing planted in the directory is opened or followed), and only renamed to `path` by
    /// [`Output::finish`], so a failed run never leaves half a bulk file that `wrangler kv bulk
    /// put` could load. The rename replaces whatever was at `path`, a symlink included, without
    /// following it.
    ///
    /// # Errors
    /// [`CliError::TerminalOutput`] when stdout is a terminal; [`CliError::Io`] when the
    /// temporary file cannot be created.
    pub fn open(path: Option<&Path>) -> Result<Output, CliError> {
        let path = path.filter(|p| p.as_os_str() != "-");
        let Some(path) = path else {
            if io::stdout().is_terminal() {
                return Err(CliError::TerminalOutput);
            }
            return Ok(Output::Stdout(BufWriter::new(io::stdout())));
        };
        let (file, temp) = create_temp_beside(path)
            .map_err(|e| CliError::io("creating a temporary file beside", path, &e))?;
        Ok(Output::File {
            writer: BufWriter::with_capacity(1 << 20, file),
            temp: TempPath(Some(temp)),
            path: path.to_path_buf(),
        })
    }

    /// The writer to put the content into.
    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File { writer, .. } => writer,
            Output::Stdout(writer) => writer,
        }
    }

    /// Where the output goes, for messages.
    pub fn describe(&self) -> String {
        match self {
            Output::File { path, .. } => path.display().to_string(),
            Output::Stdout(_) => "stdout".into(),
        }
    }

    /// Reports a write error on this output.
    pub fn write_error(&self, err: &io::Error) -> CliError {
        match self {
            Output::File { temp, .. } => CliError::io("writing", temp.path(), err),
            Output::Stdout(_) => CliError::io_on("writing to stdout", err),
        }
    }

    /// Flushes, syncs and moves the file into place.
    ///
    /// # Errors
    /// [`CliError::Io`] when flushing, syncing or renaming fails (the temporary file is then
    /// removed).
    pub fn finish(self) -> Result<(), CliError> {
        match self {
            Output::Stdout(mut writer) => writer
                .flush()
                .map_err(|e| CliError::io_on("writing to stdout", &e)),
            Output::File { writer, temp, path } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| CliError::io("writing", temp.path(), e.error()))?;
                file.sync_all()
                    .map_err(|e| CliError::io("writing", temp.path(), &e))?;
                fs::rename(temp.path(), &path).map_err(|e| CliError::io("creating", &path, &e))?;
                temp.keep();
                Ok(())
            }
        }
    }
}
