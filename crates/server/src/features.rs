//! The `features` of one event as sent, read without building a generic JSON tree.
//!
//! Requests carry thousands of events, so this is on the hot path: values are kept as numbers,
//! and anything that is not a number is remembered only as a short description for the error
//! message (validation in `validate.rs` decides what is acceptable).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// One value as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Number(f64),
    /// Not a number: what was sent instead, e.g. `the string "NaN"`, `null`.
    Other(String),
}

/// Feature values by name (in the order sent) or in the model's feature order.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValues {
    ByName(Vec<(String, Scalar)>),
    InOrder(Vec<Scalar>),
    /// Neither an object nor an array: what was sent instead.
    Invalid(String),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Other(format!("the string {v:?}")))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other(v.to_string()))
    }

    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("null".into()))
    }

    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("null".into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array".into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object".into()))
    }
}

impl<'de> Deserialize<'de> for FeatureValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FeaturesVisitor)
    }
}

struct FeaturesVisitor;

impl FeaturesVisitor {
    fn invalid<E>(what: String) -> Result<FeatureValues, E> {
        Ok(FeatureValues::Invalid(what))
    }
}

impl<'de> Visitor<'de> for FeaturesVisitor {
    type Value = FeatureValues;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of feature values by name or an array of values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeatureValues, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some((name, value)) = map.next_entry::<String, Scalar>()? {
            out.push((name, value));
        }
        Ok(FeatureValues::ByName(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FeatureValues, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(value) = seq.next_element::<Scalar>()? {
            out.push(value);
        }
        Ok(FeatureValues::InOrder(out))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<FeatureValues, E> {
        Self::invalid(format!("the number {v}"))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FeatureValues, E> {
        Self::invalid(format!("the number {v}"))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FeatureValues, E> {
        Self::invalid(format!("the number {v}"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FeatureValues, E> {
        Self::invalid(format!("the string {v:?}"))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<FeatureValues, E> {
        Self::invalid(v.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<FeatureValues, E> {
        Self::invalid("null".into())
    }

    fn visit_none<E: de::Error>(self) -> Result<FeatureValues, E> {
        Self::invalid("null".into())
    }
}

impl Serialize for FeatureValues {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn scalar(value: &Scalar) -> serde_json::Value {
            match value {
                Scalar::Number(x) => serde_json::json!(x),
                Scalar::Other(_) => serde_json::Value::Null,
            }
        }
        let value = match self {
            Self::ByName(pairs) => serde_json::Value::Object(
                pairs.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
            ),
            Self::InOrder(values) => values.iter().map(scalar).collect(),
            Self::Invalid(_) => serde_json::Value::Null,
        };
        value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FeatureValues {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn objects_and_arrays_keep_numbers_and_describe_the_rest() {
        assert_eq!(
            parse(r#"{"a": 1, "b": -2.5, "c": "NaN", "d": null}"#),
            FeatureValues::ByName(vec![
                ("a".into(), Scalar::Number(1.0)),
                ("b".into(), Scalar::Number(-2.5)),
                ("c".into(), Scalar::Other("the string \"NaN\"".into())),
                ("d".into(), Scalar::Other("null".into())),
            ])
        );
        assert_eq!(
            parse("[0.5, [1], {}]"),
            FeatureValues::InOrder(vec![
                Scalar::Number(0.5),
                Scalar::Other("an array".into()),
                Scalar::Other("an object".into()),
            ])
        );
        assert_eq!(
            parse("\"high\""),
            FeatureValues::Invalid("the string \"high\"".into())
        );
    }

    #[test]
    fn serialising_gives_back_the_numbers() {
        let text = r#"{"a":1.5,"b":2.0}"#;
        assert_eq!(serde_json::to_string(&parse(text)).unwrap(), text);
    }
}
