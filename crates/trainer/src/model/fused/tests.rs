//! The fused step and cell against burn's own operations, and the vectorised math.

use super::flex::{exp4, tanh4};
use super::lstm_cell;
use burn::prelude::*;
use burn::tensor::activation;
use wide::f32x4;

/// The same cell from burn's own differentiable operations.
fn composed(gates: Tensor<2>, state: Tensor<2>) -> Tensor<2> {
    let h = state.dims()[1] / 2;
    let c = state.narrow(1, h, h);
    let a = activation::sigmoid(gates);
    let (i, f, q, o) = (
        a.clone().narrow(1, 0, h),
        a.clone().narrow(1, h, h),
        a.clone().narrow(1, 2 * h, h),
        a.narrow(1, 3 * h, h),
    );
    let cell = f * c + i * (q.mul_scalar(2.0).sub_scalar(1.0));
    let hidden = o * activation::tanh(cell.clone());
    Tensor::cat(vec![hidden, cell], 1)
}

fn data(rows: usize, cols: usize, seed: f32) -> TensorData {
    let values: Vec<f32> = (0..rows * cols)
        .map(|k| ((k as f32 + seed) * 0.731).sin() * 2.0)
        .collect();
    TensorData::new(values, [rows, cols])
}

fn max_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    let (a, b) = (
        crate::model::tensor_values(a),
        crate::model::tensor_values(b),
    );
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn fused_step_matches_composed_operations_forward_and_backward() {
    let device = Device::flex().autodiff();
    let (batch, hidden) = (3, 5);
    let weights = Tensor::<2>::from_data(data(batch, 2 * hidden, 7.0), &device);
    let run = |fused: bool| {
        let projected =
            Tensor::<2>::from_data(data(batch, 4 * hidden, 1.0), &device).require_grad();
        let state = Tensor::<2>::from_data(data(batch, 2 * hidden, 3.0), &device).require_grad();
        let recurrent = Tensor::<2>::from_data(data(hidden, 4 * hidden, 5.0), &device)
            .mul_scalar(0.3)
            .require_grad();
        let out = if fused {
            super::lstm_step(projected.clone(), state.clone(), recurrent.clone())
        } else {
            let gates =
                projected.clone() + state.clone().narrow(1, 0, hidden).matmul(recurrent.clone());
            composed(gates, state.clone())
        };
        let grads = (out.clone() * weights.clone()).sum().backward();
        let g = |t: &Tensor<2>| t.grad(&grads).unwrap();
        (out.inner(), g(&projected), g(&state), g(&recurrent))
    };
    let (fused, composed) = (run(true), run(false));
    assert!(max_diff(fused.0, composed.0) < 1e-5);
    assert!(max_diff(fused.1, composed.1) < 1e-5);
    assert!(max_diff(fused.2, composed.2) < 1e-5);
    assert!(max_diff(fused.3, composed.3) < 1e-5);
}

#[test]
fn fused_cell_matches_composed_operations_forward_and_backward() {
    let device = Device::flex().autodiff();
    let (batch, hidden) = (3, 5);
    let weights = Tensor::<2>::from_data(data(batch, 2 * hidden, 7.0), &device);
    let run = |fused: bool| {
        let gates = Tensor::<2>::from_data(data(batch, 4 * hidden, 1.0), &device).require_grad();
        let state = Tensor::<2>::from_data(data(batch, 2 * hidden, 3.0), &device).require_grad();
        let out = if fused {
            lstm_cell(gates.clone(), state.clone())
        } else {
            composed(gates.clone(), state.clone())
        };
        let grads = (out.clone() * weights.clone()).sum().backward();
        (
            out,
            gates.grad(&grads).unwrap(),
            state.grad(&grads).unwrap(),
        )
    };
    let (out_f, dg_f, ds_f) = run(true);
    let (out_c, dg_c, ds_c) = run(false);
    assert!(max_diff(out_f.inner(), out_c.inner()) < 1e-6);
    assert!(max_diff(dg_f, dg_c) < 1e-5);
    assert!(max_diff(ds_f, ds_c) < 1e-5);
}

#[test]
fn fast_exp_and_tanh_match_the_library() {
    for k in -800..=800 {
        let x = k as f32 * 0.1;
        let (e, t) = (
            exp4(f32x4::splat(x)).to_array()[0],
            tanh4(f32x4::splat(x)).to_array()[0],
        );
        assert!(
            (e - x.exp()).abs() / x.exp() < 3e-7,
            "exp({x}): {e} vs {}",
            x.exp()
        );
        assert!(
            (t - x.tanh()).abs() < 2e-7,
            "tanh({x}): {t} vs {}",
            x.tanh()
        );
    }
}
