//! One training step's gradient, split between the two compilers:
//!
//! - the matrix products run in an MLIR kernel that mlirboot compiled for the
//!   offload runtime (`matmul`, the generated binding of libmatmul.so): the
//!   forward product P = X W and the weight gradient dW = X^T dL/dP;
//! - the loss L(P) = 1/2 sum (tanh(P) - Y)^2 is Rust, and its gradient dL/dP
//!   comes from rustc's std::autodiff, that is Enzyme as mlirboot built it
//!   (`mlirboot rust enable-autodiff`).
//!
//! Enzyme sees only the Rust code: the kernel lives in another library, so its
//! adjoint (a product with X^T) is called explicitly, through the same kernel.
//! The result is checked against a plain f64 Rust computation of the same
//! gradient. Exits non-zero on a mismatch.
#![feature(autodiff)]
use std::autodiff::autodiff_reverse;

include!(concat!(env!("OUT_DIR"), "/matmul-artifact/matmul.rs"));

const N: usize = 64;
const LEN: usize = N * N;

#[autodiff_reverse(d_loss, Duplicated, Const, Active)]
fn loss(p: &[f32; LEN], y: &[f32; LEN]) -> f32 {
    let mut sum = 0.0f32;
    for i in 0..LEN {
        let r = p[i].tanh() - y[i];
        sum += 0.5 * r * r;
    }
    sum
}

fn inputs(seed: u64, scale: f32) -> Box<[f32; LEN]> {
    // A small LCG: deterministic, no crates.
    let mut state = seed;
    let mut v = Box::new([0.0f32; LEN]);
    for x in v.iter_mut() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *x = scale * (((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5);
    }
    v
}

fn transpose(a: &[f32; LEN]) -> Box<[f32; LEN]> {
    let mut t = Box::new([0.0f32; LEN]);
    for i in 0..N {
        for j in 0..N {
            t[j * N + i] = a[i * N + j];
        }
    }
    t
}

/// dL/dW by hand, in f64: P = X W, dP = (tanh P - Y)(1 - tanh^2 P), dW = X^T dP.
fn reference(x: &[f32; LEN], w: &[f32; LEN], y: &[f32; LEN]) -> (f64, Vec<f64>) {
    let mut dp = vec![0.0f64; LEN];
    let mut l = 0.0f64;
    for i in 0..N {
        for j in 0..N {
            let p: f64 = (0..N).map(|k| x[i * N + k] as f64 * w[k * N + j] as f64).sum();
            let t = p.tanh();
            let r = t - y[i * N + j] as f64;
            l += 0.5 * r * r;
            dp[i * N + j] = r * (1.0 - t * t);
        }
    }
    let mut dw = vec![0.0f64; LEN];
    for k in 0..N {
        for j in 0..N {
            dw[k * N + j] = (0..N).map(|i| x[i * N + k] as f64 * dp[i * N + j]).sum();
        }
    }
    (l, dw)
}

fn main() {
    let x = inputs(1, 1.0);
    let w = inputs(2, 0.5);
    let y = inputs(3, 1.0);

    let mut p = Box::new([0.0f32; LEN]);
    matmul(&x[..], &w[..], &mut p[..]); // offload kernel: P = X W
    let mut dp = Box::new([0.0f32; LEN]);
    let l = d_loss(&p, &mut dp, &y, 1.0); // std::autodiff: dL/dP
    let mut dw = Box::new([0.0f32; LEN]);
    matmul(&transpose(&x)[..], &dp[..], &mut dw[..]); // offload kernel: dW = X^T dL/dP

    let (l_ref, dw_ref) = reference(&x, &w, &y);
    let scale = dw_ref.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = dw.iter().zip(&dw_ref).fold(0.0f64, |m, (g, r)| m.max((*g as f64 - r).abs()));
    let loss_err = ((l as f64) - l_ref).abs() / l_ref.abs();
    println!("loss {l:.6} (reference {l_ref:.6}, relative error {loss_err:.1e})");
    println!("dL/dW {N}x{N}: max error {worst:.2e} against max |dW| {scale:.3}");
    if loss_err > 1e-4 || worst > 1e-4 * scale {
        eprintln!("MISMATCH: the gradient differs from the f64 reference");
        std::process::exit(1);
    }
    println!("ok: std::autodiff's dL/dP through the offload kernel's products matches");
}
