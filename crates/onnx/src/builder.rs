//! A small helper for assembling ONNX graphs: typed inputs/outputs with symbolic axes, f32/i64
//! initializers, nodes with attributes, and the model wrapper (IR version, opset, metadata).

use crate::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_type, data_type,
    tensor_shape_proto, type_proto,
};

/// IR version written into every model (ONNX 1.13+; accepted by ONNX Runtime 1.31).
pub const IR_VERSION: i64 = 8;
/// Default-domain opset every graph is written against.
pub const OPSET_VERSION: i64 = 17;
/// `producer_name` of every model.
pub const PRODUCER: &str = "telltale";

/// One axis of a graph input or output.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dim {
    Fixed(usize),
    Named(&'static str),
}

/// Symbolic name of the batch axis.
pub(crate) const BATCH: Dim = Dim::Named("batch");
/// Symbolic name of the time axis.
pub(crate) const TIME: Dim = Dim::Named("time");

/// Accumulates one graph.
pub(crate) struct GraphBuilder {
    graph: GraphProto,
    nodes: usize,
}

impl GraphBuilder {
    pub(crate) fn new(name: &str, doc: &str) -> Self {
        let graph = GraphProto {
            name: Some(name.to_owned()),
            doc_string: Some(doc.to_owned()),
            ..GraphProto::default()
        };
        Self { graph, nodes: 0 }
    }

    pub(crate) fn input(&mut self, name: &str, elem: i32, dims: &[Dim], doc: &str) {
        self.graph.input.push(value_info(name, elem, dims, doc));
    }

    pub(crate) fn output(&mut self, name: &str, elem: i32, dims: &[Dim], doc: &str) {
        self.graph.output.push(value_info(name, elem, dims, doc));
    }

    /// Add an f32 weight tensor; returns its name.
    pub(crate) fn weight(&mut self, name: &str, dims: &[usize], data: &[f32], doc: &str) -> String {
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, dims, data_type::FLOAT, raw, doc)
    }

    /// Add an i64 constant tensor (axes, permutations); returns its name.
    pub(crate) fn int64s(&mut self, name: &str, data: &[i64]) -> String {
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, &[data.len()], data_type::INT64, raw, "")
    }

    fn initializer(
        &mut self,
        name: &str,
        dims: &[usize],
        elem: i32,
        raw: Vec<u8>,
        doc: &str,
    ) -> String {
        self.graph.initializer.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(elem),
            name: Some(name.to_owned()),
            doc_string: (!doc.is_empty()).then(|| doc.to_owned()),
            raw_data: Some(raw),
        });
        name.to_owned()
    }

    /// Append a node (nodes must be added in topological order). An empty input name marks an
    /// omitted optional input.
    pub(crate) fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<AttributeProto>,
        doc: &str,
    ) {
        self.nodes += 1;
        self.graph.node.push(NodeProto {
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: outputs.iter().map(|s| (*s).to_owned()).collect(),
            name: Some(format!("{op}_{}", self.nodes)),
            op_type: Some(op.to_owned()),
            domain: None,
            attribute: attributes,
            doc_string: (!doc.is_empty()).then(|| doc.to_owned()),
        });
    }

    /// Wrap the graph into a model with Telltale's metadata.
    pub(crate) fn finish(self, doc: &str, metadata: &[(&str, String)]) -> ModelProto {
        let mut metadata_props = vec![StringStringEntryProto {
            key: Some("telltale.graph".into()),
            value: self.graph.name.clone(),
        }];
        metadata_props.extend(metadata.iter().map(|(k, v)| StringStringEntryProto {
            key: Some((*k).to_owned()),
            value: Some(v.clone()),
        }));
        ModelProto {
            ir_version: Some(IR_VERSION),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(OPSET_VERSION),
            }],
            producer_name: Some(PRODUCER.into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            domain: Some("ai.telltale".into()),
            model_version: Some(1),
            doc_string: Some(doc.to_owned()),
            graph: Some(self.graph),
            metadata_props,
        }
    }
}

fn value_info(name: &str, elem: i32, dims: &[Dim], doc: &str) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match *d {
                Dim::Fixed(n) => tensor_shape_proto::dimension::Value::DimValue(n as i64),
                Dim::Named(s) => tensor_shape_proto::dimension::Value::DimParam(s.to_owned()),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_owned()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: (!doc.is_empty()).then(|| doc.to_owned()),
    }
}

/// An integer attribute.
pub(crate) fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_owned()),
        r#type: Some(attribute_type::INT),
        i: Some(value),
        ..AttributeProto::default()
    }
}

/// A list-of-integers attribute.
pub(crate) fn attr_ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_owned()),
        r#type: Some(attribute_type::INTS),
        ints: values.to_vec(),
        ..AttributeProto::default()
    }
}

/// A string attribute.
pub(crate) fn attr_string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_owned()),
        r#type: Some(attribute_type::STRING),
        s: Some(value.as_bytes().to_vec()),
        ..AttributeProto::default()
    }
}
