//! Compiles matmul.mlir with `mlirboot compile --target offload-host --emit sharedlib`
//! into $OUT_DIR/matmul-artifact (libmatmul.so: host code plus the embedded device
//! image, registered with libomptarget when it loads), links it, and leaves the
//! generated Rust binding (matmul.rs) there for src/main.rs to include.
//!
//! mlirboot is found through $MLIRBOOT (a command, e.g. `/path/to/.venv/bin/mlirboot`),
//! else `python3 -m mlirboot.bootstrap.cli`; $MLIRBOOT_TARGET picks another target
//! that emits a shared library (default offload-host).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let program = manifest_dir.join("matmul.mlir");
    let artifact = out_dir.join("matmul-artifact");
    let target = env::var("MLIRBOOT_TARGET").unwrap_or_else(|_| "offload-host".to_string());

    let launcher = env::var("MLIRBOOT")
        .unwrap_or_else(|_| "python3 -m mlirboot.bootstrap.cli".to_string());
    let mut words = launcher.split_whitespace();
    let exe = words.next().expect("MLIRBOOT is empty");
    let status = Command::new(exe)
        .args(words)
        .arg("compile")
        .arg(&program)
        .args(["--target", &target, "--emit", "sharedlib", "-o"])
        .arg(&artifact)
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{launcher}` (set MLIRBOOT): {e}"));
    if !status.success() {
        panic!("`{launcher} compile {}` failed: {status}", program.display());
    }

    println!("cargo:rerun-if-changed={}", program.display());
    println!("cargo:rerun-if-env-changed=MLIRBOOT");
    println!("cargo:rerun-if-env-changed=MLIRBOOT_TARGET");
    println!("cargo:rustc-link-search=native={}", artifact.display());
    println!("cargo:rustc-link-lib=dylib=matmul");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", artifact.display());
}
