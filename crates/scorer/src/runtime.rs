//! Loading the ONNX Runtime shared library and choosing an execution provider.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use crate::ScorerError;

/// Environment variable naming the ONNX Runtime library (as `ort` itself reads it).
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where the project's venv keeps the `onnxruntime` wheel's library, relative to the repository.
pub const VENV_DYLIB: &str =
    ".venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1";

/// Where the graphs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionProvider {
    /// ONNX Runtime's CPU provider (the default).
    #[default]
    Cpu,
    /// CUDA; opening fails with `ScorerError::Provider` when it cannot be registered (never a silent
    /// CPU fallback).
    Cuda,
}

impl std::str::FromStr for ExecutionProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!(
                "unknown execution provider `{other}` (expected cpu or cuda)"
            )),
        }
    }
}

impl std::fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

/// How sessions are created.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Execution provider for every graph.
    pub provider: ExecutionProvider,
    /// Intra-op threads per session (0 = ONNX Runtime's default).
    pub intra_threads: usize,
}

/// The loaded library and the process-wide environment every session is created in.
struct Runtime {
    path: PathBuf,
    environment: Environment,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Load the ONNX Runtime library once per process: `dylib` if given, else `ORT_DYLIB_PATH`, else
/// the `onnxruntime` wheel in the project's `.venv` (looked for in the current directory and its
/// ancestors). A missing or wrong library is an error that names the path tried, never a panic.
/// Calling it again is a no-op that returns the path loaded first (a `dylib` that does not exist
/// is still reported).
pub fn init_runtime(dylib: Option<PathBuf>) -> Result<PathBuf, ScorerError> {
    if let Some(path) = &dylib {
        require_file(path, "the given ONNX Runtime library")?;
    }
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime.path.clone());
    }
    let _guard = INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime.path.clone());
    }
    let path = match dylib {
        Some(path) => path,
        None => default_dylib()?,
    };
    let path = std::path::absolute(&path).unwrap_or(path);
    let environment = load(&path)?;
    tracing::info!(path = %path.display(), "loaded ONNX Runtime");
    let runtime = RUNTIME.get_or_init(|| Runtime { path, environment });
    Ok(runtime.path.clone())
}

/// The process-wide environment, loading the library from its default location first if needed.
pub(crate) fn environment() -> Result<Environment, ScorerError> {
    if RUNTIME.get().is_none() {
        init_runtime(None)?;
    }
    RUNTIME
        .get()
        .map(|r| r.environment.clone())
        .ok_or_else(|| ScorerError::Runtime("ONNX Runtime is not initialised".into()))
}

fn require_file(path: &Path, what: &str) -> Result<(), ScorerError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(ScorerError::Runtime(format!(
            "{what} {} does not exist (set {DYLIB_ENV} to libonnxruntime.so 1.31+, or run \
             scripts/test.sh to install the project's venv)",
            path.display()
        )))
    }
}

fn default_dylib() -> Result<PathBuf, ScorerError> {
    if let Some(path) = std::env::var_os(DYLIB_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        require_file(&path, &format!("{DYLIB_ENV}:"))?;
        return Ok(path);
    }
    let cwd = std::env::current_dir()
        .map_err(|e| ScorerError::Runtime(format!("cannot read the current directory: {e}")))?;
    if let Some(found) = cwd
        .ancestors()
        .map(|d| d.join(VENV_DYLIB))
        .find(|p| p.is_file())
    {
        return Ok(found);
    }
    Err(ScorerError::Runtime(format!(
        "{DYLIB_ENV} is not set and no {VENV_DYLIB} was found in {} or its parents; set \
         {DYLIB_ENV} to libonnxruntime.so 1.31+ or run scripts/test.sh",
        cwd.display()
    )))
}

/// Load the library and build the environment, turning load errors (and any panic inside `ort`)
/// into `ScorerError::Runtime` naming `path`.
fn load(path: &Path) -> Result<Environment, ScorerError> {
    let failed = |message: String| ScorerError::Runtime(format!("{}: {message}", path.display()));
    let loaded = std::panic::catch_unwind(|| {
        let builder = ort::init_from(path).map_err(|e| e.to_string())?;
        builder
            .with_name("telltale")
            .with_telemetry(false)
            .build()
            .map_err(|e| e.to_string())
    });
    match loaded {
        Ok(Ok(environment)) => Ok(environment),
        Ok(Err(message)) => Err(failed(message)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "ort panicked".into());
            Err(failed(message))
        }
    }
}
