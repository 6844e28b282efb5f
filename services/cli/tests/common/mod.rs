//! What the integration tests of this crate share (each test file is its own crate and
//! includes this module with `mod common;`).

use std::path::{Path, PathBuf};

/// The workspace's root directory.
pub(crate) fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .expect("services/cli sits two levels below the workspace root")
        .to_path_buf()
}
