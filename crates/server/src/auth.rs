//! Access control: optional API keys and the CORS allow-list.
//!
//! Keys are never stored: the key file (`--api-key-file`) holds one SHA-256 hash per line,
//! `NAME sha256:HEX` (the name is for people; `#` starts a comment). A request presents its key
//! as `Authorization: Bearer KEY` or `X-API-Key: KEY`; the server hashes it and compares the hash
//! with every stored one in constant time (no early exit, so timing does not tell how much of a
//! key matched, nor which). SHA-256 without salt suits keys the server generates itself (256
//! random bits, `telltale-server new-api-key`); it would not suit passwords people choose.
//!
//! With keys configured, writes (`POST /sensors/…`) and `/admin/…` need a key; reads (scoring,
//! sensor reads, model description, metrics) need one too with `--protect-reads`; `/health`,
//! `/ready`, `/docs` and `/openapi.json` never do. Without keys, `/admin/…` is refused (403):
//! loading a model from a path is not something an anonymous caller may do.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Problem, problem_response};
use crate::state::AppState;

/// Hash prefix in the key file.
const SCHEME: &str = "sha256:";
/// Prefix of generated keys (makes them recognisable in secret scanners).
const KEY_PREFIX: &str = "tt_";

/// API keys (hashed) and CORS origins.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    keys: Vec<[u8; 32]>,
    /// Also require a key for read endpoints.
    pub protect_reads: bool,
    /// Origins allowed to call the API from a browser (empty: no CORS headers).
    pub cors_origins: Vec<HeaderValue>,
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Probes and API documentation.
    Public,
    /// Scoring and reading stored data.
    Read,
    /// Storing data.
    Write,
    /// Operating the server (model reload).
    Admin,
}

impl Auth {
    /// Keys from `path` (see the module docs for the format).
    pub fn from_key_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the API key file {}", path.display()))?;
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let hash = line.split_whitespace().last().unwrap_or("");
            let where_ = format!("{}:{}", path.display(), index + 1);
            let Some(hex_digest) = hash.strip_prefix(SCHEME) else {
                bail!(
                    "{where_}: expected `NAME sha256:HEX` (a key's hash, made by \
                     `telltale-server new-api-key` or `telltale-server hash-api-key`), found \
                     something else; the file must not contain keys themselves"
                );
            };
            let mut digest = [0u8; 32];
            hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| {
                anyhow::anyhow!("{where_}: the sha256 hash must be 64 hexadecimal digits")
            })?;
            keys.push(digest);
        }
        if keys.is_empty() {
            bail!(
                "the API key file {} holds no key hashes; add one with `telltale-server \
                 new-api-key`, or drop --api-key-file to run without keys",
                path.display()
            );
        }
        Ok(Self {
            keys,
            ..Self::default()
        })
    }

    /// Whether API keys are configured.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// How many keys are configured.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Whether `presented` is one of the configured keys (constant time in the key's content).
    pub fn verify(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = subtle::Choice::from(0u8);
        for key in &self.keys {
            found |= key.ct_eq(&digest);
        }
        found.into()
    }

    /// What `method path` needs.
    pub fn access(method: &Method, path: &str) -> Access {
        if matches!(path, "/health" | "/ready" | "/openapi.json") || path.starts_with("/docs") {
            Access::Public
        } else if path.starts_with("/admin/") {
            Access::Admin
        } else if *method == Method::POST && path.starts_with("/sensors/") {
            Access::Write
        } else {
            Access::Read
        }
    }

    /// Decide a request: `None` lets it through, `Some(problem)` answers it.
    pub fn check(&self, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        if *method == Method::OPTIONS {
            return None; // CORS preflight carries no credentials
        }
        let access = Self::access(method, path);
        if access == Access::Admin && !self.enabled() {
            return Some(problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                "admin endpoints are disabled because the server runs without API keys; start it \
                 with --api-key-file (or reload the model with SIGHUP)",
            ));
        }
        let needs_key = self.enabled()
            && match access {
                Access::Public => false,
                Access::Read => self.protect_reads,
                Access::Write | Access::Admin => true,
            };
        if !needs_key {
            return None;
        }
        match presented_key(headers) {
            None => Some(unauthorized(
                "this endpoint needs an API key: send `Authorization: Bearer KEY` or `X-API-Key: KEY`",
            )),
            Some(key) if self.verify(key) => None,
            Some(_) => Some(unauthorized("the API key is not valid")),
        }
    }
}

/// The key a request presents, if any.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let (scheme, key) = text.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| key.trim())
            .filter(|k| !k.is_empty());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

fn problem(status: StatusCode, slug: &str, title: &str, detail: &str) -> Response {
    problem_response(&Problem {
        kind: format!("urn:telltale:problem:{slug}"),
        title: title.into(),
        status: status.as_u16(),
        detail: detail.into(),
        errors: Vec::new(),
    })
}

fn unauthorized(detail: &str) -> Response {
    let mut response = problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Unauthorized",
        detail,
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"telltale\""),
    );
    response
}

/// Middleware: apply [`Auth::check`] to every request.
pub async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(refused) =
        state
            .auth
            .check(request.method(), request.uri().path(), request.headers())
    {
        metrics::counter!("telltale_auth_refused_total").increment(1);
        return refused;
    }
    next.run(request).await
}

/// The key file line for `key`: `NAME sha256:HEX`.
pub fn key_file_line(name: &str, key: &str) -> String {
    let digest = Sha256::digest(key.trim().as_bytes());
    format!("{name} {SCHEME}{}", hex::encode(digest))
}

/// A new random key: `tt_` and 64 hex digits (256 bits from the operating system).
pub fn new_key() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_with(keys: &[&str], protect_reads: bool) -> Auth {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let text: String = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("# client {i}\n{}\n", key_file_line(&format!("c{i}"), k)))
            .collect();
        std::fs::write(&path, text).unwrap();
        let mut auth = Auth::from_key_file(&path).unwrap();
        auth.protect_reads = protect_reads;
        auth
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn only_configured_keys_verify() {
        let auth = auth_with(&["tt_alpha", "tt_beta"], false);
        assert_eq!(auth.key_count(), 2);
        assert!(auth.verify("tt_alpha"));
        assert!(auth.verify("tt_beta"));
        assert!(!auth.verify("tt_alph"));
        assert!(!auth.verify(""));
        assert!(!auth.verify("tt_alphaa"));
    }

    #[test]
    fn writes_and_admin_need_a_key_reads_only_when_protected() {
        let open_reads = auth_with(&["k1"], false);
        let none = HeaderMap::new();
        let post = Method::POST;
        let get = Method::GET;
        let status = |r: Option<Response>| r.map(|r| r.status().as_u16());
        assert_eq!(
            status(open_reads.check(&post, "/sensors/a/events", &none)),
            Some(401)
        );
        assert_eq!(
            status(open_reads.check(&post, "/admin/models/reload", &none)),
            Some(401)
        );
        assert_eq!(status(open_reads.check(&post, "/score", &none)), None);
        assert_eq!(
            status(open_reads.check(&get, "/sensors/a/anomaly", &none)),
            None
        );
        let good = headers("authorization", "Bearer k1");
        let bad = headers("authorization", "Bearer k2");
        let x_key = headers("x-api-key", "k1");
        assert_eq!(
            status(open_reads.check(&post, "/sensors/a/events", &good)),
            None
        );
        assert_eq!(
            status(open_reads.check(&post, "/sensors/a/events", &x_key)),
            None
        );
        assert_eq!(
            status(open_reads.check(&post, "/sensors/a/events", &bad)),
            Some(401)
        );

        let closed_reads = auth_with(&["k1"], true);
        assert_eq!(
            status(closed_reads.check(&post, "/score", &none)),
            Some(401)
        );
        assert_eq!(
            status(closed_reads.check(&get, "/metrics", &none)),
            Some(401)
        );
        assert_eq!(status(closed_reads.check(&get, "/health", &none)), None);
        assert_eq!(status(closed_reads.check(&get, "/docs/", &none)), None);
        assert_eq!(status(closed_reads.check(&post, "/score", &good)), None);
    }

    #[test]
    fn without_keys_admin_is_forbidden_and_the_rest_is_open() {
        let auth = Auth::default();
        let none = HeaderMap::new();
        let refused = auth.check(&Method::POST, "/admin/models/reload", &none);
        assert_eq!(refused.map(|r| r.status().as_u16()), Some(403));
        assert!(
            auth.check(&Method::POST, "/sensors/a/events", &none)
                .is_none()
        );
    }

    #[test]
    fn key_files_with_plain_keys_or_bad_hashes_are_refused_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "# ok\n\nops tt_plaintextkey\n").unwrap();
        let err = Auth::from_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("keys:3"), "{err}");
        assert!(err.contains("must not contain keys"), "{err}");
        std::fs::write(&path, "ops sha256:abc\n").unwrap();
        let err = Auth::from_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("64 hexadecimal"), "{err}");
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(Auth::from_key_file(&path).is_err());
    }

    #[test]
    fn generated_keys_are_random_and_hash_to_a_valid_line() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_PREFIX.len() + 64);
        let line = key_file_line("ops", &a);
        assert!(
            line.starts_with("ops sha256:") && !line.contains(&a),
            "{line}"
        );
    }
}
