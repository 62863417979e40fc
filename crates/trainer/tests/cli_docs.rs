//! `docs/cli/trainer.md` is the CLI reference README.md links to. It is generated from clap's own
//! `--help` output, and this test fails when the committed file no longer matches the binary.
//! Regenerate with: `UPDATE_CLI_DOCS=1 cargo test -p telltale-trainer --test cli_docs`.

use std::path::PathBuf;
use std::process::Command;

const SUBCOMMANDS: &[&[&str]] = &[
    &[],
    &["synth"],
    &["train"],
    &["evaluate"],
    &["benchmark", "skab"],
];

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_telltale-trainer"))
        .args(args)
        .arg("--help")
        .env_clear()
        .output()
        .expect("run telltale-trainer --help");
    assert!(out.status.success(), "--help failed for {args:?}");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

fn render() -> String {
    let mut doc = String::from(
        "# `telltale-trainer` command-line reference\n\n\
         Generated from the binary's `--help`; `cargo test -p telltale-trainer --test cli_docs` \
         fails when it drifts.\n",
    );
    for args in SUBCOMMANDS {
        let title = if args.is_empty() {
            "telltale-trainer".to_string()
        } else {
            format!("telltale-trainer {}", args.join(" "))
        };
        doc.push_str(&format!("\n## `{title}`\n\n```text\n{}```\n", help(args)));
    }
    doc
}

#[test]
fn cli_reference_matches_the_binary() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli/trainer.md");
    let expected = render();
    if std::env::var_os("UPDATE_CLI_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/cli/trainer.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/cli/trainer.md is out of date; regenerate it with \
         UPDATE_CLI_DOCS=1 cargo test -p telltale-trainer --test cli_docs"
    );
}
