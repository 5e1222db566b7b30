//! Small file-system rules shared by every writer of the home (auth.json, its lock, config.yaml).

use std::fs::{self, File};
use std::path::Path;

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
