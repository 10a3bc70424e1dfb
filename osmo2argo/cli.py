"""The `osmo2argo` command: options in, library calls, diagnostics and exit codes out.

Exit codes: 0 success, 1 invalid spec (or a stale manifest under --check), 2 usage error,
3 cluster failure (submit), 4 internal error (a bug: one line asking for a report; the traceback
only with --debug). Commands parse their options into plain values and call the library; only this
module touches argv, stdin/stdout, colour and exit codes.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from . import __version__

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_CLUSTER, EXIT_BUG = 0, 1, 2, 3, 4
BUG_REPORT = "https://github.com/osmo2argo/osmo2argo/issues"

F = TypeVar("F", bound=Callable[..., Any])


def _colour(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _read_input(path: str) -> tuple[str, str]:
    """(text, display name) of a spec file or of stdin for '-'; CompileError if unreadable."""
    from .errors import CompileError, Diagnostic, Span
    from .source import decode_source

    if path == "-":
        return decode_source(sys.stdin.buffer.read(), "<stdin>"), "<stdin>"
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise CompileError([Diagnostic("E109", f"cannot read {path}: {exc.strerror}", Span(path, 1, 1))]) from None
    return decode_source(raw, path), path


def template_options(function: F) -> F:
    function = click.option(
        "--set",
        "set_",
        multiple=True,
        metavar="NAME=VALUE",
        help="Set a template variable (read as int, then float, then string).",
    )(function)
    function = click.option(
        "--set-string", multiple=True, metavar="NAME=VALUE", help="Set a template variable as a string."
    )(function)
    function = click.option(
        "--set-env", multiple=True, metavar="NAME=VALUE", help="Add an environment variable to every task."
    )(function)
    return function


def report_options(function: F) -> F:
    function = click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "github"]),
        default="text",
        show_default=True,
        help="How to print diagnostics.",
    )(function)
    function = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(function)
    function = click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")(function)
    return function


def emit_diagnostics(diagnostics: Sequence[Any], sources: dict[str, str], fmt: str, *, to_stdout: bool) -> None:
    """Print diagnostics: JSON on stdout (for scripts), text and annotations on stderr."""
    from . import report

    if fmt == "json":
        if to_stdout:
            click.echo(report.render(diagnostics, sources, "json"), nl=False)
        return
    if not diagnostics:
        return
    stream = sys.stderr
    text = report.render(diagnostics, sources, fmt, colour=fmt == "text" and _colour(stream))  # type: ignore[arg-type]
    click.echo(text, nl=False, err=True)
    if fmt == "text":
        click.echo(report.summary(diagnostics), err=True)


def run_guarded(debug: bool, body: Callable[[], int]) -> NoReturn:
    """Run a command body; map bad input to 1 and any unexpected exception to 4."""
    from .errors import CompileError

    try:
        code = body()
    except CompileError as exc:  # a body that did not print its own diagnostics
        emit_diagnostics(exc.diagnostics, {}, "text", to_stdout=False)
        code = EXIT_INVALID
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if debug:
            traceback.print_exc()
        click.echo(
            f"osmo2argo: internal error ({type(exc).__name__}); this is a bug, please report it at {BUG_REPORT} "
            "with the input (run with --debug for the traceback)",
            err=True,
        )
        code = EXIT_BUG
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="osmo2argo")
def main() -> None:
    """Compile NVIDIA OSMO workflow specs into Argo Workflows manifests."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@template_options
@report_options
def validate(
    file: str,
    set_: tuple[str, ...],
    set_string: tuple[str, ...],
    set_env: tuple[str, ...],
    fmt: str,
    strict: bool,
    debug: bool,
) -> None:
    """Check an OSMO spec and report every problem (exit 0 valid, 1 invalid)."""

    def body() -> int:
        from .errors import CompileError
        from .pipeline import check_spec
        from .template import Variables

        sources: dict[str, str] = {}
        try:
            text, name = _read_input(file)
            sources[name] = text
            checked = check_spec(text, name, Variables(set_, set_string, set_env), spec_path=file, strict=strict)
        except CompileError as exc:
            emit_diagnostics(exc.diagnostics, sources, fmt, to_stdout=True)
            return EXIT_INVALID
        emit_diagnostics(checked.warnings, sources, fmt, to_stdout=True)
        if fmt == "text":
            tasks = len(checked.workflow.tasks())
            groups = len(checked.workflow.groups)
            click.echo(
                f"{file}: valid ({tasks} task{'s' if tasks != 1 else ''} in {groups} group"
                f"{'s' if groups != 1 else ''})",
                err=True,
            )
        return EXIT_OK

    run_guarded(debug, body)


def _load_target(path: str | None) -> Any:
    """The target profile of --target (a file), or the built-in one."""
    from .target import default_target, load_target

    if path is None:
        return default_target()
    text, name = _read_input(path)
    return load_target(text, name)


@main.command("compile")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-o",
    "--output",
    "output",
    default="-",
    show_default=True,
    metavar="OUT",
    help="Write the manifest to OUT ('-': standard output). The file is replaced atomically.",
)
@click.option("--target", "target_path", type=click.Path(dir_okay=False), help="Target profile (YAML).")
@click.option(
    "--kind",
    type=click.Choice(["workflow", "workflowtemplate"]),
    default="workflow",
    show_default=True,
    help="Emit a Workflow or a WorkflowTemplate.",
)
@click.option("--check", is_flag=True, help="Do not write: exit 1 with a diff when OUT is not up to date.")
@template_options
@report_options
def compile_command(
    file: str,
    output: str,
    target_path: str | None,
    kind: str,
    check: bool,
    set_: tuple[str, ...],
    set_string: tuple[str, ...],
    set_env: tuple[str, ...],
    fmt: str,
    strict: bool,
    debug: bool,
) -> None:
    """Compile an OSMO spec into an Argo manifest."""

    def body() -> int:
        from .compiler import compile_spec
        from .emit import write_atomically
        from .errors import CompileError
        from .template import Variables

        sources: dict[str, str] = {}
        try:
            text, name = _read_input(file)
            sources[name] = text
            target = _load_target(target_path)
            compiled = compile_spec(
                text,
                name,
                target=target,
                variables=Variables(set_, set_string, set_env),
                kind=kind,
                strict=strict,
                spec_path=file,
            )
        except CompileError as exc:
            emit_diagnostics(exc.diagnostics, sources, fmt, to_stdout=output != "-")
            return EXIT_INVALID
        emit_diagnostics(compiled.warnings, sources, fmt, to_stdout=output != "-")
        if check:
            return _check_output(output, compiled.text)
        if output == "-":
            sys.stdout.write(compiled.text)
            sys.stdout.flush()
        else:
            write_atomically(output, compiled.text)
        return EXIT_OK

    run_guarded(debug, body)


def _check_output(path: str, expected: str) -> int:
    import difflib

    if path == "-":
        raise click.UsageError("--check needs -o FILE: the manifest to compare with")
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = ""
    if current == expected:
        click.echo(f"{path}: up to date", err=True)
        return EXIT_OK
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{path} (checked in)",
        tofile=f"{path} (compiled now)",
    )
    sys.stdout.writelines(diff)
    click.echo(f"{path}: stale; compile again and commit the result", err=True)
    return EXIT_INVALID


@main.command("target")
@click.option("--default", "show_default", is_flag=True, help="Print the built-in target profile.")
@click.option("--check", "check_path", type=click.Path(dir_okay=False), help="Validate a target profile file.")
@click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")
def target_command(show_default: bool, check_path: str | None, debug: bool) -> None:
    """Print the built-in target profile, or validate one."""

    def body() -> int:
        from .errors import CompileError
        from .target import DEFAULT_TARGET_YAML

        if check_path:
            sources: dict[str, str] = {}
            try:
                text, name = _read_input(check_path)
                sources[name] = text
                _load_target(check_path)
            except CompileError as exc:
                emit_diagnostics(exc.diagnostics, sources, "text", to_stdout=False)
                return EXIT_INVALID
            click.echo(f"{check_path}: valid target profile", err=True)
            return EXIT_OK
        if not show_default:
            raise click.UsageError("give --default or --check FILE")
        sys.stdout.write(DEFAULT_TARGET_YAML)
        return EXIT_OK

    run_guarded(debug, body)


@main.command("schema")
@click.option("--target", "which", flag_value="target", help="The target profile's schema instead.")
@click.option("--spec", "which", flag_value="osmo-workflow", default=True, help="The OSMO spec's schema (default).")
def schema_command(which: str) -> None:
    """Print a JSON Schema (for editors: yaml-language-server, VS Code)."""
    from .schema import schema_text

    sys.stdout.write(schema_text(which))


if __name__ == "__main__":  # pragma: no cover
    main()
