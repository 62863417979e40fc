//! Turning request bodies into core `Event`s, with one field error per problem.
//!
//! Every check names the field (`events[3].features.feature_2`) and says what to send instead.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use telltale_core::events::parse_timestamp;
use telltale_core::{Event, WindowSpec};

use crate::error::{ApiError, FieldError};
use crate::features::{FeatureValues, Scalar};
use crate::inference::WindowRequest;
use crate::schema::{EventIn, ScoreRequest};
use crate::state::Limits;

/// Field errors reported in one response at most; the detail gives the total.
const MAX_REPORTED: usize = 20;

/// Collects field errors across a request.
#[derive(Debug, Default)]
pub struct Errors {
    list: Vec<FieldError>,
    total: usize,
}

impl Errors {
    /// Record a problem with `field`.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.total += 1;
        if self.list.len() < MAX_REPORTED {
            self.list.push(FieldError::new(field, message));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// `Ok(value)` when nothing was recorded, else a 422 listing the problems.
    pub fn finish<T>(self, value: T) -> Result<T, ApiError> {
        let Some(first) = self.list.first() else {
            return Ok(value);
        };
        let detail = if self.total == 1 {
            format!("{}: {}", first.field, first.message)
        } else {
            let shown = if self.total > self.list.len() {
                format!(" (first {} listed)", self.list.len())
            } else {
                String::new()
            };
            format!(
                "{} problems in the request{shown}; first: {}: {}",
                self.total, first.field, first.message
            )
        };
        Err(ApiError::Invalid {
            detail,
            errors: self.list,
        })
    }
}

/// Whether events must already be sorted with unique timestamps (a window) or may come in any
/// order (ingest sorts them and keeps the last of duplicates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Strict,
    Any,
}

/// Reads feature values in the model's feature order.
pub struct FeatureReader<'a> {
    names: &'a [String],
    index: HashMap<&'a str, usize>,
}

impl<'a> FeatureReader<'a> {
    pub fn new(names: &'a [String]) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        Self { names, index }
    }

    fn known(&self) -> String {
        self.names.join(", ")
    }

    /// Parse every event; problems go to `errors` under `path` (e.g. `events`). Field names are
    /// only built for problems: this runs for every event of every request.
    pub fn events(
        &self,
        events: &[EventIn],
        path: &str,
        order: Order,
        errors: &mut Errors,
    ) -> Vec<Event> {
        let mut out = Vec::with_capacity(events.len());
        let mut previous: Option<DateTime<Utc>> = None;
        for (i, event) in events.iter().enumerate() {
            let at = At { path, index: i };
            let timestamp = match parse_timestamp(&event.timestamp) {
                Ok(ts) => Some(ts),
                Err(message) => {
                    errors.push(at.field("timestamp"), message);
                    None
                }
            };
            if let (Some(ts), Some(prev), Order::Strict) = (timestamp, previous, order) {
                if ts == prev {
                    errors.push(
                        at.field("timestamp"),
                        format!(
                            "duplicate timestamp {ts}: event {} has the same one; send one event \
                             per timestamp",
                            i - 1
                        ),
                    );
                } else if ts < prev {
                    errors.push(
                        at.field("timestamp"),
                        format!(
                            "{ts} is earlier than event {} ({prev}); sort events by timestamp",
                            i - 1
                        ),
                    );
                }
            }
            previous = timestamp.or(previous);
            let features = self.values(&event.features, at, errors);
            if let (Some(timestamp), Some(features)) = (timestamp, features) {
                out.push(Event {
                    timestamp,
                    features,
                });
            }
        }
        out
    }

    /// One event's features, by name or in order.
    fn values(&self, value: &FeatureValues, at: At<'_>, errors: &mut Errors) -> Option<Vec<f32>> {
        let before = errors.total;
        let n = self.names.len();
        let mut out = vec![0.0f32; n];
        match value {
            FeatureValues::ByName(pairs) => {
                let mut seen = vec![false; n];
                for (name, v) in pairs {
                    let Some(&j) = self.index.get(name.as_str()) else {
                        errors.push(
                            at.field(&format!("features.{name}")),
                            format!(
                                "unknown feature `{name}`; the model's features are {}",
                                self.known()
                            ),
                        );
                        continue;
                    };
                    seen[j] = true;
                    match number(v) {
                        Ok(x) => out[j] = x,
                        Err(message) => errors.push(at.field(&format!("features.{name}")), message),
                    }
                }
                for (name, _) in self.names.iter().zip(&seen).filter(|(_, seen)| !**seen) {
                    errors.push(
                        at.field("features"),
                        format!(
                            "missing feature `{name}`; every event needs {}",
                            self.known()
                        ),
                    );
                }
            }
            FeatureValues::InOrder(values) if values.len() != n => errors.push(
                at.field("features"),
                format!(
                    "{} values given; send {n} in the model's order ({})",
                    values.len(),
                    self.known()
                ),
            ),
            FeatureValues::InOrder(values) => {
                for (j, v) in values.iter().enumerate() {
                    match number(v) {
                        Ok(x) => out[j] = x,
                        Err(message) => errors.push(at.field(&format!("features[{j}]")), message),
                    }
                }
            }
            FeatureValues::Invalid(what) => errors.push(
                at.field("features"),
                format!(
                    "got {what}; send an object of values by feature name or an array in the \
                     model's feature order"
                ),
            ),
        }
        (errors.total == before).then_some(out)
    }
}

/// Where an event sits in the request; turned into a field name only for an error.
#[derive(Clone, Copy)]
struct At<'a> {
    path: &'a str,
    index: usize,
}

impl At<'_> {
    fn field(self, rest: &str) -> String {
        format!("{}[{}].{rest}", self.path, self.index)
    }
}

/// A finite number that fits in f32.
fn number(value: &Scalar) -> Result<f32, String> {
    match value {
        Scalar::Number(x) if x.is_finite() && (*x as f32).is_finite() => Ok(*x as f32),
        Scalar::Number(x) => Err(format!("{x} is outside the range of a 32-bit float")),
        Scalar::Other(what) => Err(format!(
            "must be a finite number, got {what} (NaN, infinity and null are not accepted)"
        )),
    }
}

/// Most characters (Unicode scalar values) in a sensor id.
pub const MAX_SENSOR_ID_CHARS: usize = 128;

const SENSOR_ID_RULE: &str =
    "a sensor id has 1 to 128 characters, not all blank and no control characters";

/// Whether `id` is a valid sensor id: 1 to 128 characters, not all whitespace, no control
/// characters (which also keeps NUL, which Postgres text cannot hold, out of the database). Any
/// other character is kept exactly as sent, including `/`, `%`, quotes and non-Latin scripts.
pub fn is_sensor_id(id: &str) -> bool {
    !id.trim().is_empty()
        && id.chars().count() <= MAX_SENSOR_ID_CHARS
        && !id.chars().any(char::is_control)
}

/// A sensor id from a URL (field `id`).
pub fn sensor_id(id: &str) -> Result<(), ApiError> {
    if is_sensor_id(id) {
        Ok(())
    } else {
        Err(ApiError::field("id", SENSOR_ID_RULE))
    }
}

/// Optional timestamp field (`end`, `at`).
pub fn optional_timestamp(
    text: Option<&str>,
    field: &str,
    errors: &mut Errors,
) -> Option<DateTime<Utc>> {
    let text = text?;
    parse_timestamp(text)
        .map_err(|message| errors.push(field, message))
        .ok()
}

/// Start of the window of `spec` that ends at `end`; `None` when it would precede chrono's range.
pub fn window_start(end: DateTime<Utc>, spec: &WindowSpec) -> Option<DateTime<Utc>> {
    end.checked_sub_signed(chrono::Duration::try_seconds(spec.length_secs)?)
}

/// Check a `/score` window against the model and the limits; `path` prefixes field names.
pub fn window(
    request: &ScoreRequest,
    features: &FeatureReader<'_>,
    spec: &WindowSpec,
    limits: &Limits,
    path: &str,
    errors: &mut Errors,
) -> Option<WindowRequest> {
    let field = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(id) = request.sensor_id.as_deref()
        && !is_sensor_id(id)
    {
        errors.push(field("sensor_id"), SENSOR_ID_RULE);
    }
    let n = request.events.len();
    if n > limits.max_events {
        errors.push(
            field("events"),
            format!(
                "{n} events given; a window may hold at most {} (server --max-events)",
                limits.max_events
            ),
        );
        return None;
    }
    if n < limits.min_events {
        errors.push(
            field("events"),
            format!(
                "{n} events given; a window needs at least {}",
                limits.min_events
            ),
        );
        return None;
    }
    let before = errors.total;
    let end = optional_timestamp(request.end.as_deref(), &field("end"), errors);
    let events = features.events(&request.events, &field("events"), Order::Strict, errors);
    if errors.total != before {
        return None;
    }
    let last = events.last()?.timestamp;
    let end_at = end.unwrap_or(last);
    let Some(start) = window_start(end_at, spec) else {
        errors.push(
            field("end"),
            "the window would start before the supported time range",
        );
        return None;
    };
    let inside = events
        .iter()
        .filter(|e| e.timestamp >= start && e.timestamp <= end_at)
        .count();
    if inside < limits.min_events {
        errors.push(
            field("events"),
            format!(
                "only {inside} of the {n} events fall inside the window [{start}, {end_at}]; at \
                 least {} needed",
                limits.min_events
            ),
        );
        return None;
    }
    Some(WindowRequest { events, end })
}

#[cfg(test)]
mod tests;
