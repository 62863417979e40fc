//! Size checks on plain weights, so a mismatched export is reported with the offending tensor
//! instead of producing a graph ONNX Runtime rejects (or a panic while writing it).

use crate::weights::{
    EncoderWeights, HeadWeights, LatentDecoderWeights, LinearWeights, LstmWeights, ModelWeights,
    SequenceDecoderWeights,
};

/// Weights whose sizes do not fit the architecture described in [`crate::weights`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid weights: {what}: {message}")]
pub struct WeightsError {
    /// Which tensor or layer, e.g. `encoder.layers[1].w_hh`.
    pub what: String,
    pub message: String,
}

fn fail(what: impl Into<String>, message: impl Into<String>) -> WeightsError {
    WeightsError {
        what: what.into(),
        message: message.into(),
    }
}

fn expect_len(what: &str, field: &str, got: usize, expected: usize) -> Result<(), WeightsError> {
    if got == expected {
        Ok(())
    } else {
        Err(fail(
            format!("{what}.{field}"),
            format!("has {got} values, expected {expected}"),
        ))
    }
}

fn expect_size(what: &str, field: &str, got: usize, expected: usize) -> Result<(), WeightsError> {
    if got == expected {
        Ok(())
    } else {
        Err(fail(
            format!("{what}.{field}"),
            format!("is {got}, expected {expected}"),
        ))
    }
}

impl LstmWeights {
    /// Check the tensor lengths against `input` and `hidden`.
    pub fn check(&self, what: &str) -> Result<(), WeightsError> {
        if self.input == 0 || self.hidden == 0 {
            return Err(fail(what, "input and hidden sizes must be positive"));
        }
        let gates = 4 * self.hidden;
        expect_len(what, "w_ih", self.w_ih.len(), gates * self.input)?;
        expect_len(what, "w_hh", self.w_hh.len(), gates * self.hidden)?;
        expect_len(what, "b_ih", self.b_ih.len(), gates)?;
        expect_len(what, "b_hh", self.b_hh.len(), gates)
    }
}

impl LinearWeights {
    /// Check the tensor lengths against `input` and `output`.
    pub fn check(&self, what: &str) -> Result<(), WeightsError> {
        if self.input == 0 || self.output == 0 {
            return Err(fail(what, "input and output sizes must be positive"));
        }
        expect_len(what, "weight", self.weight.len(), self.input * self.output)?;
        expect_len(what, "bias", self.bias.len(), self.output)
    }
}

impl EncoderWeights {
    /// At least one layer; the first maps C → H, the others H → H, all with the same H.
    pub fn check(&self) -> Result<(), WeightsError> {
        let first = self
            .layers
            .first()
            .ok_or_else(|| fail("encoder", "has no LSTM layers"))?;
        let hidden = first.hidden;
        for (i, layer) in self.layers.iter().enumerate() {
            let what = format!("encoder.layers[{i}]");
            layer.check(&what)?;
            expect_size(&what, "hidden", layer.hidden, hidden)?;
            if i > 0 {
                expect_size(&what, "input", layer.input, hidden)?;
            }
        }
        Ok(())
    }

    /// Input channels C.
    pub fn channels(&self) -> usize {
        self.layers.first().map_or(0, |l| l.input)
    }

    /// Hidden (context) size H.
    pub fn hidden(&self) -> usize {
        self.layers.first().map_or(0, |l| l.hidden)
    }
}

impl SequenceDecoderWeights {
    /// LSTM H → H and a linear layer H → C.
    pub fn check(&self) -> Result<(), WeightsError> {
        self.lstm.check("sequence_decoder.lstm")?;
        expect_size(
            "sequence_decoder.lstm",
            "input",
            self.lstm.input,
            self.lstm.hidden,
        )?;
        self.output.check("sequence_decoder.output")?;
        expect_size(
            "sequence_decoder.output",
            "input",
            self.output.input,
            self.lstm.hidden,
        )
    }
}

impl LatentDecoderWeights {
    /// `Linear(H, k)` then `Linear(k, H)`.
    pub fn check(&self) -> Result<(), WeightsError> {
        self.down.check("latent_decoder.down")?;
        self.up.check("latent_decoder.up")?;
        expect_size(
            "latent_decoder.up",
            "input",
            self.up.input,
            self.down.output,
        )?;
        expect_size(
            "latent_decoder.up",
            "output",
            self.up.output,
            self.down.input,
        )
    }
}

impl HeadWeights {
    /// `Linear(H + 2, n)` then `Linear(n, 1)`.
    pub fn check(&self) -> Result<(), WeightsError> {
        self.hidden.check("head.hidden")?;
        self.output.check("head.output")?;
        expect_size(
            "head.output",
            "input",
            self.output.input,
            self.hidden.output,
        )?;
        expect_size("head.output", "output", self.output.output, 1)
    }
}

impl ModelWeights {
    /// Check every graph's weights and that the graphs agree on C and H.
    pub fn check(&self) -> Result<(), WeightsError> {
        self.encoder.check()?;
        self.sequence_decoder.check()?;
        self.latent_decoder.check()?;
        let (channels, hidden) = (self.encoder.channels(), self.encoder.hidden());
        let seq = &self.sequence_decoder;
        expect_size("sequence_decoder.lstm", "hidden", seq.lstm.hidden, hidden)?;
        expect_size(
            "sequence_decoder.output",
            "output",
            seq.output.output,
            channels,
        )?;
        expect_size(
            "latent_decoder.down",
            "input",
            self.latent_decoder.down.input,
            hidden,
        )?;
        if let Some(head) = &self.head {
            head.check()?;
            expect_size("head.hidden", "input", head.hidden.input, hidden + 2)?;
        }
        Ok(())
    }
}
