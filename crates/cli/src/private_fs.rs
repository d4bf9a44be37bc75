//! Files and directories only the user can read, always created new.
//!
//! What the CLI writes holds password hashes or secrets, often in a shared directory. Every
//! file is created with `O_CREAT | O_EXCL` (`create_new`), which never opens anything already
//! at the path: not a file someone else made readable (whose mode an open would keep), and not
//! a symlink planted to make us write elsewhere (POSIX: with `O_EXCL` a symlink at the path,
//! dangling or not, fails with `EEXIST` and is not followed). Files get mode 0600 and
//! directories 0700 from the start, so there is no moment when they are readable by others.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// How many random names [`create_temp_beside`] tries before giving up: each is 64 random
/// bits, so a second attempt only ever happens when someone is planting names.
const TEMP_ATTEMPTS: usize = 8;

/// Creates `path` as a new file, mode 0600 (before the umask, which can only narrow it).
///
/// # Errors
/// [`io::ErrorKind::AlreadyExists`] when anything, a symlink included, is at `path`; any
/// other error of `open(2)`.
pub fn create_new_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates `path` as a new directory, mode 0700.
///
/// # Errors
/// [`io::ErrorKind::AlreadyExists`] when anything, a symlink included, is at `path`; any
/// other error of `mkdir(2)`.
pub fn create_new_dir(path: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates a new temporary file beside `path` (same directory, so a rename can move it into
/// place atomically), named `<file name>.<16 random hex digits>.tmp`: a name nobody can plant
/// in advance, and a file no earlier, interrupted run can be in the way of.
///
/// # Errors
/// Those of [`create_new_file`]; [`io::ErrorKind::AlreadyExists`] after every name tried was
/// taken; an error of the OS random generator.
pub fn create_temp_beside(path: &Path) -> io::Result<(File, PathBuf)> {
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..TEMP_ATTEMPTS {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(io::Error::other)?;
        let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{hex}.tmp"));
        let temp = PathBuf::from(name);
        match create_new_file(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_owner_only_and_nothing_existing_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("link");
        symlink(&victim, &link).unwrap();
        let dangling = dir.path().join("dangling");
        symlink(dir.path().join("nowhere"), &dangling).unwrap();
        for planted in [&victim, &link, &dangling] {
            let err = create_new_file(planted).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{planted:?}");
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            !dir.path().join("nowhere").exists(),
            "a dangling link is not followed"
        );

        let fresh = dir.path().join("fresh");
        drop(create_new_file(&fresh).unwrap());
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn new_directories_are_owner_only_and_nothing_existing_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh");
        create_new_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let link = dir.path().join("link");
        symlink(&fresh, &link).unwrap();
        for planted in [&fresh, &link] {
            let err = create_new_dir(planted).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{planted:?}");
        }
    }

    #[test]
    fn temporary_files_get_fresh_unguessable_names_beside_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("bulk.json");
        let (_, a) = create_temp_beside(&target).unwrap();
        let (_, b) = create_temp_beside(&target).unwrap();
        assert_ne!(a, b);
        for temp in [&a, &b] {
            assert_eq!(temp.parent(), target.parent());
            let name = temp.file_name().unwrap().to_str().unwrap();
            let hex = name
                .strip_prefix("bulk.json.")
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .unwrap();
            assert!(
                hex.len() == 16 && hex.bytes().all(|c| c.is_ascii_hexdigit()),
                "{name}"
            );
            assert_eq!(mode(temp), 0o600);
        }
    }
}
