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

fn data3(dims: [usize; 3], seed: f32) -> TensorData {
    let values: Vec<f32> = (0..dims.iter().product::<usize>())
        .map(|k| ((k as f32 + seed) * 0.917).sin() * 1.5)
        .collect();
    TensorData::new(values, dims)
}

/// Largest absolute difference relative to the reference's largest magnitude (at least 1).
fn relative_diff<const D: usize>(a: Tensor<D>, reference: Tensor<D>) -> f32 {
    assert_eq!(a.dims(), reference.dims());
    let (a, b) = (
        crate::model::tensor_values(a),
        crate::model::tensor_values(reference),
    );
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
        / scale
}

/// How the reference recurrence runs each step.
#[derive(Clone, Copy, Debug)]
enum Reference {
    /// The fused single step ([`super::lstm_step`]).
    FusedStep,
    /// burn's own operations: matmul, add and the composed cell.
    Composed,
}

/// Hidden states `[T, B, H]`, one step at a time.
fn reference_sequence(
    kind: Reference,
    projected: Tensor<3>,
    state: Tensor<2>,
    recurrent: Tensor<2>,
) -> Tensor<3> {
    let [steps, batch, width] = projected.dims();
    let hidden = width / 4;
    let mut state = state;
    let mut outputs = Vec::with_capacity(steps);
    for t in 0..steps {
        let p = projected.clone().narrow(0, t, 1).reshape([batch, width]);
        state = match kind {
            Reference::FusedStep => super::lstm_step(p, state, recurrent.clone()),
            Reference::Composed => {
                let gates = p + state.clone().narrow(1, 0, hidden).matmul(recurrent.clone());
                composed(gates, state)
            }
        };
        outputs.push(state.clone().narrow(1, 0, hidden));
    }
    Tensor::stack(outputs, 0)
}

#[test]
fn sequence_matches_per_step_composition_forward_and_backward() {
    let device = Device::flex().autodiff();
    for (steps, batch, hidden) in [(1, 1, 4), (3, 2, 5), (7, 5, 8), (12, 3, 3), (20, 4, 16)] {
        let weights = Tensor::<3>::from_data(data3([steps, batch, hidden], 11.0), &device);
        let run = |reference: Option<Reference>| {
            let projected = Tensor::<3>::from_data(data3([steps, batch, 4 * hidden], 1.0), &device)
                .require_grad();
            let state =
                Tensor::<2>::from_data(data(batch, 2 * hidden, 3.0), &device).require_grad();
            let recurrent = Tensor::<2>::from_data(data(hidden, 4 * hidden, 5.0), &device)
                .mul_scalar(0.3)
                .require_grad();
            let out = match reference {
                None => super::lstm_sequence(projected.clone(), state.clone(), recurrent.clone()),
                Some(kind) => {
                    reference_sequence(kind, projected.clone(), state.clone(), recurrent.clone())
                }
            };
            let grads = (out.clone() * weights.clone()).sum().backward();
            (
                out.inner(),
                projected.grad(&grads).unwrap(),
                state.grad(&grads).unwrap(),
                recurrent.grad(&grads).unwrap(),
            )
        };
        let fused = run(None);
        for kind in [Reference::FusedStep, Reference::Composed] {
            let reference = run(Some(kind));
            let case = format!("T={steps} B={batch} H={hidden} against {kind:?}");
            let diffs = [
                relative_diff(fused.0.clone(), reference.0),
                relative_diff(fused.1.clone(), reference.1),
                relative_diff(fused.2.clone(), reference.2),
                relative_diff(fused.3.clone(), reference.3),
            ];
            for (name, diff) in ["output", "d_projected", "d_state", "d_recurrent"]
                .iter()
                .zip(diffs)
            {
                assert!(diff < 1e-4, "{case}: {name} differs by {diff}");
            }
        }
    }
}

#[test]
fn sequence_reads_a_broadcast_projection_and_sums_its_gradient_over_steps() {
    let device = Device::flex().autodiff();
    let (steps, batch, hidden) = (9, 3, 5);
    let weights = Tensor::<3>::from_data(data3([steps, batch, hidden], 2.0), &device);
    let state = Tensor::<2>::from_data(data(batch, 2 * hidden, 3.0), &device);
    let recurrent = Tensor::<2>::from_data(data(hidden, 4 * hidden, 5.0), &device).mul_scalar(0.3);
    let run = |broadcast: bool| {
        let once = Tensor::<2>::from_data(data(batch, 4 * hidden, 1.0), &device).require_grad();
        let projected = if broadcast {
            once.clone()
                .unsqueeze_dim::<3>(0)
                .expand([steps, batch, 4 * hidden])
        } else {
            Tensor::stack(vec![once.clone(); steps], 0)
        };
        let out = super::lstm_sequence(projected, state.clone(), recurrent.clone());
        let grads = (out.clone() * weights.clone()).sum().backward();
        (out.inner(), once.grad(&grads).unwrap())
    };
    let (broadcast, dense) = (run(true), run(false));
    assert!(relative_diff(broadcast.0, dense.0) < 1e-6);
    assert!(relative_diff(broadcast.1, dense.1) < 1e-5);
}

#[test]
fn sequence_blocks_of_batch_rows_agree() {
    use burn_flex::FlexTensor;
    let (steps, batch, hidden) = (6, 5, 8);
    let tensor = |d: TensorData| FlexTensor::from_data(d);
    let projected = || tensor(data3([steps, batch, 4 * hidden], 1.0));
    let state = || tensor(data(batch, 2 * hidden, 3.0));
    let recurrent = || {
        let values = data(hidden, 4 * hidden, 5.0).try_to_vec::<f32>().unwrap();
        let scaled = values.iter().map(|v| v * 0.3).collect::<Vec<f32>>();
        tensor(TensorData::new(scaled, [hidden, 4 * hidden]))
    };
    let grad = || tensor(data3([steps, batch, hidden], 4.0));
    let values = |t: FlexTensor| t.into_data().try_to_vec::<f32>().unwrap();
    let run = |rows: usize| {
        let only =
            super::sequence::forward_in_blocks(projected(), state(), recurrent(), rows, false);
        let (out, saved) =
            super::sequence::forward_in_blocks(projected(), state(), recurrent(), rows, true);
        assert!(only.1.is_none());
        assert_eq!(
            values(only.0),
            values(out.clone()),
            "forward without saving"
        );
        let (acts, cells) = saved.unwrap();
        let (dp, ds, dw) = super::sequence::backward_in_blocks(
            acts,
            cells,
            out.clone(),
            state(),
            recurrent(),
            grad(),
            rows,
        );
        [values(out), values(dp), values(ds), values(dw)]
    };
    let whole = run(batch);
    for rows in [1, 2, 3] {
        for (name, (a, b)) in ["output", "d_projected", "d_state", "d_recurrent"]
            .iter()
            .zip(run(rows).iter().zip(&whole))
        {
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(
                diff < 1e-5,
                "blocks of {rows} rows: {name} differs by {diff}"
            );
        }
    }
}

/// The autoencoder as it ran before the fused sequence: one fused step per layer and step, the
/// context picked per step with one-hot masks, the decoder's states stacked along dimension 1.
fn per_step_autoencoder(
    model: &crate::model::Autoencoder,
    steps: &[Tensor<2>],
    lengths: &[usize],
) -> (Tensor<2>, Tensor<3>) {
    let device = steps[0].device();
    let (batch, count) = (lengths.len(), steps.len());
    let hidden = model.encoder.hidden_size();
    let mut states: Vec<Tensor<2>> = model
        .encoder
        .layers
        .iter()
        .map(|_| Tensor::zeros([batch, 2 * hidden], &device))
        .collect();
    let mut context: Option<Tensor<2>> = None;
    for (t, x) in steps.iter().enumerate() {
        let mut input = x.clone();
        for (l, layer) in model.encoder.layers.iter().enumerate() {
            let projected = layer.project(input);
            states[l] = super::lstm_step(projected, states[l].clone(), layer.recurrent.val());
            input = states[l].clone().narrow(1, 0, hidden);
        }
        let mask: Vec<f32> = lengths
            .iter()
            .flat_map(|&len| {
                let on = if len.clamp(1, count) - 1 == t {
                    1.0
                } else {
                    0.0
                };
                std::iter::repeat_n(on, hidden)
            })
            .collect();
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [batch, hidden]), &device);
        let selected = input * mask;
        context = Some(match context {
            Some(c) => c + selected,
            None => selected,
        });
    }
    let context = context.unwrap();
    let decoder = &model.decoder;
    let projected = decoder.lstm.project(context.clone());
    let zeros = Tensor::zeros([batch, hidden], &device);
    let mut state = Tensor::cat(vec![context.clone(), zeros], 1);
    let mut outputs = Vec::with_capacity(count);
    for _ in 0..count {
        state = super::lstm_step(projected.clone(), state, decoder.lstm.recurrent.val());
        outputs.push(state.clone().narrow(1, 0, hidden));
    }
    let states: Tensor<3> = Tensor::stack(outputs, 1);
    (context, decoder.output.forward(states))
}

#[test]
fn autoencoder_matches_the_per_step_model_with_uneven_window_lengths() {
    let device = Device::flex().autodiff();
    let (count, channels, hidden) = (9, 3, 6);
    for lengths in [
        vec![9, 4, 1, 7, 9],
        vec![9, 9, 9, 9, 9],
        vec![3, 3, 3, 3, 3],
    ] {
        let batch = lengths.len();
        let model = crate::model::ModelConfig::new(channels)
            .with_hidden(hidden)
            .with_layers(2)
            .with_seed(3)
            .init_autoencoder(&device);
        let steps: Vec<Tensor<2>> = (0..count)
            .map(|t| Tensor::from_data(data(batch, channels, 13.0 * t as f32), &device))
            .collect();
        let w_context = Tensor::<2>::from_data(data(batch, hidden, 17.0), &device);
        let w_output = Tensor::<3>::from_data(data3([batch, count, channels], 19.0), &device);
        let run = |fused: bool| {
            let (context, output) = if fused {
                model.forward(&steps, &lengths)
            } else {
                per_step_autoencoder(&model, &steps, &lengths)
            };
            let loss = (context.clone() * w_context.clone()).sum()
                + (output.clone() * w_output.clone()).sum();
            let grads = loss.backward();
            let mut params: Vec<Tensor<2>> = Vec::new();
            let lstms = model.encoder.layers.iter().chain([&model.decoder.lstm]);
            for lstm in lstms {
                params.push(lstm.input.weight.val().grad(&grads).unwrap());
                let bias = lstm
                    .input
                    .bias
                    .as_ref()
                    .unwrap()
                    .val()
                    .grad(&grads)
                    .unwrap();
                params.push(bias.unsqueeze_dim(0));
                params.push(lstm.recurrent.val().grad(&grads).unwrap());
            }
            params.push(model.decoder.output.weight.val().grad(&grads).unwrap());
            (context.inner(), output.inner(), params)
        };
        let (fused, reference) = (run(true), run(false));
        let case = format!("lengths {lengths:?}");
        assert!(
            relative_diff(fused.0, reference.0) < 1e-5,
            "{case}: context"
        );
        assert!(relative_diff(fused.1, reference.1) < 1e-5, "{case}: output");
        for (k, (a, b)) in fused.2.into_iter().zip(reference.2).enumerate() {
            let diff = relative_diff(a, b);
            assert!(diff < 1e-4, "{case}: gradient {k} differs by {diff}");
        }
    }
}

#[test]
fn sequence_without_gradients_gives_the_same_hidden_states() {
    let (steps, batch, hidden) = (8, 5, 6);
    let run = |device: &Device, track: bool| {
        let projected = Tensor::<3>::from_data(data3([steps, batch, 4 * hidden], 1.0), device);
        let state = Tensor::<2>::from_data(data(batch, 2 * hidden, 3.0), device);
        let recurrent =
            Tensor::<2>::from_data(data(hidden, 4 * hidden, 5.0), device).mul_scalar(0.3);
        let projected = if track {
            projected.require_grad()
        } else {
            projected
        };
        crate::model::tensor_values(super::lstm_sequence(projected, state, recurrent))
    };
    let autodiff = Device::flex().autodiff();
    let tracked = run(&autodiff, true);
    // Untracked on the autodiff backend, and on the plain backend (forward only, nothing kept).
    for values in [run(&autodiff, false), run(&Device::flex(), false)] {
        assert_eq!(values, tracked);
    }
}
