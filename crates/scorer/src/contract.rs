//! The graph contract (crate docs) as data, and the check run on every session when a model
//! directory is opened: input/output names, element types, ranks and the fixed sizes C and H.

use std::path::Path;

use ort::session::Session;
use ort::value::{Outlet, TensorElementType};

use crate::ScorerError;

/// One expected input or output.
pub(crate) struct Port {
    name: &'static str,
    ty: TensorElementType,
    rank: usize,
    /// Fixed size of the last axis, when the contract fixes one.
    last: Option<(usize, &'static str)>,
}

/// Everything one graph must expose.
pub(crate) struct Expected {
    inputs: Vec<Port>,
    outputs: Vec<Port>,
}

const F32: TensorElementType = TensorElementType::Float32;
const I32: TensorElementType = TensorElementType::Int32;

fn port(name: &'static str, ty: TensorElementType, rank: usize) -> Port {
    Port {
        name,
        ty,
        rank,
        last: None,
    }
}

fn sized(name: &'static str, rank: usize, size: usize, what: &'static str) -> Port {
    Port {
        name,
        ty: F32,
        rank,
        last: Some((size, what)),
    }
}

pub(crate) fn encoder(channels: usize, hidden: usize) -> Expected {
    Expected {
        inputs: vec![
            sized("x", 3, channels, "shape.channels"),
            port("lengths", I32, 1),
        ],
        outputs: vec![sized("context", 2, hidden, "shape.hidden")],
    }
}

pub(crate) fn latent_decoder(hidden: usize) -> Expected {
    Expected {
        inputs: vec![sized("context", 2, hidden, "shape.hidden")],
        outputs: vec![sized("reconstruction", 2, hidden, "shape.hidden")],
    }
}

pub(crate) fn sequence_decoder(channels: usize, hidden: usize) -> Expected {
    Expected {
        inputs: vec![
            sized("context", 2, hidden, "shape.hidden"),
            sized("x", 3, channels, "shape.channels"),
            port("lengths", I32, 1),
        ],
        outputs: vec![sized("reconstruction", 3, channels, "shape.channels")],
    }
}

pub(crate) fn head(hidden: usize) -> Expected {
    Expected {
        inputs: vec![sized("features", 2, hidden + 2, "shape.hidden + 2")],
        outputs: vec![port("probability", F32, 1)],
    }
}

/// Compare `session`'s inputs and outputs with `expected`; a mismatch is
/// `ScorerError::Incompatible` naming the file, the port and both values.
pub(crate) fn check(
    dir: &Path,
    file: &str,
    session: &Session,
    expected: &Expected,
) -> Result<(), ScorerError> {
    let fail = |message: String| ScorerError::Incompatible {
        dir: dir.display().to_string(),
        message: format!("{file}: {message}"),
    };
    let names = |outlets: &[Outlet]| {
        outlets
            .iter()
            .map(|o| o.name().to_owned())
            .collect::<Vec<_>>()
    };
    let mut have = names(session.inputs());
    let mut want: Vec<String> = expected.inputs.iter().map(|p| p.name.to_owned()).collect();
    have.sort();
    want.sort();
    if have != want {
        return Err(fail(format!("inputs are {have:?}, expected {want:?}")));
    }
    for (kind, outlets, ports) in [
        ("input", session.inputs(), &expected.inputs),
        ("output", session.outputs(), &expected.outputs),
    ] {
        for p in ports.iter() {
            let outlet = outlets.iter().find(|o| o.name() == p.name).ok_or_else(|| {
                fail(format!(
                    "no {kind} `{}` (outputs are {:?})",
                    p.name,
                    names(outlets)
                ))
            })?;
            check_port(kind, outlet, p).map_err(fail)?;
        }
    }
    Ok(())
}

fn check_port(kind: &str, outlet: &Outlet, p: &Port) -> Result<(), String> {
    let dtype = outlet.dtype();
    let (Some(ty), Some(shape)) = (dtype.tensor_type(), dtype.tensor_shape()) else {
        return Err(format!("{kind} `{}` is not a tensor", p.name));
    };
    if ty != p.ty {
        return Err(format!(
            "{kind} `{}` has element type {ty}, expected {}",
            p.name, p.ty
        ));
    }
    if shape.len() != p.rank {
        return Err(format!(
            "{kind} `{}` has rank {}, expected {}",
            p.name,
            shape.len(),
            p.rank
        ));
    }
    if let (Some((size, what)), Some(&last)) = (p.last, shape.last())
        && last >= 0
        && last as usize != size
    {
        return Err(format!(
            "{kind} `{}` has last axis {last} but the manifest's {what} is {size}",
            p.name
        ));
    }
    Ok(())
}
