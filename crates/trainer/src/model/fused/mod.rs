//! Fused LSTM operations for burn's CPU backend, written as a burn backend extension (`Flex`
//! kernels plus hand-written `Autodiff` backward passes).
//!
//! - [`lstm_sequence`], what the model runs: the whole recurrence of a layer as ONE autodiff node
//!   (per step one `h W_hh` product and the cell, gate activations kept for a hand-written
//!   backward pass through time whose `W_hh` gradient is one product over all steps). A graph of
//!   per-step nodes costs autodiff bookkeeping, allocations and small operations at every step.
//! - [`lstm_step`] and [`lstm_cell`]: one step (recurrent matmul, gate activations and state
//!   update) and one cell as single nodes; the tests use them as references for the sequence.
//!
//! The tests check forward and gradients against the same cell composed from burn's own
//! operations.
//!
//! Step state layout: one `[batch, 2H]` tensor `[h | c]` (burn's autodiff ops have one output, so
//! hidden and cell state travel together). Gate pre-activations are `[batch, 4H]` in the order
//! i, f, g, o with the g block at twice its value (see [`super::lstm::Lstm`]):
//! `i, f, q, o = σ(z)`, `g = 2q − 1 = tanh(z_g / 2)`, `c' = f c + i g`, `h' = o tanh(c')`.

mod flex;
mod sequence;
#[cfg(test)]
mod tests;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;
use burn_autodiff::Autodiff;
use burn_autodiff::NodeId;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};

/// The fused cell as backend operations.
#[backend_extension(Flex, Autodiff)]
pub trait LstmCellOps: Backend {
    /// A whole step: `gates = projected + h W_hh` (h = first half of `state`, `recurrent` is
    /// `W_hh` `[H, 4H]`), then the cell. One autodiff node instead of matmul, add and cell.
    fn lstm_step(
        projected: FloatTensor<Self>,
        state: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Forward of [`lstm_step`](LstmCellOps::lstm_step): new state and gate activations.
    fn lstm_step_forward(
        projected: FloatTensor<Self>,
        state: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Backward of [`lstm_step`](LstmCellOps::lstm_step): gradients of `projected`, `state` and
    /// `recurrent`.
    fn lstm_step_backward(
        activations: FloatTensor<Self>,
        state: FloatTensor<Self>,
        output: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// All steps of a sequence: from the input projections `projected` `[T, B, 4H]`, the
    /// initial state `state` `[B, 2H]` (`[h | c]`) and `W_hh` `[H, 4H]`, the hidden states
    /// `[T, B, H]`. One autodiff node for the whole recurrence.
    fn lstm_sequence(
        projected: FloatTensor<Self>,
        state: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Forward of [`lstm_sequence`](LstmCellOps::lstm_sequence): the hidden states, and for the
    /// backward pass the gate activations `[T, B, 4H]` and the cell states `[T, B, H]`.
    fn lstm_sequence_forward(
        projected: FloatTensor<Self>,
        state: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Backward of [`lstm_sequence`](LstmCellOps::lstm_sequence) through time: gradients of
    /// `projected`, `state` and `recurrent` from the gradient of the hidden states (`hidden` is
    /// the forward's output).
    fn lstm_sequence_backward(
        activations: FloatTensor<Self>,
        cells: FloatTensor<Self>,
        hidden: FloatTensor<Self>,
        state: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// New state `[h' | c']` from gate pre-activations and the previous state `[h | c]`.
    fn lstm_cell(gates: FloatTensor<Self>, state: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Forward kernel: the new state and the gate activations `[i, f, q, o]` kept for backward.
    fn lstm_cell_forward(
        gates: FloatTensor<Self>,
        state: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Backward kernel: gradients of the gate pre-activations and of the previous state (its h
    /// half is zero: h reaches the step only through the gates).
    fn lstm_cell_backward(
        activations: FloatTensor<Self>,
        state: FloatTensor<Self>,
        output: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// `[h' | c']` after one step from the input projection, the previous `[h | c]` and `W_hh`.
pub fn lstm_step(projected: Tensor<2>, state: Tensor<2>, recurrent: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as LstmCellOps>::lstm_step(
        projected.into_dispatch(),
        state.into_dispatch(),
        recurrent.into_dispatch(),
    ))
}

/// Hidden states `[T, B, H]` of a whole sequence from the input projections `[T, B, 4H]`, the
/// initial `[h | c]` `[B, 2H]` and `W_hh` `[H, 4H]`. `projected` may be a broadcast view (e.g. the
/// same projection at every step, from `expand`); it is read in place.
pub fn lstm_sequence(projected: Tensor<3>, state: Tensor<2>, recurrent: Tensor<2>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as LstmCellOps>::lstm_sequence(
        projected.into_dispatch(),
        state.into_dispatch(),
        recurrent.into_dispatch(),
    ))
}

/// `[h' | c']` of one step from gate pre-activations (tensor-level entry point).
pub fn lstm_cell(gates: Tensor<2>, state: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as LstmCellOps>::lstm_cell(
        gates.into_dispatch(),
        state.into_dispatch(),
    ))
}

/// Hand each tracked parent its gradient (untracked parents get none).
fn register<B: Backend, const N: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; N],
    values: [FloatTensor<B>; N],
) {
    for (parent, value) in parents.into_iter().zip(values) {
        if let Some(id) = parent {
            grads.register::<B>(id, value);
        }
    }
}

#[derive(Debug)]
struct CellBackward;

impl<B: Backend + LstmCellOps> Backward<B, 2> for CellBackward {
    /// Activations, previous state, new state.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (activations, state, output) = ops.state;
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        let grad = grads.consume::<B>(&ops.node);
        let (d_gates, d_state) = B::lstm_cell_backward(activations, state, output, grad);
        register::<B, 2>(grads, parents, [d_gates, d_state]);
    }
}

#[derive(Debug)]
struct StepBackward;

impl<B: Backend + LstmCellOps> Backward<B, 3> for StepBackward {
    /// Activations, previous state, new state, recurrent weights.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (activations, state, output, recurrent) = ops.state;
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        let grad = grads.consume::<B>(&ops.node);
        let (d_projected, d_state, d_recurrent) =
            B::lstm_step_backward(activations, state, output, recurrent, grad);
        register::<B, 3>(grads, parents, [d_projected, d_state, d_recurrent]);
    }
}

#[derive(Debug)]
struct SequenceBackward;

impl<B: Backend + LstmCellOps> Backward<B, 3> for SequenceBackward {
    /// Activations, cell states, hidden states, initial state, recurrent weights.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (activations, cells, hidden, state, recurrent) = ops.state;
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        let grad = grads.consume::<B>(&ops.node);
        let (d_projected, d_state, d_recurrent) =
            B::lstm_sequence_backward(activations, cells, hidden, state, recurrent, grad);
        register::<B, 3>(grads, parents, [d_projected, d_state, d_recurrent]);
    }
}

impl<B: Backend + LstmCellOps, C: CheckpointStrategy> LstmCellOps for Autodiff<B, C> {
    fn lstm_sequence(
        projected: FloatTensor<Self>,
        state: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let guards = [projected.node(), state.node(), recurrent.node()];
        let projected = projected.into_primitive();
        let (state, recurrent) = (state.into_primitive(), recurrent.into_primitive());
        match SequenceBackward
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (output, activations, cells) =
                    B::lstm_sequence_forward(projected, state.clone(), recurrent.clone());
                let saved = (activations, cells, output.clone(), state, recurrent);
                prep.finish(saved, output)
            }
            // No backward pass to come: nothing to keep.
            OpsKind::UnTracked(prep) => prep.finish(B::lstm_sequence(projected, state, recurrent)),
        }
    }

    fn lstm_sequence_forward(
        _projected: FloatTensor<Self>,
        _state: FloatTensor<Self>,
        _recurrent: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        unreachable!("the forward kernel runs on the inner backend")
    }

    fn lstm_sequence_backward(
        _activations: FloatTensor<Self>,
        _cells: FloatTensor<Self>,
        _hidden: FloatTensor<Self>,
        _state: FloatTensor<Self>,
        _recurrent: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        unreachable!("the backward kernel runs on the inner backend")
    }

    fn lstm_step(
        projected: FloatTensor<Self>,
        state: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let guards = [projected.node(), state.node(), recurrent.node()];
        let (state, recurrent) = (state.into_primitive(), recurrent.into_primitive());
        let (output, activations) =
            B::lstm_step_forward(projected.into_primitive(), state.clone(), recurrent.clone());
        match StepBackward.prepare::<C>(guards).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish((activations, state, output.clone(), recurrent), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn lstm_step_forward(
        _projected: FloatTensor<Self>,
        _state: FloatTensor<Self>,
        _recurrent: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        unreachable!("the forward kernel runs on the inner backend")
    }

    fn lstm_step_backward(
        _activations: FloatTensor<Self>,
        _state: FloatTensor<Self>,
        _output: FloatTensor<Self>,
        _recurrent: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        unreachable!("the backward kernel runs on the inner backend")
    }

    fn lstm_cell(gates: FloatTensor<Self>, state: FloatTensor<Self>) -> FloatTensor<Self> {
        let guards = [gates.node(), state.node()];
        let state = state.into_primitive();
        let (output, activations) = B::lstm_cell_forward(gates.into_primitive(), state.clone());
        match CellBackward.prepare::<C>(guards).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((activations, state, output.clone()), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn lstm_cell_forward(
        _gates: FloatTensor<Self>,
        _state: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        unreachable!("the forward kernel runs on the inner backend")
    }

    fn lstm_cell_backward(
        _activations: FloatTensor<Self>,
        _state: FloatTensor<Self>,
        _output: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        unreachable!("the backward kernel runs on the inner backend")
    }
}
