//! Trained burn modules → `telltale_onnx::ModelWeights`, the plain weights the ONNX writer and the
//! reference forward pass read.
//!
//! Layouts: burn's `Linear` stores its weight `[in, out]`, exactly `LinearWeights`; an LSTM's
//! `W_ih`/`W_hh` are stored `[4H, in]` in `LstmWeights`, so they are transposed here. The gate
//! blocks are already in the documented order i, f, g, o.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use telltale_onnx::{
    EncoderWeights, HeadWeights, LatentDecoderWeights, LinearWeights, LstmWeights, ModelWeights,
    SequenceDecoderWeights,
};

use super::lstm::{G_SCALE, scale_g_block};
use super::{
    Autoencoder, Encoder, Head, LatentDecoder, Lstm, SequenceDecoder, tensor_values as values,
};

/// `[rows, cols]` row-major → `[cols, rows]` row-major.
fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

fn param_values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    values(param.val())
}

/// A `Linear` as `LinearWeights` (a missing bias is exported as zeros).
pub fn linear_weights(linear: &Linear) -> LinearWeights {
    let [input, output] = linear.weight.dims();
    LinearWeights {
        input,
        output,
        weight: param_values(&linear.weight),
        bias: linear
            .bias
            .as_ref()
            .map_or_else(|| vec![0.0; output], param_values),
    }
}

/// An [`Lstm`] as `LstmWeights` (`b_hh` is zero: the burn layer has one bias). The g block is
/// divided by [`G_SCALE`] (exact: a power of two) back to the standard parameterisation.
pub fn lstm_weights(lstm: &Lstm) -> LstmWeights {
    let input = lstm.input_size();
    let hidden = lstm.hidden_size();
    let mut w_ih = param_values(&lstm.input.weight);
    let mut w_hh = param_values(&lstm.recurrent);
    let mut b_ih = lstm
        .input
        .bias
        .as_ref()
        .map_or_else(|| vec![0.0; 4 * hidden], param_values);
    for values in [&mut w_ih, &mut w_hh, &mut b_ih] {
        scale_g_block(values, hidden, 1.0 / G_SCALE);
    }
    LstmWeights {
        input,
        hidden,
        w_ih: transpose(&w_ih, input, 4 * hidden),
        w_hh: transpose(&w_hh, hidden, 4 * hidden),
        b_ih,
        b_hh: vec![0.0; 4 * hidden],
    }
}

impl Encoder {
    pub fn to_weights(&self) -> EncoderWeights {
        EncoderWeights {
            layers: self.layers.iter().map(lstm_weights).collect(),
        }
    }
}

impl SequenceDecoder {
    pub fn to_weights(&self) -> SequenceDecoderWeights {
        SequenceDecoderWeights {
            lstm: lstm_weights(&self.lstm),
            output: linear_weights(&self.output),
        }
    }
}

impl LatentDecoder {
    pub fn to_weights(&self) -> LatentDecoderWeights {
        LatentDecoderWeights {
            down: linear_weights(&self.down),
            up: linear_weights(&self.up),
        }
    }
}

impl Head {
    pub fn to_weights(&self) -> HeadWeights {
        HeadWeights {
            hidden: linear_weights(&self.hidden),
            output: linear_weights(&self.output),
        }
    }
}

/// All graphs of one model from its trained parts.
pub fn to_weights(
    autoencoder: &Autoencoder,
    latent: &LatentDecoder,
    head: Option<&Head>,
) -> ModelWeights {
    ModelWeights {
        encoder: autoencoder.encoder.to_weights(),
        sequence_decoder: autoencoder.decoder.to_weights(),
        latent_decoder: latent.to_weights(),
        head: head.map(Head::to_weights),
    }
}

#[cfg(test)]
mod tests {
    use super::transpose;

    #[test]
    fn transpose_swaps_rows_and_columns() {
        // [[1, 2, 3], [4, 5, 6]] → [[1, 4], [2, 5], [3, 6]]
        assert_eq!(
            transpose(&[1., 2., 3., 4., 5., 6.], 2, 3),
            vec![1., 4., 2., 5., 3., 6.]
        );
    }
}
