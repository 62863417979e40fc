//! `telltale-server`: serve the scoring API, or print its OpenAPI document.

use std::io::Read;
use std::process::ExitCode;

use telltale_server::{Cli, Command};

fn main() -> ExitCode {
    let config = match Cli::parse_args().command {
        Command::Openapi => {
            print!("{}", telltale_server::openapi_json());
            return ExitCode::SUCCESS;
        }
        Command::NewApiKey { name } => {
            return match telltale_server::auth::new_key() {
                Ok(key) => {
                    println!("api key (give it to the client; it is stored nowhere): {key}");
                    println!(
                        "key file line (append it to --api-key-file): {}",
                        telltale_server::auth::key_file_line(&name, &key)
                    );
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("error: cannot read random bytes from /dev/urandom: {err}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::HashApiKey { name } => {
            let mut key = String::new();
            if let Err(err) = std::io::stdin().read_to_string(&mut key) {
                eprintln!("error: cannot read the key from stdin: {err}");
                return ExitCode::FAILURE;
            }
            if key.trim().is_empty() {
                eprintln!(
                    "error: no key on stdin (pipe the key in: `printf %s KEY | telltale-server hash-api-key`)"
                );
                return ExitCode::FAILURE;
            }
            println!("{}", telltale_server::auth::key_file_line(&name, &key));
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
