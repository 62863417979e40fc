//! One error type for every handler: a status code plus a JSON problem body (RFC 9457 style).
//!
//! Client mistakes say what to fix; internal failures (database, ONNX Runtime) are logged with
//! their detail and answered with a generic message, so internals never reach a client.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
            Self::Database(_) | Self::Scorer(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
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
            Self::Database(_) | Self::Scorer(_) | Self::Internal(_) => {
                ("internal", "Internal server error")
            }
        }
    }

    /// The problem body sent to the client (internal details replaced by a generic message).
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let (slug, title) = self.slug_and_title();
        let detail = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
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
        problem_response(&self.problem())
    }
}

/// Serialise a problem with its status and `application/problem+json`.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
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
        from_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        // A query string with a wrong value is the client's input problem, like a body field.
        ApiError::Invalid {
            detail: rejection.body_text(),
            errors: Vec::new(),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        from_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
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
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let err = ApiError::Internal("connection to 10.0.0.3 refused".into());
        let problem = err.problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("10.0.0.3"));
    }

    #[test]
    fn field_errors_carry_the_field_path() {
        let problem = ApiError::field("events[2].timestamp", "not a timestamp").problem();
        assert_eq!(problem.status, 422);
        assert_eq!(
            problem.errors,
            vec![FieldError::new("events[2].timestamp", "not a timestamp")]
        );
        assert!(problem.detail.contains("events[2].timestamp"));
    }

    #[test]
    fn overload_is_429() {
        let problem = ApiError::Overloaded { capacity: 8 }.problem();
        assert_eq!(problem.status, 429);
        assert_eq!(problem.kind, "urn:telltale:problem:overloaded");
    }
}
