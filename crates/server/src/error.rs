//! One error type for every handler: a status code plus a JSON problem body (RFC 9457 style).
//!
//! Client mistakes say what to fix; internal failures (database, ONNX Runtime) are logged with
//! their detail and answered with a generic message, so internals never reach a client.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{Content, OpenApi, RefOr};

/// `Retry-After` (seconds) of a 503 caused by an unreachable database.
const DATABASE_RETRY_SECS: u32 = 2;

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:telltale:problem:invalid-input`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong with this request, and how to fix it.
    pub detail: String,
    /// One entry per offending field, when the input had field-level problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One problem with one field of the request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// Path of the field, e.g. `events[3].features.feature_2`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON or the query string cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input with invalid values; `errors` names each field.
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Valid input that cannot be scored (e.g. too few events in the window).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts stored state (e.g. a sensor stored with other feature names).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The inference queue is full.
    #[error("the inference queue is full ({capacity} windows waiting); retry shortly")]
    Overloaded { capacity: usize },
    /// The server cannot serve this right now (shutting down, dependency down).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Scorer(#[from] telltale_scorer::ScorerError),
    /// Anything else that is our fault; the message is logged, not returned.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 for a single field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        Self::Invalid {
            detail: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } | Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Overloaded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(err) if crate::db::is_unavailable(err) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Database(_) | Self::Scorer(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), for answers that are worth
    /// retrying as they are.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            Self::Database(err) if crate::db::is_unavailable(err) => Some(DATABASE_RETRY_SECS),
            // The queue drains in milliseconds; one second spreads retries without idling.
            Self::Overloaded { .. } => Some(1),
            _ => None,
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("malformed-request", "Malformed request"),
            Self::Invalid { .. } => ("invalid-input", "Invalid input"),
            Self::Unprocessable(_) => ("cannot-score", "Window cannot be scored"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::Conflict(_) => ("conflict", "Conflicts with stored data"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::Overloaded { .. } => ("overloaded", "Too many requests"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Database(err) if crate::db::is_unavailable(err) => {
                ("unavailable", "Service unavailable")
            }
            Self::Database(_) | Self::Scorer(_) | Self::Internal(_) => {
                ("internal", "Internal server error")
            }
        }
    }

    /// The problem body sent to the client (internal details replaced by a generic message).
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let (slug, title) = self.slug_and_title();
        let detail = if let Self::Database(_) = self
            && status == StatusCode::SERVICE_UNAVAILABLE
        {
            format!("the database is unavailable; retry in {DATABASE_RETRY_SECS} s")
        } else if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            "the server failed to handle this request; the error has been logged".to_string()
        } else {
            self.to_string()
        };
        let errors = match self {
            Self::Invalid { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            kind: format!("urn:telltale:problem:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request rejected");
        }
        let mut response = problem_response(&self.problem());
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Media type of every problem body (RFC 9457).
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

/// Serialise a problem with its status and `application/problem+json`.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_MEDIA_TYPE),
    );
    response
}

/// Document every response whose body is a [`Problem`] as `application/problem+json`, the media
/// type it is sent with (utoipa documents every JSON body as `application/json`). Applied to the
/// assembled document, so routes added later are covered too.
pub fn document_problem_media_type(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for response in operation.responses.responses.values_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                let is_problem = response
                    .content
                    .get("application/json")
                    .is_some_and(is_problem_content);
                if is_problem
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response
                        .content
                        .insert(PROBLEM_MEDIA_TYPE.to_string(), content);
                }
            }
        }
    }
}

fn is_problem_content(content: &RefOr<Content>) -> bool {
    matches!(
        content,
        RefOr::T(Content { schema: Some(RefOr::Ref(schema)), .. })
            if schema.ref_location == "#/components/schemas/Problem"
    )
}

/// Map an axum rejection (status + text) onto our error kinds.
fn from_rejection(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!(
            "{text}; send fewer events per request or raise the server's --body-limit"
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Invalid {
            detail: text,
            errors: Vec::new(),
        },
        s if s.is_server_error() => ApiError::Internal(text),
        _ => ApiError::BadRequest(text),
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::from_json_rejection(rejection, "")
    }
}

impl ApiError {
    /// A JSON body's rejection with field paths under `root`. A handler reading a top-level array
    /// of events passes `"events"`, so serde's `[0].timestamp` becomes `events[0].timestamp`, the
    /// name its validation uses for the same event.
    pub fn from_json_rejection(rejection: JsonRejection, root: &str) -> Self {
        const SCHEMA: &str = "the body does not match the request schema";
        match &rejection {
            JsonRejection::JsonDataError(err) => {
                invalid_value(after_prefix(&err.body_text()), SCHEMA, root)
            }
            JsonRejection::JsonSyntaxError(err) => {
                let text = err.body_text();
                let rest = after_prefix(&text);
                match field_and_message(rest) {
                    // `1e999` is valid JSON syntax whose value does not fit a float: a bad value,
                    // like `1e39` for a 32-bit feature, not a malformed body.
                    Some((_, message)) if message.starts_with(OUT_OF_RANGE) => {
                        invalid_value(rest, SCHEMA, root)
                    }
                    Some((field, message)) => ApiError::BadRequest(format!(
                        "the body is not valid JSON: {}: {message}",
                        under(root, field)
                    )),
                    None => ApiError::BadRequest(format!("the body is not valid JSON: {rest}")),
                }
            }
            _ => from_rejection(rejection.status(), rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        // A query string with a wrong value is the client's input problem, like a body field.
        let text = rejection.body_text();
        invalid_value(after_prefix(&text), "the query string cannot be read", "")
    }
}

/// serde_json's message for a number that does not fit an `f64`.
const OUT_OF_RANGE: &str = "number out of range";

/// The text after axum's own prefix (`Failed to deserialize the JSON body into the target type: `).
fn after_prefix(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, rest)| rest)
}

/// serde_path_to_error's `path: message` split into the field path and the message; `None` when
/// the text names no field (a path never contains whitespace; a message's first words do).
fn field_and_message(text: &str) -> Option<(&str, &str)> {
    let (field, message) = text.split_once(": ")?;
    let is_path = !field.is_empty() && !field.contains(char::is_whitespace);
    is_path.then_some((field, message))
}

/// `field` under `root`: `events` + `[0].timestamp` → `events[0].timestamp`.
fn under(root: &str, field: &str) -> String {
    match (root, field) {
        ("", field) => field.to_string(),
        (root, "") => root.to_string(),
        (root, field) if field.starts_with('[') => format!("{root}{field}"),
        (root, field) => format!("{root}.{field}"),
    }
}

/// A 422 for a value serde could not read, naming the field (under `root`) when the text does. A
/// missing or repeated field is named itself (`events[0].features: missing field`), not its
/// parent. Without a field in the text, `root` is the field when there is one.
fn invalid_value(text: &str, without_field: &str, root: &str) -> ApiError {
    let (parent, message) = match field_and_message(text) {
        Some((field, message)) => (Some(field), message),
        None => (None, text),
    };
    let named = [
        ("missing field `", "missing field"),
        ("duplicate field `", "given more than once"),
    ]
    .into_iter()
    .find_map(|(prefix, what)| {
        let (name, _) = message.strip_prefix(prefix)?.split_once('`')?;
        Some((name, what))
    });
    let (field, message) = match (parent, named) {
        (Some(parent), Some((name, what))) => (format!("{parent}.{name}"), what.to_string()),
        (None, Some((name, what))) => (name.to_string(), what.to_string()),
        (Some(parent), None) => (parent.to_string(), message.to_string()),
        (None, None) if !root.is_empty() => (String::new(), text.to_string()),
        (None, None) => {
            return ApiError::Invalid {
                detail: format!("{without_field}: {text}"),
                errors: Vec::new(),
            };
        }
    };
    ApiError::field(under(root, &field), message)
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        from_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // `%FF` in a sensor id: a bad value of that field, answered like any other bad id.
        if let PathRejection::FailedToDeserializePathParams(err) = &rejection
            && let ErrorKind::InvalidUtf8InPathParam { key } = err.kind()
        {
            return ApiError::field(key, "is not valid UTF-8 once percent-decoded");
        }
        from_rejection(rejection.status(), rejection.body_text())
    }
}

/// `axum::Json` whose rejections are problem bodies.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections are problem bodies.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections are problem bodies.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Answer for routes that do not exist.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see /docs for the API".into())
}

/// Answer for a known route called with a method it does not support.
pub async fn method_not_allowed() -> Response {
    let problem = Problem {
        kind: "urn:telltale:problem:method-not-allowed".into(),
        title: "Method not allowed".into(),
        status: StatusCode::METHOD_NOT_ALLOWED.as_u16(),
        detail: "this route does not support that HTTP method; see /docs for the API".into(),
        errors: Vec::new(),
    };
    problem_response(&problem)
}

#[cfg(test)]
mod tests;
