//! The whole-sequence LSTM kernels on `Flex`: the recurrence over all steps in one call, and its
//! backward pass through time.
//!
//! Layout is step-major: `projected` `[T, B, 4H]`, hidden states `[T, B, H]`, so each step reads
//! and writes contiguous rows. Batch rows are independent in the recurrence: outside a rayon
//! worker the batch is cut into one block of rows per thread and each block runs all `T` steps on
//! its own (one small `h W_hh` product per step and block, no synchronisation between steps);
//! training already runs its batch shards in parallel and uses one block. The weight gradient is
//! one large product over all steps at the end, `H_prevᵀ · dZ`, read from the saved hidden states
//! in place.

use burn::backend::Flex;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::{Shape, TensorData};
use burn_flex::FlexTensor;
use rayon::prelude::*;
use wide::f32x4;

use super::flex::{load, new_tensor, sigmoid4, store, tanh4};

/// Read access to the `[t, b]` rows of a rank-3 tensor whose last dimension is dense. Broadcast
/// views (stride 0 over `t`, as from `expand`) are read in place, without a copy.
struct Rows {
    tensor: FlexTensor,
    offset: usize,
    step_stride: usize,
    batch_stride: usize,
    width: usize,
}

impl Rows {
    fn new(tensor: FlexTensor) -> Self {
        let layout = tensor.layout();
        let strides = layout.strides();
        let dense = layout.shape()[2] <= 1 || strides[2] == 1;
        let tensor = if dense && strides[0] >= 0 && strides[1] >= 0 {
            tensor
        } else {
            tensor.to_contiguous()
        };
        let layout = tensor.layout();
        let strides = layout.strides();
        Self {
            offset: layout.start_offset(),
            step_stride: strides[0] as usize,
            batch_stride: strides[1] as usize,
            width: layout.shape()[2],
            tensor,
        }
    }

    #[inline(always)]
    fn row(&self, t: usize, b: usize) -> &[f32] {
        let at = self.offset + t * self.step_stride + b * self.batch_stride;
        &self.tensor.storage::<f32>()[at..at + self.width]
    }
}

/// Batch rows per parallel block: one block per rayon thread, or one block for the whole batch
/// when already running on a rayon worker (training runs its batch shards in parallel).
fn block_rows(batch: usize) -> usize {
    let blocks = match rayon::current_thread_index() {
        Some(_) => 1,
        None => rayon::current_num_threads().clamp(1, batch.max(1)),
    };
    batch.div_ceil(blocks)
}

/// Cut `[T, B, width]` values into blocks of `rows` batch rows: `result[block][t]` is the block's
/// `[rows, width]` part of step `t`.
fn split_blocks(values: &mut [f32], batch: usize, width: usize, rows: usize) -> Vec<StepRows<'_>> {
    let mut blocks: Vec<StepRows> = (0..batch.div_ceil(rows)).map(|_| Vec::new()).collect();
    for step in values.chunks_mut(batch * width) {
        for (block, part) in step.chunks_mut(rows * width).enumerate() {
            blocks[block].push(part);
        }
    }
    blocks
}

fn tensor3(values: Vec<f32>, dims: [usize; 3]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, dims))
}

/// The four gate blocks `i, f, q, o` of one `[4H]` row.
#[inline(always)]
fn gates(row: &[f32], h: usize) -> (&[f32], &[f32], &[f32], &[f32]) {
    let (i, rest) = row.split_at(h);
    let (f, rest) = rest.split_at(h);
    let (q, o) = rest.split_at(h);
    (i, f, q, o)
}

/// Forward over all steps from `projected` `[T, B, 4H]`, the initial state `[h | c]` `[B, 2H]`
/// and `W_hh` `[H, 4H]`. Returns the hidden states `[T, B, H]`, and for the backward pass the
/// gate activations `[T, B, 4H]` and the cell states `[T, B, H]`.
pub(super) fn forward(
    projected: FlexTensor,
    state: FlexTensor,
    recurrent: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let rows = block_rows(projected.layout().shape()[1]);
    let (hidden, saved) = forward_in_blocks(projected, state, recurrent, rows, true);
    let (acts, cells) = saved.expect("kept for the backward pass");
    (hidden, acts, cells)
}

/// [`forward`] without a backward pass to come: only the hidden states, nothing else kept.
pub(super) fn forward_only(
    projected: FlexTensor,
    state: FlexTensor,
    recurrent: FlexTensor,
) -> FlexTensor {
    let rows = block_rows(projected.layout().shape()[1]);
    forward_in_blocks(projected, state, recurrent, rows, false).0
}

/// [`forward`] with blocks of `rows` batch rows; the gate activations and cell states of every
/// step are returned only with `keep`.
pub(super) fn forward_in_blocks(
    projected: FlexTensor,
    state: FlexTensor,
    recurrent: FlexTensor,
    rows: usize,
    keep: bool,
) -> (FlexTensor, Option<(FlexTensor, FlexTensor)>) {
    let dims = projected.layout().shape().clone();
    let (steps, batch, h) = (dims[0], dims[1], recurrent.layout().shape()[0]);
    assert_eq!(
        dims[2],
        4 * h,
        "lstm_sequence: projected must be [T, B, 4H]"
    );
    assert!(
        batch > 0 && steps > 0 && h > 0,
        "lstm_sequence: empty input"
    );
    let projected = Rows::new(projected);
    let state = state.to_contiguous();
    let initial: &[f32] = state.storage();
    let kept = if keep { steps } else { 0 };
    let mut hidden = vec![0.0f32; steps * batch * h];
    let mut acts = vec![0.0f32; kept * batch * 4 * h];
    let mut cells = vec![0.0f32; kept * batch * h];
    let rows = rows.clamp(1, batch);
    let mut saved = split_blocks(&mut acts, batch, 4 * h, rows)
        .into_iter()
        .zip(split_blocks(&mut cells, batch, h, rows));
    let blocks: Vec<(usize, BlockOut)> = split_blocks(&mut hidden, batch, h, rows)
        .into_iter()
        .enumerate()
        .map(|(block, hidden)| {
            let saved = if keep { saved.next() } else { None };
            (block * rows, BlockOut { hidden, saved })
        })
        .collect();
    let run = |(first, out): (usize, BlockOut)| {
        let n = out.hidden[0].len() / h;
        let state = &initial[first * 2 * h..(first + n) * 2 * h];
        forward_block(&projected, first, state, &recurrent, h, out);
    };
    if blocks.len() == 1 {
        blocks.into_iter().for_each(run);
    } else {
        blocks.into_par_iter().for_each(run);
    }
    let saved = keep.then(|| {
        (
            tensor3(acts, [steps, batch, 4 * h]),
            tensor3(cells, [steps, batch, h]),
        )
    });
    (tensor3(hidden, [steps, batch, h]), saved)
}

/// Per step, one block's `[n, width]` rows of a `[T, B, width]` output.
type StepRows<'a> = Vec<&'a mut [f32]>;

/// One block's share of the forward outputs: its rows of the hidden states and, when kept, of the
/// gate activations and cell states.
struct BlockOut<'a> {
    hidden: StepRows<'a>,
    saved: Option<(StepRows<'a>, StepRows<'a>)>,
}

fn forward_block(
    projected: &Rows,
    first: usize,
    state: &[f32],
    recurrent: &FlexTensor,
    h: usize,
    mut out: BlockOut,
) {
    let n = state.len() / (2 * h);
    let mut h_cur: Vec<f32> = state.chunks(2 * h).flat_map(|s| &s[..h]).copied().collect();
    let mut c_cur: Vec<f32> = state.chunks(2 * h).flat_map(|s| &s[h..]).copied().collect();
    // One step's activations and cell states when they are not kept.
    let (mut step_acts, mut step_cells) = match out.saved {
        Some(_) => (Vec::new(), Vec::new()),
        None => (vec![0.0f32; n * 4 * h], vec![0.0f32; n * h]),
    };
    for t in 0..out.hidden.len() {
        let product = Flex::float_matmul(new_tensor(h_cur.clone(), n, h), recurrent.clone());
        let product = product.to_contiguous();
        let product: &[f32] = product.storage();
        let (acts, cells): (&mut [f32], &mut [f32]) = match &mut out.saved {
            Some((acts, cells)) => (&mut *acts[t], &mut *cells[t]),
            None => (&mut step_acts, &mut step_cells),
        };
        let hidden = &mut *out.hidden[t];
        for b in 0..n {
            let p = projected.row(t, first + b);
            let z = &product[b * 4 * h..(b + 1) * 4 * h];
            let a = &mut acts[b * 4 * h..(b + 1) * 4 * h];
            // Two independent vectors per iteration, so their long dependency chains overlap.
            for k in (0..4 * h).step_by(8) {
                let (x0, x1) = (load(p, k) + load(z, k), load(p, k + 4) + load(z, k + 4));
                let (y0, y1) = (sigmoid4(x0), sigmoid4(x1));
                store(a, k, y0);
                store(a, k + 4, y1);
            }
            let (a_i, a_f, a_q, a_o) = gates(a, h);
            let row = b * h..(b + 1) * h;
            let (h_b, c_b) = (&mut h_cur[row.clone()], &mut c_cur[row.clone()]);
            let (cell_out, h_out) = (&mut cells[row.clone()], &mut hidden[row]);
            for j in (0..h).step_by(8) {
                // Two vectors per iteration, so their tanh dependency chains overlap.
                let (c0, c1) = (
                    cell_state((a_i, a_f, a_q), c_b, j),
                    cell_state((a_i, a_f, a_q), c_b, j + 4),
                );
                let (h0, h1) = (load(a_o, j) * tanh4(c0), load(a_o, j + 4) * tanh4(c1));
                for (at, c, value) in [(j, c0, h0), (j + 4, c1, h1)] {
                    store(c_b, at, c);
                    store(cell_out, at, c);
                    store(h_b, at, value);
                    store(h_out, at, value);
                }
            }
        }
    }
}

/// The new cell state `f c + i g` at `j` from the activations `i, f, q` (`g = 2q − 1`).
#[inline(always)]
fn cell_state((a_i, a_f, a_q): (&[f32], &[f32], &[f32]), c: &[f32], j: usize) -> f32x4 {
    let (i, f, q) = (load(a_i, j), load(a_f, j), load(a_q, j));
    f * load(c, j) + i * (f32x4::splat(2.0) * q - f32x4::ONE)
}

/// Backward through time: from the saved forward values and `grad` (of the hidden states,
/// `[T, B, H]`) the gradients of `projected` `[T, B, 4H]`, of the initial state `[B, 2H]` and of
/// `W_hh` `[H, 4H]`.
pub(super) fn backward(
    activations: FlexTensor,
    cells: FlexTensor,
    hidden: FlexTensor,
    state: FlexTensor,
    recurrent: FlexTensor,
    grad: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let rows = block_rows(cells.layout().shape()[1]);
    backward_in_blocks(activations, cells, hidden, state, recurrent, grad, rows)
}

/// [`backward`] with blocks of `rows` batch rows. The gradient of `projected` is written over
/// the saved gate activations (same shape, each value read just before it is replaced), which
/// saves allocating and clearing another `[T, B, 4H]` buffer.
pub(super) fn backward_in_blocks(
    activations: FlexTensor,
    cells: FlexTensor,
    hidden: FlexTensor,
    state: FlexTensor,
    recurrent: FlexTensor,
    grad: FlexTensor,
    rows: usize,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let dims = cells.layout().shape().clone();
    let (steps, batch, h) = (dims[0], dims[1], dims[2]);
    let mut d_projected = activations.to_contiguous();
    // The only other reference: writing in place then needs no copy.
    drop(activations);
    let cells = cells.to_contiguous();
    let (state, grad) = (state.to_contiguous(), grad.to_contiguous());
    let saved = Saved {
        cells: cells.storage(),
        initial: state.storage(),
        grad: grad.storage(),
        batch,
    };
    // `W_hhᵀ` `[4H, H]` as a dense copy: the per-step product `dZ_t W_hhᵀ` then reads both
    // operands in the layout gemm takes without repacking them at every step.
    let transposed = Flex::float_transpose(recurrent).to_contiguous();
    let mut d_state = vec![0.0f32; batch * 2 * h];
    let rows = rows.clamp(1, batch);
    let blocks: Vec<_> = split_blocks(d_projected.storage_mut(), batch, 4 * h, rows)
        .into_iter()
        .zip(d_state.chunks_mut(rows * 2 * h))
        .enumerate()
        .collect();
    let run = |(block, (gates, d_state)): (usize, (Vec<&mut [f32]>, &mut [f32]))| {
        backward_block(&saved, block * rows, &transposed, h, gates, d_state);
    };
    if blocks.len() == 1 {
        blocks.into_iter().for_each(run);
    } else {
        blocks.into_par_iter().for_each(run);
    }
    // dW_hh = Σ_t h_{t−1}ᵀ dZ_t: the initial h against step 0, then the hidden states of steps
    // 0..T−1 against steps 1..T as one product (contiguous views, no copies).
    let first = Flex::float_matmul(
        Flex::float_transpose(state.narrow(1, 0, h)),
        d_projected
            .narrow(0, 0, 1)
            .reshape(Shape::new([batch, 4 * h])),
    );
    let d_recurrent = if steps > 1 {
        let rows = (steps - 1) * batch;
        let rest = Flex::float_matmul(
            Flex::float_transpose(
                hidden
                    .narrow(0, 0, steps - 1)
                    .reshape(Shape::new([rows, h])),
            ),
            d_projected
                .narrow(0, 1, steps - 1)
                .reshape(Shape::new([rows, 4 * h])),
        );
        Flex::float_add(first, rest)
    } else {
        first
    };
    (d_projected, new_tensor(d_state, batch, 2 * h), d_recurrent)
}

/// The forward values the backward pass reads, rows `t · B + b` over the whole batch.
struct Saved<'a> {
    cells: &'a [f32],
    initial: &'a [f32],
    grad: &'a [f32],
    batch: usize,
}

/// One block's backward pass. `gates[t]` holds the block's gate activations of step `t` on entry
/// and their pre-activation gradients on return.
fn backward_block(
    saved: &Saved,
    first: usize,
    transposed: &FlexTensor,
    h: usize,
    mut gates: Vec<&mut [f32]>,
    d_state: &mut [f32],
) {
    let n = d_state.len() / (2 * h);
    let mut dh_next = vec![0.0f32; n * h];
    let mut dc_next = vec![0.0f32; n * h];
    let (one, two) = (f32x4::ONE, f32x4::splat(2.0));
    for t in (0..gates.len()).rev() {
        let step = &mut *gates[t];
        for b in 0..n {
            let global = first + b;
            let row = t * saved.batch + global;
            let c_prev = if t > 0 {
                let before = row - saved.batch;
                &saved.cells[before * h..(before + 1) * h]
            } else {
                &saved.initial[global * 2 * h + h..(global + 1) * 2 * h]
            };
            let cell = &saved.cells[row * h..(row + 1) * h];
            let dy = &saved.grad[row * h..(row + 1) * h];
            let dh_b = &dh_next[b * h..(b + 1) * h];
            let dc_b = &mut dc_next[b * h..(b + 1) * h];
            let z = &mut step[b * 4 * h..(b + 1) * 4 * h];
            let (z_i, rest) = z.split_at_mut(h);
            let (z_f, rest) = rest.split_at_mut(h);
            let (z_q, z_o) = rest.split_at_mut(h);
            for j in (0..h).step_by(8) {
                // Both vectors' tanh first, so their dependency chains overlap.
                let (th0, th1) = (tanh4(load(cell, j)), tanh4(load(cell, j + 4)));
                for (j, th) in [(j, th0), (j + 4, th1)] {
                    let (i, f, q, o) = (load(z_i, j), load(z_f, j), load(z_q, j), load(z_o, j));
                    let dh = load(dy, j) + load(dh_b, j);
                    let dc = load(dc_b, j) + dh * o * (one - th * th);
                    store(z_i, j, dc * (two * q - one) * i * (one - i));
                    store(z_f, j, dc * load(c_prev, j) * f * (one - f));
                    store(z_q, j, dc * i * two * q * (one - q));
                    store(z_o, j, dh * th * o * (one - o));
                    store(dc_b, j, dc * f);
                }
            }
        }
        let dh = Flex::float_matmul(new_tensor(step.to_vec(), n, 4 * h), transposed.clone());
        dh_next.copy_from_slice(&dh.to_contiguous().storage::<f32>()[..n * h]);
    }
    for (b, row) in d_state.chunks_mut(2 * h).enumerate() {
        row[..h].copy_from_slice(&dh_next[b * h..(b + 1) * h]);
        row[h..].copy_from_slice(&dc_next[b * h..(b + 1) * h]);
    }
}
