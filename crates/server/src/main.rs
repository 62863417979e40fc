//! `telltale-server`: serve the scoring API, or print its OpenAPI document.

use std::process::ExitCode;

use telltale_server::{Cli, Command};

fn main() -> ExitCode {
    let config = match Cli::parse_args().command {
        Command::Openapi => {
            print!("{}", telltale_server::openapi_json());
            return ExitCode::SUCCESS;
        }
        Command::Serve(config) => config,
    };
    telltale_server::telemetry::init_tracing(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(telltale_server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", telltale_server::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
