//! Embeds every SQL file under `sql/` (but the test files under `sql/tests/`) in the
//! binary, as one table of (path, text): the registry names files by path, and the days'
//! fingerprint hashes the table, so a new or edited file is covered without a list to keep.

use std::path::{Path, PathBuf};

fn main() {
    // Read when the script runs, not when it was compiled: a compiled build script is
    // reused by every checkout that shares the cargo cache (CI's clone, a worktree).
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("sql");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every SQL file under `sql/` (but `sql/tests/`): its path there, and its text.\n\
         pub(crate) static SQL_FILES: &[(&str, &str)] = &[\n",
    );
    for (relative, absolute) in files {
        out.push_str(&format!(
            "    ({relative:?}, include_str!({:?})),\n",
            absolute.display().to_string()
        ));
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("sql_files.rs");
    std::fs::write(&target, out).expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a readable sql/ folder").path();
        if path.is_dir() {
            if path != root.join("tests") {
                collect(root, &path, files);
            }
        } else if path.extension().is_some_and(|e| e == "sql") {
            let relative = path
                .strip_prefix(root)
                .expect("under sql/")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((relative, path));
        }
    }
}
