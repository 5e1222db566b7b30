//! Small file-system rules shared by every writer of the home (auth.json, its lock, config.yaml).

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Give `file` (just created by us) the owner and group of `like` when they differ, so that a
/// root run never takes a file of the home from its owner. Only root can give a file away; for
/// anyone else the owners already match or the call fails, and a failure leaves the file ours.
pub fn match_owner(file: &File, like: &Path) {
    use std::os::unix::fs::MetadataExt;
    let (Ok(want), Ok(have)) = (fs::metadata(like), file.metadata()) else { return };
    if (want.uid(), want.gid()) != (have.uid(), have.gid()) {
        let _ = std::os::unix::fs::fchown(file, Some(want.uid()), Some(want.gid()));
    }
}

/// The temp-file prefix of an atomic write of `name`: `auth.json.tmp.<pid>.` (the writer's pid
/// lets a later writer tell a dead writer's leftovers from a live one's file).
pub fn temp_prefix(name: &str) -> String {
    format!("{name}.tmp.{}.", std::process::id())
}

/// The directory and file name of `target`.
pub fn split_target(target: &Path) -> std::io::Result<(PathBuf, String)> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path does not end in a file name"))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_string()))
}

/// Replace `target` with `bytes` atomically: a new file (mode `mode`, owner of `target` or of its
/// directory) next to it, written and fsynced, renamed over `target`, then the directory
/// fsynced. Readers see the old file or the new one, never a part. On failure the temp file is
/// removed and `target` is as it was. The one write path of auth.json and config.yaml.
pub fn write_atomic(target: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let (dir, name) = split_target(target)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(&name))
        .rand_bytes(16)
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(&dir)?;
    // A root run must not take the file from its owner.
    match_owner(tmp.as_file(), if target.exists() { target } else { &dir });
    // The umask may have narrowed the mode given at creation.
    tmp.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    sync_dir(&dir);
    Ok(())
}

/// Make a rename durable. Best effort: by now the new file is in place and visible, and some
/// filesystems refuse to fsync a directory; reporting a failure for a change that did land
/// would make the caller print a wrong message.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Why [`read_regular`] read nothing.
#[derive(Debug)]
pub enum ReadError {
    /// A directory.
    Directory,
    /// A FIFO, socket or device (what it is, for the message).
    NotRegular,
    /// Larger than the limit (the size found).
    TooLarge(u64),
    /// Any other failure (permission denied, I/O).
    Io(std::io::Error),
}

/// Read the regular file at `path` (symlinks followed), at most `max` bytes. `Ok(None)` when it
/// does not exist. The file is opened non-blocking and its type checked on the open descriptor,
/// so a FIFO never blocks and nothing can swap the file between the check and the read.
pub fn read_regular(path: &Path, max: u64) -> Result<Option<Vec<u8>>, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let nonblock = nix::fcntl::OFlag::O_NONBLOCK.bits();
    let file = match fs::OpenOptions::new().read(true).custom_flags(nonblock).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => return Err(ReadError::Directory),
        Err(e) => return Err(ReadError::Io(e)),
    };
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.is_dir() {
        return Err(ReadError::Directory);
    }
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_a_bounded_size_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        assert!(matches!(read_regular(&f, 10), Ok(None)));
        fs::write(&f, "hello").unwrap();
        assert_eq!(read_regular(&f, 10).unwrap().unwrap(), b"hello");
        assert!(matches!(read_regular(&f, 3), Err(ReadError::TooLarge(5))));
        assert!(matches!(read_regular(dir.path(), 10), Err(ReadError::Directory)));
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(read_regular(&fifo, 10), Err(ReadError::NotRegular)));
        assert!(matches!(read_regular(Path::new("/dev/zero"), 10), Err(ReadError::NotRegular)));
    }
}
