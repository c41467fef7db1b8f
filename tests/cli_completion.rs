//! `jetsync completion SHELL` and `jetsync man`, both generated from the
//! command line's clap definitions, and the flag conventions they show:
//! `-o/--output` is the output format in every command, `--out` a file.

use std::path::Path;
use std::process::{Command, Output};

use clap::CommandFactory;

fn jetsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The names of jetsync's commands, from the clap definitions.
fn commands() -> Vec<String> {
    jetsync::cli::Cli::command()
        .get_subcommands()
        .map(|command| command.get_name().to_string())
        .collect()
}

/// What bash completes after `words` (the last one being completed), with
/// the script `jetsync completion bash` prints loaded.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let words_array = words
        .iter()
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source '{}'\n\
         COMP_WORDS=({words_array})\n\
         COMP_CWORD={}\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _jetsync jetsync \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.len() - 1,
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    text(&output).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_commands_flags_and_output_formats() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("jetsync.bash");
    std::fs::write(&script, text(&jetsync(&["completion", "bash"]))).unwrap();

    let offered = bash_complete(&script, &["jetsync", ""]);
    for command in commands() {
        assert!(offered.contains(&command), "{command} in {offered:?}");
    }
    assert_eq!(bash_complete(&script, &["jetsync", "pl"]), ["plan"]);
    assert_eq!(
        bash_complete(&script, &["jetsync", "plan", "--output", ""]),
        ["human", "json", "markdown", "github"]
    );
    assert_eq!(
        bash_complete(&script, &["jetsync", "export", "-o", ""]),
        ["yaml"]
    );
    let export_flags = bash_complete(&script, &["jetsync", "export", "--ou"]);
    assert!(
        export_flags.contains(&"--output".to_string())
            && export_flags.contains(&"--out".to_string()),
        "{export_flags:?}"
    );
    let shells = bash_complete(&script, &["jetsync", "completion", ""]);
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(shells.contains(&shell.to_string()), "{shell} in {shells:?}");
    }
}

#[test]
fn every_shell_gets_a_completion_script_that_names_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F _jetsync"),
        ("zsh", "#compdef jetsync"),
        ("fish", "complete -c jetsync"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'jetsync'",
        ),
        ("elvish", "set edit:completion:arg-completer[jetsync]"),
    ] {
        let script = text(&jetsync(&["completion", shell]));
        assert!(script.contains(marker), "{shell}: {marker}");
        for command in commands() {
            assert!(script.contains(&command), "{shell} completes {command}");
        }
        assert!(
            script.contains("--detailed-exitcode"),
            "{shell} completes plan's flags"
        );
    }
}

#[test]
fn an_unknown_shell_is_refused_with_the_list_of_shells() {
    let output = jetsync(&["completion", "tcsh"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{stderr}"
    );
}

#[test]
fn the_man_page_documents_every_command_and_renders_without_warnings() {
    let page = text(&jetsync(&["man"]));
    assert!(page.contains(".TH jetsync 1"), "{page}");
    assert!(page.contains(env!("CARGO_PKG_VERSION")));
    for command in commands() {
        assert!(
            page.contains(&format!("jetsync\\-{command}(1)")),
            "the page names {command}"
        );
    }
    // groff comes with man-db on Debian; it is the renderer `man` uses, and
    // `-k` runs preconv as `man` does (the help text has UTF-8).
    let groff = Command::new("sh")
        .args(["-c", "command -v groff"])
        .output()
        .unwrap();
    if !groff.status.success() {
        eprintln!("groff not installed: the page is not rendered");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jetsync.1");
    std::fs::write(&path, &page).unwrap();
    let rendered = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success() && stderr.is_empty(), "{stderr}");
    // -P-cbou: plain text, no bold or underline by overstriking.
    let rendered = String::from_utf8_lossy(&rendered.stdout);
    assert!(rendered.contains("SUBCOMMANDS"), "{rendered}");
    assert!(rendered.contains("jetsync-export(1)"), "{rendered}");
}

#[test]
fn man_out_dir_writes_one_page_per_command_with_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    text(&jetsync(&["man", "--out-dir", out.to_str().unwrap()]));
    assert!(out.join("jetsync.1").is_file());
    for command in commands() {
        assert!(
            out.join(format!("jetsync-{command}.1")).is_file(),
            "jetsync-{command}.1"
        );
    }
    let export = std::fs::read_to_string(out.join("jetsync-export.1")).unwrap();
    assert!(
        export.contains("\\fB\\-o\\fR, \\fB\\-\\-output\\fR"),
        "{export}"
    );
    assert!(export.contains("\\fB\\-\\-out\\fR"), "{export}");
}

#[test]
fn output_is_the_format_in_every_command_that_prints_and_out_is_a_file() {
    let cli = jetsync::cli::Cli::command();
    for command in ["validate", "plan", "diff", "apply", "export"] {
        let subcommand = cli.find_subcommand(command).unwrap();
        let output = subcommand
            .get_arguments()
            .find(|arg| arg.get_id() == "output")
            .unwrap_or_else(|| panic!("{command} has --output"));
        assert_eq!(output.get_short(), Some('o'), "{command}");
        assert!(
            !output.get_possible_values().is_empty(),
            "{command} --output takes a format"
        );
        if let Some(out) = subcommand
            .get_arguments()
            .find(|arg| arg.get_long() == Some("out"))
        {
            assert_eq!(out.get_short(), None, "{command} --out has no short flag");
            assert_eq!(out.get_value_names().unwrap()[0], "FILE", "{command} --out");
        }
    }
}

#[test]
fn export_takes_o_yaml_and_writes_files_with_out_only() {
    use clap::Parser;
    let parse = |args: &[&str]| {
        jetsync::cli::Cli::try_parse_from(std::iter::once("jetsync").chain(args.iter().copied()))
    };
    assert!(parse(&["export", "-o", "yaml", "--out", "live.yaml"]).is_ok());
    assert!(parse(&["export", "--output", "yaml"]).is_ok());
    let refused = parse(&["export", "-o", "live.yaml"])
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("invalid value 'live.yaml' for '--output <OUTPUT>'")
            && refused.contains("[possible values: yaml]"),
        "{refused}"
    );
}
