// std::autodiff round trip for tests/ship/test_rust_autodiff.py: prints
// f and its derivatives by reverse and forward mode, one `name value` per line;
// the test checks them against analytic values.
#![feature(autodiff)]
use std::autodiff::{autodiff_forward, autodiff_reverse};

// f(w) = sin(sum_i (i+1) w_i^2): reverse mode over a slice, with a loop.
#[autodiff_reverse(d_weighted, Duplicated, Active)]
fn weighted(w: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        s += (i as f64 + 1.0) * w[i] * w[i];
    }
    s.sin()
}

// g(x) = x * exp(x): reverse mode on a scalar.
#[autodiff_reverse(d_xexp, Active, Active)]
fn xexp(x: f64) -> f64 {
    x * x.exp()
}

// Rosenbrock, forward mode in x with y held constant.
#[autodiff_forward(d_rosen_x, Dual, Const, Dual)]
fn rosen(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

fn main() {
    let w = [0.3, -0.7, 0.2, 0.5];
    let mut dw = [0.0; 4];
    let f = d_weighted(&w, &mut dw, 1.0);
    println!("weighted {f:.17e}");
    for (i, d) in dw.iter().enumerate() {
        println!("d_weighted[{i}] {d:.17e}");
    }
    let (g, dg) = d_xexp(0.8, 1.0);
    println!("xexp {g:.17e}");
    println!("d_xexp {dg:.17e}");
    let (r, dr) = d_rosen_x(1.3, 1.0, 0.4);
    println!("rosen {r:.17e}");
    println!("d_rosen_x {dr:.17e}");
}
