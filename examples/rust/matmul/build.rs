//! Compiles ../../matmul.mlir with `mlirboot compile --target host --emit staticlib`
//! into $OUT_DIR/matmul-artifact, links libmatmul.a (and -lm), and leaves the
//! generated Rust binding (matmul.rs) there for src/main.rs to include.
//!
//! mlirboot is found through $MLIRBOOT (a command, e.g. `/path/to/.venv/bin/mlirboot`
//! or `python3 -m mlirboot.bootstrap.cli`), else `python3 -m mlirboot.bootstrap.cli`.
//! $MLIRBOOT_PROGRAM picks another MLIR program whose entry is @matmul.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let program = env::var("MLIRBOOT_PROGRAM")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest_dir.join("../../matmul.mlir"));
    let artifact = out_dir.join("matmul-artifact");

    let launcher = env::var("MLIRBOOT")
        .unwrap_or_else(|_| "python3 -m mlirboot.bootstrap.cli".to_string());
    let mut words = launcher.split_whitespace();
    let exe = words.next().expect("MLIRBOOT is empty");
    let status = Command::new(exe)
        .args(words)
        .arg("compile")
        .arg(&program)
        .args(["--target", "host", "--emit", "staticlib", "-o"])
        .arg(&artifact)
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{launcher}` (set MLIRBOOT): {e}"));
    if !status.success() {
        panic!("`{launcher} compile {}` failed: {status}", program.display());
    }

    println!("cargo:rerun-if-changed={}", program.display());
    println!("cargo:rerun-if-env-changed=MLIRBOOT");
    println!("cargo:rerun-if-env-changed=MLIRBOOT_PROGRAM");
    println!("cargo:rustc-link-search=native={}", artifact.display());
    println!("cargo:rustc-link-lib=static=matmul");
    println!("cargo:rustc-link-lib=m");
}
