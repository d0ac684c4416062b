//! Calls the MLIR-compiled matmul (C = A x B, f32) through its generated safe
//! binding and checks it against a naive Rust matmul. Exits non-zero on a mismatch.

include!(concat!(env!("OUT_DIR"), "/matmul-artifact/matmul.rs"));

// Shapes from the signature: A is M x K, B is K x N, C is M x N (row-major).
const K: usize = MATMUL_ARG1_LEN / N;
const M: usize = MATMUL_ARG0_LEN / K;
const N: usize = 32;

fn inputs(len: usize, seed: u64) -> Vec<f32> {
    // A small LCG: deterministic, no crates.
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn naive(a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut c = vec![0.0f32; M * N];
    for i in 0..M {
        for j in 0..N {
            let mut acc = 0.0f64;
            for k in 0..K {
                acc += a[i * K + k] as f64 * b[k * N + j] as f64;
            }
            c[i * N + j] = acc as f32;
        }
    }
    c
}

fn main() {
    assert_eq!(M * N, MATMUL_RES0_LEN, "the program's shapes are not M x K x N = {M}x{K}x{N}");
    let a = inputs(MATMUL_ARG0_LEN, 1);
    let b = inputs(MATMUL_ARG1_LEN, 2);
    let mut c = vec![0.0f32; MATMUL_RES0_LEN];
    matmul(&a, &b, &mut c);

    let want = naive(&a, &b);
    let mut worst = 0.0f32;
    for (got, want) in c.iter().zip(&want) {
        worst = worst.max((got - want).abs() / want.abs().max(1.0));
    }
    println!("matmul {M}x{K} * {K}x{N}: max relative error {worst:e}");

    // The safe wrapper refuses a slice of the wrong length before calling in.
    std::panic::set_hook(Box::new(|_| {}));
    let short = std::panic::catch_unwind(|| {
        let mut c = vec![0.0f32; MATMUL_RES0_LEN];
        matmul(&a[..1], &b, &mut c)
    });
    let _ = std::panic::take_hook();
    if short.is_ok() {
        eprintln!("a short input slice was not refused");
        std::process::exit(1);
    }

    if !(worst <= 1e-4) {
        eprintln!("MISMATCH: the MLIR kernel differs from the naive matmul (max rel. error {worst:e})");
        std::process::exit(1);
    }
    println!("ok: the MLIR-compiled kernel matches the naive Rust matmul");
}
