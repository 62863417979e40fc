//! The fused kernels on burn's `Flex` CPU backend, vectorised with SSE2 through `wide`.

use burn::backend::Flex;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::{Slice, TensorData};
use burn_flex::FlexTensor;
use wide::f32x4;

use super::{LstmCellOps, sequence};

/// `e^x` on four lanes (Cephes-style `2^n · p(r)`, relative error about 1e-7, like the C
/// library's `expf`). SSE2 through `wide`, so it stays fast in this crate's low-optimisation dev
/// builds, where loops are not auto-vectorised.
#[inline(always)]
pub(super) fn exp4(x: f32x4) -> f32x4 {
    let x = x.fast_max(f32x4::splat(-87.0)).fast_min(f32x4::splat(88.0));
    let n = (x * f32x4::splat(std::f32::consts::LOG2_E)).fast_round_int();
    let nf = n.round_float();
    let r = x - nf * f32x4::splat(0.693_359_4) + nf * f32x4::splat(2.121_944_4e-4);
    let p = ((((f32x4::splat(1.987_569_1e-4) * r + f32x4::splat(1.398_199_9e-3)) * r
        + f32x4::splat(8.333_452e-3))
        * r
        + f32x4::splat(4.166_579_6e-2))
        * r
        + f32x4::splat(1.666_666_5e-1))
        * r
        + f32x4::splat(0.5);
    let y = p * r * r + r + f32x4::ONE;
    // 2^n from its bit pattern `(n + 127) << 23`, computed in floating point: the product is an
    // exact integer below 2^31, and this avoids a vector shift whose count the low-optimisation
    // dev build passes through memory (a store-forwarding stall on every call).
    let bits = ((nf + f32x4::splat(127.0)) * f32x4::splat(8_388_608.0)).fast_round_int();
    let scale: f32x4 = bytemuck::cast(bits);
    y * scale
}

#[inline(always)]
pub(super) fn sigmoid4(x: f32x4) -> f32x4 {
    f32x4::ONE / (f32x4::ONE + exp4(-x))
}

#[inline(always)]
pub(super) fn tanh4(x: f32x4) -> f32x4 {
    f32x4::splat(2.0) * sigmoid4(x + x) - f32x4::ONE
}

/// Four lanes from `s[at..]`, zero-padded past the end (all zero when `at` is past it).
#[inline(always)]
pub(super) fn load(s: &[f32], at: usize) -> f32x4 {
    match s
        .get(at..at + 4)
        .and_then(|c| <&[f32; 4]>::try_from(c).ok())
    {
        Some(lanes) => f32x4::from(*lanes),
        None => {
            let mut lanes = [0.0f32; 4];
            for (lane, v) in lanes.iter_mut().zip(s.get(at..).unwrap_or_default()) {
                *lane = *v;
            }
            f32x4::from(lanes)
        }
    }
}

/// Store the lanes that fit into `s[at..]` (none when `at` is past the end).
#[inline(always)]
pub(super) fn store(s: &mut [f32], at: usize, v: f32x4) {
    match s
        .get_mut(at..at + 4)
        .and_then(|c| <&mut [f32; 4]>::try_from(c).ok())
    {
        Some(chunk) => *chunk = v.to_array(),
        None => {
            let rest = s.get_mut(at..).unwrap_or_default();
            for (slot, lane) in rest.iter_mut().zip(v.to_array()) {
                *slot = lane;
            }
        }
    }
}

pub(super) fn new_tensor(values: Vec<f32>, rows: usize, cols: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, [rows, cols]))
}

impl LstmCellOps for Flex {
    fn lstm_sequence(
        projected: FlexTensor,
        state: FlexTensor,
        recurrent: FlexTensor,
    ) -> FlexTensor {
        sequence::forward_only(projected, state, recurrent)
    }

    fn lstm_sequence_forward(
        projected: FlexTensor,
        state: FlexTensor,
        recurrent: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        sequence::forward(projected, state, recurrent)
    }

    fn lstm_sequence_backward(
        activations: FlexTensor,
        cells: FlexTensor,
        hidden: FlexTensor,
        state: FlexTensor,
        recurrent: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        sequence::backward(activations, cells, hidden, state, recurrent, grad)
    }

    fn lstm_step(projected: FlexTensor, state: FlexTensor, recurrent: FlexTensor) -> FlexTensor {
        Self::lstm_step_forward(projected, state, recurrent).0
    }

    fn lstm_step_forward(
        projected: FlexTensor,
        state: FlexTensor,
        recurrent: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let hidden = recurrent.layout().shape()[0];
        let h_prev = state.narrow(1, 0, hidden);
        let gates = Flex::float_add(projected, Flex::float_matmul(h_prev, recurrent));
        Self::lstm_cell_forward(gates, state)
    }

    fn lstm_step_backward(
        activations: FlexTensor,
        state: FlexTensor,
        output: FlexTensor,
        recurrent: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let hidden = recurrent.layout().shape()[0];
        let h_prev = state.narrow(1, 0, hidden);
        let (d_gates, d_state) = Self::lstm_cell_backward(activations, state, output, grad);
        let d_recurrent = Flex::float_matmul(Flex::float_transpose(h_prev), d_gates.clone());
        let d_h = Flex::float_matmul(d_gates.clone(), Flex::float_transpose(recurrent));
        // d_state's h half is zero from the cell; h reached the step through `h W_hh`.
        let d_state =
            Flex::float_slice_assign(d_state, &[Slice::from(..), Slice::from(0..hidden)], d_h);
        (d_gates, d_state, d_recurrent)
    }

    fn lstm_cell(gates: FlexTensor, state: FlexTensor) -> FlexTensor {
        Self::lstm_cell_forward(gates, state).0
    }

    fn lstm_cell_forward(gates: FlexTensor, state: FlexTensor) -> (FlexTensor, FlexTensor) {
        let (gates, state) = (gates.to_contiguous(), state.to_contiguous());
        let dims = state.layout().shape().clone();
        let (batch, h) = (dims[0], dims[1] / 2);
        let (z, s): (&[f32], &[f32]) = (gates.storage(), state.storage());
        let mut out = vec![0.0f32; batch * 2 * h];
        let mut acts = vec![0.0f32; batch * 4 * h];
        let (one, two) = (f32x4::ONE, f32x4::splat(2.0));
        for b in 0..batch {
            let z = &z[b * 4 * h..(b + 1) * 4 * h];
            let a = &mut acts[b * 4 * h..(b + 1) * 4 * h];
            for k in (0..4 * h).step_by(4) {
                store(a, k, sigmoid4(load(z, k)));
            }
            let (a_i, rest) = a.split_at(h);
            let (a_f, rest) = rest.split_at(h);
            let (a_q, a_o) = rest.split_at(h);
            let c = &s[b * 2 * h + h..(b + 1) * 2 * h];
            let (h_out, c_out) = out[b * 2 * h..(b + 1) * 2 * h].split_at_mut(h);
            for j in (0..h).step_by(4) {
                let (i, f, q, o) = (load(a_i, j), load(a_f, j), load(a_q, j), load(a_o, j));
                let cell = f * load(c, j) + i * (two * q - one);
                store(c_out, j, cell);
                store(h_out, j, o * tanh4(cell));
            }
        }
        (
            new_tensor(out, batch, 2 * h),
            new_tensor(acts, batch, 4 * h),
        )
    }

    fn lstm_cell_backward(
        activations: FlexTensor,
        state: FlexTensor,
        output: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let (acts, state) = (activations.to_contiguous(), state.to_contiguous());
        let (output, grad) = (output.to_contiguous(), grad.to_contiguous());
        let dims = state.layout().shape().clone();
        let (batch, h) = (dims[0], dims[1] / 2);
        let (a, s, y, dy): (&[f32], &[f32], &[f32], &[f32]) = (
            acts.storage(),
            state.storage(),
            output.storage(),
            grad.storage(),
        );
        let mut d_gates = vec![0.0f32; batch * 4 * h];
        let mut d_state = vec![0.0f32; batch * 2 * h];
        let (one, two) = (f32x4::ONE, f32x4::splat(2.0));
        for b in 0..batch {
            let a = &a[b * 4 * h..(b + 1) * 4 * h];
            let (a_i, rest) = a.split_at(h);
            let (a_f, rest) = rest.split_at(h);
            let (a_q, a_o) = rest.split_at(h);
            let row = b * 2 * h..(b + 1) * 2 * h;
            let (c, cell) = (&s[row.clone()][h..], &y[row.clone()][h..]);
            let (dh, dc) = dy[row.clone()].split_at(h);
            let dz = &mut d_gates[b * 4 * h..(b + 1) * 4 * h];
            let (dz_i, rest) = dz.split_at_mut(h);
            let (dz_f, rest) = rest.split_at_mut(h);
            let (dz_q, dz_o) = rest.split_at_mut(h);
            let d_c = &mut d_state[row][h..];
            for j in (0..h).step_by(4) {
                let (i, f, q, o) = (load(a_i, j), load(a_f, j), load(a_q, j), load(a_o, j));
                let (dh, t) = (load(dh, j), tanh4(load(cell, j)));
                let dc_total = load(dc, j) + dh * o * (one - t * t);
                store(dz_i, j, dc_total * (two * q - one) * i * (one - i));
                store(dz_f, j, dc_total * load(c, j) * f * (one - f));
                store(dz_q, j, dc_total * i * two * q * (one - q));
                store(dz_o, j, dh * t * o * (one - o));
                store(d_c, j, dc_total * f);
            }
        }
        (
            new_tensor(d_gates, batch, 4 * h),
            new_tensor(d_state, batch, 2 * h),
        )
    }
}
