//! Shell completions and the manual page are generated from the parser's own definitions, and
//! the committed copies are what the binary generates (so they never drift from the flags).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{bulkops_bare, run};

fn committed(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn completions_and_the_manual_page_match_the_parser_and_the_committed_copies() {
    for shell in ["bash", "zsh", "fish"] {
        let generated = run(bulkops_bare().args(["completions", shell]));
        assert_eq!(generated.code, 0, "{}", generated.stderr);
        assert!(
            generated.stdout.contains("replay") && generated.stdout.contains("dry-run"),
            "{shell}: no subcommands or flags in the script"
        );
        assert_eq!(
            generated.stdout,
            committed(&format!("completions/bulkops.{shell}")),
            "completions/bulkops.{shell} is stale: regenerate it with `bulkops completions {shell}`"
        );
    }
    let bash = committed("completions/bulkops.bash");
    let mut check = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .expect("bash runs");
    std::io::Write::write_all(check.stdin.as_mut().expect("stdin"), bash.as_bytes()).unwrap();
    drop(check.stdin.take());
    assert!(
        check.wait().unwrap().success(),
        "the bash completion does not parse"
    );

    let man = run(bulkops_bare().arg("manpage"));
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(man.stdout.starts_with(".ie") && man.stdout.contains(".TH bulkops 1"));
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(
            man.stdout.contains(section),
            "no {section} in the manual page"
        );
    }
    assert_eq!(
        man.stdout,
        committed("docs/man/bulkops.1"),
        "docs/man/bulkops.1 is stale: regenerate it with `bulkops manpage`"
    );
}
