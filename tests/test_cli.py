"""The command line itself: usage errors, help, --version, environment defaults, exit codes, completion.

Usage errors exit 2 with the command's usage line and a one-line `Error:` on stderr, nothing on
stdout and never a traceback. The completion scripts are generated from the parser and checked
by running them: bash by calling the completion function with COMP_WORDS set, zsh through a
pseudo-terminal (zpty) with compadd recording the matches, fish with `complete -C`. A shell that
is not installed skips its tests with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import osmo2argo
from osmo2argo import cli
from osmo2argo.errors import CompileError, Diagnostic

from .cli_runner import CliResult, run_cli
from .conftest import ROOT, missing

HELLO = str(ROOT / "tests" / "examples" / "hello.yaml")
VENV_BIN = Path(sys.executable).parent
COMMANDS = ["validate", "compile", "target", "schema", "graph", "submit", "completion"]
TEMPLATE = ["--set", "--set-string", "--set-env"]
REPORT = ["--format", "--strict", "--debug"]
OPTIONS = {
    "validate": [*TEMPLATE, *REPORT],
    "compile": ["-o", "--output", "--target", "--kind", "--check", *TEMPLATE, *REPORT],
    "target": ["--default", "--check", "--debug"],
    "schema": ["--target", "--spec"],
    "graph": ["--format", *TEMPLATE, "--debug"],
    "submit": [
        "--manifest",
        "--target",
        "--kubeconfig",
        "--context",
        "-n",
        "--namespace",
        "--dry-run",
        "--via",
        "--argo-server",
        "--token",
        "--insecure-skip-verify",
        "--output",
        "--wait",
        "--request-timeout",
        "--retries",
        "--max-backoff",
        *TEMPLATE,
        *REPORT,
    ],
    "completion": [],
}


def assert_usage_error(result: CliResult, command: str, message: str) -> None:
    assert result.exit_code == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    usage = f"Usage: osmo2argo {command} [OPTIONS]" if command else "Usage: osmo2argo [OPTIONS] COMMAND [ARGS]..."
    lines = result.stderr.splitlines()
    assert lines[0].startswith(usage), result.stderr
    assert lines[-1].startswith("Error: "), result.stderr
    assert message in lines[-1], result.stderr


# -- usage errors ------------------------------------------------------------------------------------

USAGE_ERRORS = [
    ("unknown-option", ["validate", "--bogus", HELLO], "validate", "No such option '--bogus'."),
    ("unknown-option-value", ["validate", "--bogus=1", HELLO], "validate", "No such option '--bogus'."),
    ("unknown-top-option", ["--bogus"], "", "No such option '--bogus'."),
    ("no-abbreviations", ["compile", HELLO, "--ki", "workflow"], "compile", "Did you mean '--kind'?"),
    ("unknown-option-beside-help", ["compile", "--help", "--bogus"], "compile", "No such option '--bogus'."),
    ("unknown-command", ["frobnicate"], "", "No such command 'frobnicate'."),
    ("misspelt-command", ["valdate", HELLO], "", "Did you mean 'validate'?"),
    ("validate-missing-file", ["validate"], "validate", "Missing argument 'FILES...'."),
    ("compile-missing-file", ["compile", "-o", "out.yaml"], "compile", "Missing argument 'FILES...'."),
    ("graph-missing-file", ["graph"], "graph", "Missing argument 'FILE'."),
    ("submit-missing-file", ["submit", "--wait"], "submit", "Missing argument 'FILE'."),
    ("graph-extra-file", ["graph", HELLO, HELLO], "graph", "Got unexpected extra argument"),
    ("file-is-a-directory", ["validate", str(ROOT / "tests")], "validate", "is a directory"),
    ("validate-bad-format", ["validate", "--format", "xml", HELLO], "validate", "'xml'"),
    ("compile-bad-kind", ["compile", "--kind", "pod", HELLO], "compile", "'pod'"),
    ("graph-bad-format", ["graph", "--format", "svg", HELLO], "graph", "'svg'"),
    ("submit-bad-dry-run", ["submit", "--dry-run", "all", HELLO], "submit", "'all'"),
    ("submit-bad-via", ["submit", "--via", "ssh", HELLO], "submit", "'ssh'"),
    ("submit-bad-output", ["submit", "--output", "yaml", HELLO], "submit", "'yaml'"),
    ("completion-bad-shell", ["completion", "tcsh"], "completion", "'tcsh'"),
    ("completion-missing-shell", ["completion"], "completion", "Missing argument 'SHELL'."),
    ("several-specs", ["compile", HELLO, HELLO], "compile", "several specs need -o with a {stem} pattern"),
    ("several-specs-one-out", ["compile", HELLO, HELLO, "-o", "x.yaml"], "compile", "{stem} pattern"),
    ("check-without-o", ["compile", HELLO, "--check"], "compile", "--check needs -o FILE"),
    ("check-with-o-dash", ["compile", HELLO, "--check", "-o", "-"], "compile", "--check needs -o FILE"),
    (
        "via-argo-server",
        ["submit", HELLO, "--via", "argo-server"],
        "submit",
        "--via argo-server needs --argo-server URL",
    ),
    ("target-neither", ["target"], "target", "give --default or --check FILE"),
    ("target-debug-only", ["target", "--debug"], "target", "give --default or --check FILE"),
    ("retries-negative", ["submit", HELLO, "--retries", "-1"], "submit", "--retries: -1 is not in the range x>=0."),
    ("retries-text", ["submit", HELLO, "--retries", "many"], "submit", "--retries: 'many' is not a valid integer."),
    ("retries-float", ["submit", HELLO, "--retries", "1.5"], "submit", "'1.5' is not a valid integer."),
    ("max-backoff-negative", ["submit", HELLO, "--max-backoff", "-0.5"], "submit", "-0.5 is not in the range x>=0."),
    ("max-backoff-text", ["submit", HELLO, "--max-backoff", "long"], "submit", "'long' is not a valid float."),
    ("request-timeout-text", ["submit", HELLO, "--request-timeout", "soon"], "submit", "--request-timeout"),
    ("option-without-value", ["compile", HELLO, "-o"], "compile", "-o/--output"),
    ("flag-with-value", ["validate", HELLO, "--strict=1"], "validate", "--strict"),
    ("version-is-top-level", ["validate", "--version"], "validate", "No such option '--version'."),
]


@pytest.mark.parametrize(
    ("args", "command", "message"), [c[1:] for c in USAGE_ERRORS], ids=[c[0] for c in USAGE_ERRORS]
)
def test_a_usage_error_exits_2_with_the_usage_line_and_one_error_line(
    args: list[str], command: str, message: str
) -> None:
    result = run_cli(args)
    assert_usage_error(result, command, message)
    assert result.stderr.splitlines()[1] == f"Try 'osmo2argo{' ' + command if command else ''} --help' for help."


def test_a_usage_error_in_a_subprocess_exits_2_with_no_traceback() -> None:
    done = subprocess.run(
        [str(VENV_BIN / "osmo2argo"), "submit", HELLO, "--retries", "-1"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.endswith("Error: argument --retries: -1 is not in the range x>=0.\n")


def test_no_arguments_prints_the_help_on_stderr_with_exit_2() -> None:
    result = run_cli([])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: osmo2argo [OPTIONS] COMMAND [ARGS]...\n")
    assert "Commands:" in result.stderr


def test_check_without_o_still_reports_an_invalid_spec_first(tmp_path: Path) -> None:
    """As before: the -o check runs once a spec compiled, so a broken spec is exit 1 with its diagnostics."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("workflow:\n  name: x\n  tasks:\n  - name: t\n    image: yes\n", encoding="utf-8")
    result = run_cli(["compile", str(broken), "--check"])
    assert result.exit_code == 1
    assert "error[E201]" in result.stderr


# -- version and help ----------------------------------------------------------------------------------


def test_version() -> None:
    result = run_cli(["--version"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"osmo2argo, version {osmo2argo.__version__}\n", "")


def test_version_through_python_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "osmo2argo.cli", "--version"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"osmo2argo, version {osmo2argo.__version__}\n", "")


def test_the_console_script_exits_with_main_s_code() -> None:
    script = VENV_BIN / "osmo2argo"
    if not script.is_file():
        pytest.skip(f"no console script at {script}: run pip install -e '.[dev]'")
    assert subprocess.run([str(script), "--version"], capture_output=True, check=False).returncode == 0
    assert subprocess.run([str(script), "validate"], capture_output=True, check=False).returncode == 2
    assert (
        subprocess.run([str(script), "validate", "/nonexistent.yaml"], capture_output=True, check=False).returncode == 1
    )


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_top_level_help_lists_every_command(flag: str) -> None:
    result = run_cli([flag])
    assert result.exit_code == 0, result
    assert result.stderr == ""
    assert result.stdout.startswith("Usage: osmo2argo [OPTIONS] COMMAND [ARGS]...\n")
    for option in ("--version", "-h, --help"):
        assert option in result.stdout
    listed = result.stdout.split("Commands:\n", 1)[1]
    assert [line.split()[0] for line in listed.splitlines()] == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_s_help_mentions_each_option(command: str) -> None:
    result = run_cli([command, "-h"])
    assert result.exit_code == 0, result
    assert result.stderr == ""
    assert result.stdout.startswith(f"Usage: osmo2argo {command} [OPTIONS]")
    options = result.stdout.split("Options:\n", 1)[1]
    for option in [*OPTIONS[command], "-h", "--help"]:
        assert f" {option}" in options or f"{option}," in options, f"{command} -h does not mention {option}"
    assert run_cli([command, "--help"]) == result


def test_help_wins_over_a_bad_value_and_a_missing_file() -> None:
    result = run_cli(["compile", "--kind", "pod", "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: osmo2argo compile [OPTIONS] FILES...\n")


def test_compile_help_is_laid_out_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte for byte the page click printed at 100 columns (plus --files-root, added since)."""
    monkeypatch.setenv("COLUMNS", "100")
    expected = textwrap.dedent(
        """\
        Usage: osmo2argo compile [OPTIONS] FILES...

          Compile OSMO specs into Argo manifests.

        Options:
          -o, --output OUT                Write the manifest to OUT ('-': standard output). The file is
                                          replaced atomically. With several specs, a pattern with {dir}
                                          and {stem}, e.g. '{dir}/{stem}.argo.yaml'.  [default: -]
          --target FILE                   Target profile (YAML).
          --kind [workflow|workflowtemplate]
                                          Emit a Workflow or a WorkflowTemplate.  [default: workflow]
          --check                         Do not write: exit 1 with a diff when OUT is not up to date.
          --files-root DIR                Directory that files[].localpath may read from (default: the
                                          spec's directory).
          --set-env NAME=VALUE            Add an environment variable to every task.
          --set-string NAME=VALUE         Set a template variable as a string.
          --set NAME=VALUE                Set a template variable (read as int, then float, then string).
          --debug                         Show a traceback for internal errors.
          --strict                        Treat warnings as errors.
          --format [text|json|github]     How to print diagnostics.  [default: text]
          -h, --help                      Show this message and exit.
        """
    )
    assert run_cli(["compile", "--help"]).stdout == expected


def test_submit_help_shows_defaults_and_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("ARGO_TOKEN", "s3cret-token")
    page = run_cli(["submit", "--help"]).stdout
    assert "Exit codes: 0 created (or, with --wait, succeeded)" in page
    assert "--retries INTEGER RANGE" in page and "[default: 5; x>=0]" in page
    assert "--max-backoff SECONDS" in page and "[default: 20.0; x>=0]" in page
    assert "--request-timeout FLOAT" in page and "[default: 30.0]" in page
    assert "s3cret-token" not in page  # an environment default is never shown


# -- parsing ---------------------------------------------------------------------------------------------


def parse_submit(args: list[str]) -> Any:
    namespace = cli.parse(cli.build_parser().commands["submit"], args)
    assert namespace is not None
    return namespace


def test_submit_defaults_come_from_kubeconfig_and_argo_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/somewhere/kubeconfig")
    monkeypatch.setenv("ARGO_TOKEN", "from-the-environment")
    options = parse_submit(["spec.yaml"])
    assert (options.kubeconfig, options.token) == ("/somewhere/kubeconfig", "from-the-environment")
    options = parse_submit(["spec.yaml", "--kubeconfig", "/explicit", "--token", "explicit"])
    assert (options.kubeconfig, options.token) == ("/explicit", "explicit")


def test_empty_or_unset_environment_variables_give_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "")
    monkeypatch.delenv("ARGO_TOKEN", raising=False)
    options = parse_submit(["spec.yaml"])
    assert (options.kubeconfig, options.token) == (None, None)


def test_a_kubeconfig_directory_from_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path))
    assert_usage_error(run_cli(["submit", HELLO]), "submit", "is a directory")


def test_options_and_files_mix_in_any_order() -> None:
    options = cli.parse(
        cli.build_parser().commands["compile"],
        [
            "a.yaml",
            "-o",
            "{stem}.out",
            "b.yaml",
            "--set=x=1",
            "--set",
            "y=2",
            "--kind=workflowtemplate",
            "-",
            "--",
            "-c",
        ],
    )
    assert options is not None
    assert options.files == ["a.yaml", "b.yaml", "-", "-c"]
    assert (options.output, options.set_, options.kind) == ("{stem}.out", ["x=1", "y=2"], "workflowtemplate")


def test_an_option_s_value_is_the_next_word_even_with_a_leading_dash() -> None:
    """As click: `--token -abc` is the token `-abc`, and `--context -h` is no request for help."""
    options = parse_submit(["spec.yaml", "--token", "-abc", "--context", "-h", "-n", "--wait"])
    assert (options.token, options.context, options.namespace, options.wait) == ("-abc", "-h", "--wait", False)
    compile_options = cli.parse(cli.build_parser().commands["compile"], ["-o", "-", "x.yaml", "-o", "--check"])
    assert compile_options is not None
    assert (compile_options.output, compile_options.check) == ("--check", False)


def test_a_run_builds_only_its_command_s_parser() -> None:
    assert list(cli.build_parser("validate").commands) == ["validate"]
    assert sorted(cli.build_parser("nonsense").commands) == sorted(COMMANDS)
    assert sorted(cli.build_parser().commands) == sorted(COMMANDS)
    listed = run_cli(["-h", "validate"]).stdout.split("Commands:\n", 1)[1]  # the top level's help: all of them
    assert [line.split()[0] for line in listed.splitlines()] == sorted(COMMANDS)


def test_a_double_dash_may_come_before_the_command() -> None:
    result = run_cli(["--", "validate", HELLO], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result
    assert result.stderr.endswith("hello.yaml: valid (2 tasks in 2 groups)\n")


@pytest.fixture
def captured_submission(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the cluster calls of osmo2argo.submit; what the command passed to them."""
    from osmo2argo import submit

    seen: dict[str, Any] = {}

    def fake_submit(manifest: dict[str, Any], connection: Any, **kwargs: Any) -> Any:
        seen.update(connection=connection, **kwargs)
        return submit.Submitted("hello-1", connection.namespace or "default", "uid-1", kwargs["dry_run"], 1)

    def fake_argo_server(manifest: dict[str, Any], url: str, token: str | None, namespace: str, **kwargs: Any) -> Any:
        seen.update(url=url, token=token, namespace=namespace, **kwargs)
        return submit.Submitted("hello-2", namespace, "uid-2", kwargs["dry_run"], 1)

    monkeypatch.setattr(submit, "submit", fake_submit)
    monkeypatch.setattr(submit, "submit_via_argo_server", fake_argo_server)
    return seen


def test_submit_passes_the_environment_s_kubeconfig_to_the_connection(captured_submission: dict[str, Any]) -> None:
    result = run_cli(
        ["submit", HELLO, "--retries", "2", "--max-backoff", "1.5", "--dry-run", "server"],
        env={"KUBECONFIG": "/env/kubeconfig", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result
    assert result.stdout.startswith("default/hello-1 validated (dry run)")
    connection = captured_submission["connection"]
    assert (connection.kubeconfig, connection.attempts, connection.max_backoff) == ("/env/kubeconfig", 3, 1.5)
    assert captured_submission["dry_run"] is True


def test_submit_passes_the_environment_s_token_to_the_argo_server(captured_submission: dict[str, Any]) -> None:
    result = run_cli(
        ["submit", HELLO, "--via", "argo-server", "--argo-server", "https://argo.example", "--output", "json"],
        env={"ARGO_TOKEN": "token-from-env"},
    )
    assert result.exit_code == 0, result
    assert '"name": "hello-2"' in result.stdout
    assert (captured_submission["url"], captured_submission["token"]) == ("https://argo.example", "token-from-env")


# -- exit codes of failures ------------------------------------------------------------------------------


def test_an_unexpected_exception_is_exit_4_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from osmo2argo import pipeline

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "check_spec", explode)
    quiet = run_cli(["validate", HELLO])
    assert quiet.exit_code == 4
    assert quiet.stderr.count("\n") == 1 and "internal error (RuntimeError); this is a bug" in quiet.stderr
    debug = run_cli(["validate", HELLO, "--debug"])
    assert debug.exit_code == 4
    assert "Traceback (most recent call last)" in debug.stderr and "RuntimeError: boom" in debug.stderr


def test_a_compile_error_is_exit_1_and_an_interrupt_is_130(monkeypatch: pytest.MonkeyPatch) -> None:
    from osmo2argo import pipeline

    def invalid(*args: Any, **kwargs: Any) -> Any:
        raise CompileError([Diagnostic("E109", "cannot read it")])

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "check_spec", invalid)
    result = run_cli(["graph", HELLO], env={"NO_COLOR": "1"})
    assert (result.exit_code, result.stdout) == (1, "")
    assert "E109" in result.stderr
    monkeypatch.setattr(pipeline, "check_spec", interrupted)
    result = run_cli(["graph", HELLO])
    assert (result.exit_code, result.stdout, result.stderr) == (130, "", "interrupted\n")


def test_no_click_in_the_package_and_no_more_than_argparse_at_import() -> None:
    for source in (ROOT / "osmo2argo").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "import click" not in text and "from click" not in text, source
    code = (
        "import sys; before = set(sys.modules); import osmo2argo.cli; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    assert not loaded & {"click", "traceback", "difflib", "json", "textwrap", "shutil", "inspect", "yaml"}, loaded
    assert not {name for name in loaded if name.startswith("osmo2argo.")} - {"osmo2argo.cli"}, loaded


@pytest.mark.parametrize("command", ["validate", "compile"])
def test_validate_and_compile_load_no_hera_kubernetes_jinja_or_pyyaml_for_plain_specs(
    command: str, tmp_path: Path
) -> None:
    templated = tmp_path / "templated.yaml"
    templated.write_text(
        "workflow:\n  name: {{ name }}\n  tasks:\n  - name: t\n    image: ubuntu\n    command: [echo, '{{output}}']\n"
        "default-values:\n  name: hi\n",
        encoding="utf-8",
    )
    # -X importtime reports every import on stderr, also those of a forked render process.
    code = "import sys; from osmo2argo.cli import main; sys.exit(main(sys.argv[1:]))"
    for spec in (HELLO, str(templated)):
        args = [command, spec] + (["-o", str(tmp_path / "out.yaml")] if command == "compile" else [])
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "osmo2argo.frontend" in imported  # the report is there
        assert not imported & {"hera", "kubernetes", "jinja2", "yaml"}, spec


def test_commands_run_without_click_installed(tmp_path: Path) -> None:
    code = "import sys; sys.modules['click'] = None; from osmo2argo.cli import main; sys.exit(main(sys.argv[1:]))"
    for args in (
        ["validate", HELLO],
        ["compile", HELLO, "-o", str(tmp_path / "out.yaml")],
        ["--help"],
        ["submit", "-h"],
    ):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, (args, done.stderr)


# -- shell completion --------------------------------------------------------------------------------------


def completion_script(shell: str) -> str:
    result = run_cli(["completion", shell])
    assert result.exit_code == 0, result
    assert result.stderr == ""
    return result.stdout


def require_shell(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        missing(f"{shell} is not installed", f"{shell} is not installed, so its completion script is not checked")
    return path


def test_the_scripts_name_every_command_option_and_choice() -> None:
    """Generated from the parser, so nothing the parser accepts is missing."""
    parser = cli.build_parser()
    for shell in ("bash", "zsh", "fish"):
        script = completion_script(shell)
        for name, command in parser.commands.items():
            assert name in script
            for action in command.actions:
                for flag in action.option_strings:
                    spelled = (
                        flag if shell != "fish" else (f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
                    )
                    assert spelled in script, (shell, name, flag)
                for choice in action.choices or ():
                    assert choice in script, (shell, name, choice)


def test_click_s_completion_variable_still_gives_the_script() -> None:
    for shell in ("bash", "zsh", "fish"):
        result = run_cli([], env={cli.LEGACY_COMPLETE_VARIABLE: f"{shell}_source"})
        assert (result.exit_code, result.stdout) == (0, completion_script(shell))
    stale = run_cli([], env={cli.LEGACY_COMPLETE_VARIABLE: "bash_complete"})
    assert (stale.exit_code, stale.stdout) == (2, "")
    assert "osmo2argo completion bash" in stale.stderr


def bash_complete(tmp_path: Path, *words: str) -> list[str]:
    """What the bash script completes for the command line `words` (the last word is being typed)."""
    bash = require_shell("bash")
    script = tmp_path / "osmo2argo.bash"
    script.write_text(completion_script("bash"), encoding="utf-8")
    quoted = " ".join("'" + word.replace("'", "'\\''") + "'" for word in words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=()\n"
        "_osmo2argo_completion osmo2argo\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run([bash, "--norc", "-c", program], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_commands_options_and_choices(tmp_path: Path) -> None:
    assert bash_complete(tmp_path, "osmo2argo", "") == sorted(COMMANDS)
    assert bash_complete(tmp_path, "osmo2argo", "co") == ["compile", "completion"]
    assert bash_complete(tmp_path, "osmo2argo", "--v") == ["--version"]
    assert bash_complete(tmp_path, "osmo2argo", "compile", "--ki") == ["--kind"]
    assert bash_complete(tmp_path, "osmo2argo", "validate", "--format", "") == ["text", "json", "github"]
    assert bash_complete(tmp_path, "osmo2argo", "validate", "--format", "=", "j") == ["json"]
    assert bash_complete(tmp_path, "osmo2argo", "graph", "x.yaml", "--format", "") == ["mermaid", "dot"]
    assert bash_complete(tmp_path, "osmo2argo", "submit", "--dry") == ["--dry-run"]
    assert bash_complete(tmp_path, "osmo2argo", "submit", "--via", "") == ["kubernetes", "argo-server"]
    assert bash_complete(tmp_path, "osmo2argo", "completion", "") == ["bash", "zsh", "fish"]
    assert bash_complete(tmp_path, "osmo2argo", "submit", "--context", "") == []  # free text: nothing to offer


def test_bash_completes_file_names_for_files(tmp_path: Path) -> None:
    (tmp_path / "train.yaml").write_text("", encoding="utf-8")
    (tmp_path / "target.yaml").write_text("", encoding="utf-8")
    assert sorted(bash_complete(tmp_path, "osmo2argo", "validate", "t")) == ["target.yaml", "train.yaml"]
    assert bash_complete(tmp_path, "osmo2argo", "compile", "tr") == ["train.yaml"]
    assert bash_complete(tmp_path, "osmo2argo", "compile", "x.yaml", "--target", "ta") == ["target.yaml"]
    assert bash_complete(tmp_path, "osmo2argo", "compile", "x.yaml", "-o", "tr") == ["train.yaml"]
    assert bash_complete(tmp_path, "osmo2argo", "submit", "--kubeconfig", "ta") == ["target.yaml"]
    assert bash_complete(tmp_path, "osmo2argo", "validate", "--", "tr") == ["train.yaml"]
    assert bash_complete(tmp_path, "osmo2argo", "schema", "t") == []  # schema takes no file


def test_zsh_script_is_valid_and_registers_itself(tmp_path: Path) -> None:
    zsh = require_shell("zsh")
    script = tmp_path / "_osmo2argo"
    script.write_text(completion_script("zsh"), encoding="utf-8")
    checked = subprocess.run([zsh, "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    program = f"autoload -Uz compinit && compinit -u -D; source {script}; print -r -- ${{_comps[osmo2argo]}}"
    done = subprocess.run([zsh, "-f", "-c", program], capture_output=True, text=True, check=False, timeout=60)
    assert done.stdout.strip() == "_osmo2argo_completion", done.stdout + done.stderr


ZPTY_HARNESS = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z 'PS1=""; autoload -Uz compinit; compinit -u -D'
zpty -w z "source ${(q)1}"
# compadd prints what it is given (spelt so that the terminal's echo of this line does not match)
zpty -w z 'compadd() { local -a __m; builtin compadd -O __m "$@"
  (( $#__m )) && print -r -- "MA""TCHES:${(j: :)__m}:END" > /dev/tty; builtin compadd "$@" }'
zpty -w -n z "$2"$'\t'
local out="" chunk
integer i
for (( i = 0; i < 200; i++ )); do
  while zpty -rt z chunk 2>/dev/null; do out+=$chunk; done
  [[ $out == *MATCHES:*:END* ]] && { sleep 0.3; while zpty -rt z chunk 2>/dev/null; do out+=$chunk; done; break; }
  sleep 0.1
done
zpty -d z
print -r -- $out
"""


def zsh_complete(tmp_path: Path, line: str) -> set[str]:
    """The matches zsh offers for `line` (then TAB), read through a pseudo-terminal."""
    zsh = require_shell("zsh")
    script = tmp_path / "_osmo2argo"
    script.write_text(completion_script("zsh"), encoding="utf-8")
    harness = tmp_path / "harness.zsh"
    harness.write_text(ZPTY_HARNESS, encoding="utf-8")
    done = subprocess.run(
        [zsh, "-f", str(harness), str(script), line],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=90,
        check=False,
    )
    if done.returncode == 3:
        pytest.skip("zsh has no zpty module, so zsh completion cannot be driven")
    matches: set[str] = set()
    for chunk in done.stdout.split("MATCHES:")[1:]:
        if ":END" in chunk:
            matches.update(chunk.split(":END", 1)[0].split())
    return matches


def test_zsh_completes_commands_options_choices_and_files(tmp_path: Path) -> None:
    (tmp_path / "train.yaml").write_text("", encoding="utf-8")
    assert zsh_complete(tmp_path, "osmo2argo co") == {"compile", "completion"}
    assert zsh_complete(tmp_path, "osmo2argo compile --ki") == {"--kind"}
    assert zsh_complete(tmp_path, "osmo2argo validate --format ") == {"text", "json", "github"}
    assert zsh_complete(tmp_path, "osmo2argo validate tr") == {"train.yaml"}


def fish_complete(tmp_path: Path, line: str) -> list[str]:
    fish = require_shell("fish")
    script = tmp_path / "osmo2argo.fish"
    script.write_text(completion_script("fish"), encoding="utf-8")
    program = f"source {script}; complete -C {line!r}"
    done = subprocess.run(
        [fish, "--no-config", "-c", program], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_fish_script_is_valid(tmp_path: Path) -> None:
    fish = require_shell("fish")
    script = tmp_path / "osmo2argo.fish"
    script.write_text(completion_script("fish"), encoding="utf-8")
    checked = subprocess.run([fish, "--no-config", "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_fish_completes_commands_options_choices_and_files(tmp_path: Path) -> None:
    (tmp_path / "train.yaml").write_text("", encoding="utf-8")
    assert "compile\tCompile OSMO specs into Argo manifests." in fish_complete(tmp_path, "osmo2argo co")
    assert [line.split("\t")[0] for line in fish_complete(tmp_path, "osmo2argo compile --ki")] == ["--kind"]
    formats = {line.split("\t")[0] for line in fish_complete(tmp_path, "osmo2argo validate --format ")}
    assert formats == {"text", "json", "github"}
    assert fish_complete(tmp_path, "osmo2argo validate tr") == ["train.yaml"]
    assert fish_complete(tmp_path, "osmo2argo schema tr") == []


def test_completion_command_output_ends_with_a_newline_and_nothing_on_stderr() -> None:
    for shell in ("bash", "zsh", "fish"):
        script = completion_script(shell)
        assert script.endswith("\n") and not script.endswith("\n\n")
