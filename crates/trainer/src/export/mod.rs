//! Writing a model directory: ONNX graphs from the trained weights, the parity check against
//! ONNX Runtime ([`parity`]), the manifest, and an atomic swap into place.
//!
//! Everything is written into `DIR.tmp-*` first and renamed to `DIR` at the very end, so a run
//! that fails (including a failed parity check) never leaves a half-written model behind.

pub mod manifest;
pub mod parity;

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use telltale_core::manifest::Graphs;
use telltale_onnx::{
    EncoderWeights, LatentDecoderWeights, ModelWeights, encoder_model, latent_decoder_model,
    write_model,
};

/// A directory being written, renamed into place by [`Staging::finish`] and removed when dropped
/// unfinished.
#[derive(Debug)]
pub struct Staging {
    pub dir: PathBuf,
    target: PathBuf,
    old: PathBuf,
    finished: bool,
}

impl Staging {
    /// Create `TARGET.tmp-<pid>-<nanos>` beside `target`.
    pub fn new(target: &Path) -> anyhow::Result<Self> {
        let name = target
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("{}: not a directory name", target.display()))?
            .to_string_lossy()
            .into_owned();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = target.with_file_name(format!("{name}.tmp-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        let old = target.with_file_name(format!("{name}.old-{}-{nanos}", std::process::id()));
        Ok(Self {
            dir,
            target: target.to_owned(),
            old,
            finished: false,
        })
    }

    /// Replace `target` with the staged directory. The old directory (if any) is moved aside
    /// first and removed after the rename.
    pub fn finish(mut self) -> anyhow::Result<PathBuf> {
        let old = self.old.clone();
        if self.target.exists() {
            std::fs::rename(&self.target, &old).with_context(|| {
                format!(
                    "{}: cannot move the previous directory aside",
                    self.target.display()
                )
            })?;
        }
        std::fs::rename(&self.dir, &self.target).with_context(|| {
            format!(
                "{}: cannot move the new model into place",
                self.target.display()
            )
        })?;
        self.finished = true;
        if old.exists() {
            std::fs::remove_dir_all(&old)
                .with_context(|| format!("{}: cannot remove", old.display()))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Write every graph of `weights` into `dir`; the manifest's `graphs` section.
pub fn write_graphs(dir: &Path, weights: &ModelWeights) -> anyhow::Result<Graphs> {
    let files = telltale_onnx::write_graphs(dir, weights)
        .with_context(|| format!("{}: cannot write the ONNX graphs", dir.display()))?;
    Ok(Graphs {
        encoder: files.encoder,
        latent_decoder: files.latent_decoder,
        sequence_decoder: files.sequence_decoder,
        head: files.head,
    })
}

/// Write only the encoder and latent decoder (the `latent_joint` ablation has nothing else).
pub fn write_latent_only(
    dir: &Path,
    encoder: &EncoderWeights,
    latent: &LatentDecoderWeights,
) -> anyhow::Result<Graphs> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let graphs = Graphs {
        sequence_decoder: None,
        head: None,
        ..Graphs::default()
    };
    let encoder = encoder_model(encoder).context("encoder graph")?;
    let latent = latent_decoder_model(latent).context("latent decoder graph")?;
    write_model(&dir.join(&graphs.encoder), &encoder)?;
    write_model(&dir.join(&graphs.latent_decoder), &latent)?;
    Ok(graphs)
}

/// Model id: SHA-256 (hex) over the graph files' names and bytes, in manifest order.
pub fn model_id(dir: &Path, graphs: &Graphs) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    let names = [
        Some(&graphs.encoder),
        Some(&graphs.latent_decoder),
        graphs.sequence_decoder.as_ref(),
        graphs.head.as_ref(),
    ];
    for name in names.into_iter().flatten() {
        let path = dir.join(name);
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Copy a directory tree (the checkpoint into the staged model).
pub fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("{}: cannot create", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("{}: cannot read", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("{}: cannot copy", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Write a value as pretty JSON.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("{}: cannot write", path.display()))
}
