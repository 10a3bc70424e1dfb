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
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@template_options
@report_options
def validate(
    files: tuple[str, ...],
    set_: tuple[str, ...],
    set_string: tuple[str, ...],
    set_env: tuple[str, ...],
    fmt: str,
    strict: bool,
    debug: bool,
) -> None:
    """Check OSMO specs and report every problem (exit 0 all valid, 1 any invalid)."""

    def body() -> int:
        from .errors import CompileError, Diagnostic
        from .pipeline import check_spec
        from .template import Variables

        sources: dict[str, str] = {}
        everything: list[Diagnostic] = []
        code = EXIT_OK
        for file in files:
            try:
                text, name = _read_input(file)
                sources[name] = text
                checked = check_spec(text, name, Variables(set_, set_string, set_env), spec_path=file, strict=strict)
            except CompileError as exc:
                everything += exc.diagnostics
                code = EXIT_INVALID
                continue
            everything += checked.warnings
            if fmt == "text":
                tasks = len(checked.workflow.tasks())
                groups = len(checked.workflow.groups)
                click.echo(
                    f"{file}: valid ({tasks} task{'s' if tasks != 1 else ''} in {groups} group"
                    f"{'s' if groups != 1 else ''})",
                    err=True,
                )
        emit_diagnostics(everything, sources, fmt, to_stdout=True)
        return code

    run_guarded(debug, body)


def _load_target(path: str | None) -> Any:
    """The target profile of --target (a file), or the built-in one."""
    from .target import default_target, load_target

    if path is None:
        return default_target()
    text, name = _read_input(path)
    return load_target(text, name)


@main.command("compile")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-o",
    "--output",
    "output",
    default="-",
    show_default=True,
    metavar="OUT",
    help="Write the manifest to OUT ('-': standard output). The file is replaced atomically. With several "
    "specs, a pattern with {dir} and {stem}, e.g. '{dir}/{stem}.argo.yaml'.",
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
    files: tuple[str, ...],
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
    """Compile OSMO specs into Argo manifests."""
    patterned = "{stem}" in output or "{dir}" in output
    if len(files) > 1 and not patterned:
        raise click.UsageError("several specs need -o with a {stem} pattern, e.g. -o '{dir}/{stem}.argo.yaml'")

    def body() -> int:
        from .compiler import compile_spec
        from .emit import write_atomically
        from .errors import CompileError
        from .template import Variables

        code = EXIT_OK
        target = None
        for file in files:
            out = _output_path(output, file) if patterned else output
            sources: dict[str, str] = {}
            try:
                text, name = _read_input(file)
                sources[name] = text
                target = target or _load_target(target_path)
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
                emit_diagnostics(exc.diagnostics, sources, fmt, to_stdout=out != "-")
                code = EXIT_INVALID
                continue
            emit_diagnostics(compiled.warnings, sources, fmt, to_stdout=out != "-")
            if check:
                code = max(code, _check_output(out, compiled.text))
            elif out == "-":
                sys.stdout.write(compiled.text)
                sys.stdout.flush()
            else:
                write_atomically(out, compiled.text)
        return code

    run_guarded(debug, body)


def _output_path(pattern: str, spec: str) -> str:
    directory, base = os.path.split(spec)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return pattern.replace("{dir}", directory or ".").replace("{stem}", stem)


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


@main.command("graph")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "graph_format",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid (renders in GitHub Markdown) or Graphviz DOT.",
)
@template_options
@click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")
def graph_command(
    file: str,
    graph_format: str,
    set_: tuple[str, ...],
    set_string: tuple[str, ...],
    set_env: tuple[str, ...],
    debug: bool,
) -> None:
    """Draw the workflow: groups, tasks (leads marked) and the data that flows between them."""

    def body() -> int:
        from .errors import CompileError
        from .graph import render
        from .pipeline import check_spec
        from .template import Variables

        sources: dict[str, str] = {}
        try:
            text, name = _read_input(file)
            sources[name] = text
            checked = check_spec(text, name, Variables(set_, set_string, set_env), spec_path=file)
        except CompileError as exc:
            emit_diagnostics(exc.diagnostics, sources, "text", to_stdout=False)
            return EXIT_INVALID
        # Warnings go to stderr like validate's, so stdout stays a clean diagram to pipe or paste.
        emit_diagnostics(checked.warnings, sources, "text", to_stdout=False)
        sys.stdout.write(render(checked.workflow, graph_format))
        return EXIT_OK

    run_guarded(debug, body)


EXIT_WORKFLOW_FAILED, EXIT_WORKFLOW_ERROR = 5, 6


@main.command("submit")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--manifest", is_flag=True, help="FILE is an already compiled manifest, not an OSMO spec.")
@click.option("--target", "target_path", type=click.Path(dir_okay=False), help="Target profile (YAML).")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    envvar="KUBECONFIG",
    help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).",
)
@click.option("--context", help="Kubeconfig context.")
@click.option("-n", "--namespace", help="Namespace (default: the manifest's, then the context's).")
@click.option(
    "--dry-run",
    "dry_run",
    type=click.Choice(["none", "server"]),
    default="none",
    show_default=True,
    help="server: let the API server validate without creating anything.",
)
@click.option(
    "--via",
    type=click.Choice(["kubernetes", "argo-server"]),
    default="kubernetes",
    show_default=True,
    help="Create through the Kubernetes API, or through the Argo Server's API.",
)
@click.option("--argo-server", "argo_server", metavar="URL", help="Argo Server URL (with --via argo-server).")
@click.option("--token", envvar="ARGO_TOKEN", help="Argo Server bearer token (default: $ARGO_TOKEN).")
@click.option("--insecure-skip-verify", is_flag=True, help="Do not verify the Argo Server's TLS certificate.")
@click.option("--output", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--wait", is_flag=True, help="Follow the workflow until it ends; the exit code is its result.")
@click.option("--request-timeout", type=float, default=30.0, show_default=True, help="Seconds per API request.")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Retries of a request that failed transiently (unreachable, timed out, 429, 5xx).",
)
@click.option(
    "--max-backoff",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    metavar="SECONDS",
    help="Longest wait between retries (jittered, doubling from 0.5 s; Retry-After is honoured up to 3x this).",
)
@template_options
@report_options
def submit_command(
    file: str,
    manifest: bool,
    target_path: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    dry_run: str,
    via: str,
    argo_server: str | None,
    token: str | None,
    insecure_skip_verify: bool,
    output_format: str,
    wait: bool,
    request_timeout: float,
    retries: int,
    max_backoff: float,
    set_: tuple[str, ...],
    set_string: tuple[str, ...],
    set_env: tuple[str, ...],
    fmt: str,
    strict: bool,
    debug: bool,
) -> None:
    """Compile an OSMO spec (or read a manifest) and create the Workflow on the cluster.

    Exit codes: 0 created (or, with --wait, succeeded), 1 invalid spec, 3 cluster failure,
    5 the workflow failed, 6 it errored, 130 interrupted while waiting (the workflow keeps running).
    """

    def body() -> int:
        import json as json_module

        from .errors import CompileError
        from .submit import Connection, SubmitError, submit, submit_via_argo_server

        if via == "argo-server" and not argo_server:
            raise click.UsageError("--via argo-server needs --argo-server URL")
        sources: dict[str, str] = {}
        try:
            text, name = _read_input(file)
            sources[name] = text
            target = _load_target(target_path)
            document = _manifest_from(
                text, name, file, manifest, target, set_, set_string, set_env, strict, sources, fmt
            )
        except CompileError as exc:
            emit_diagnostics(exc.diagnostics, sources, fmt, to_stdout=False)
            return EXIT_INVALID
        if document is None:
            return EXIT_INVALID
        connection = Connection(
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace or target.namespace,
            request_timeout=request_timeout,
            attempts=retries + 1,
            max_backoff=max_backoff,
        )
        try:
            if via == "argo-server":
                assert argo_server is not None
                created = submit_via_argo_server(
                    document,
                    argo_server,
                    token,
                    namespace or target.namespace or "default",
                    verify_ssl=not insecure_skip_verify,
                    dry_run=dry_run == "server",
                )
            else:
                created = submit(document, connection, label_prefix=target.label_prefix, dry_run=dry_run == "server")
        except SubmitError as exc:
            click.echo(f"osmo2argo: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"  hint: {exc.hint}", err=True)
            return EXIT_CLUSTER
        link = f"{target.ui_url.rstrip('/')}/workflows/{created.namespace}/{created.name}" if target.ui_url else None
        if output_format == "json":
            click.echo(
                json_module.dumps(
                    {
                        "name": created.name,
                        "namespace": created.namespace,
                        "uid": created.uid,
                        "dryRun": created.dry_run,
                        "url": link,
                        "attempts": created.attempts,
                    }
                )
            )
        else:
            verb = "validated (dry run)" if created.dry_run else "created"
            click.echo(f"{created.namespace}/{created.name} {verb}" + (f"\n{link}" if link else ""))
        if not wait or created.dry_run:
            return EXIT_OK
        return _wait_for(created.name, created.namespace, connection)

    run_guarded(debug, body)


def _manifest_from(
    text: str,
    name: str,
    file: str,
    is_manifest: bool,
    target: Any,
    set_: tuple[str, ...],
    set_string: tuple[str, ...],
    set_env: tuple[str, ...],
    strict: bool,
    sources: dict[str, str],
    fmt: str,
) -> dict[str, Any] | None:
    """The manifest to submit: compiled from the spec, or read from a compiled file."""
    if is_manifest:
        from .source import load_yaml

        document, _ = load_yaml(text, name)
        data = document.data
        if not isinstance(data, dict) or data.get("kind") not in ("Workflow", "WorkflowTemplate"):
            click.echo(f"{name}: not an Argo Workflow or WorkflowTemplate manifest", err=True)
            return None
        return data
    from .compiler import compile_spec
    from .template import Variables

    compiled = compile_spec(
        text, name, target=target, variables=Variables(set_, set_string, set_env), strict=strict, spec_path=file
    )
    emit_diagnostics(compiled.warnings, sources, fmt, to_stdout=False)
    return compiled.manifest


def _wait_for(name: str, namespace: str, connection: Any) -> int:
    from .progress import Display
    from .submit import SubmitError, watch

    display = Display(lambda text: click.echo(text, nl=False, err=True), _colour(sys.stderr))
    phase = None
    try:
        for state in watch(name, connection, namespace):
            display.update(state)
            phase = (state.get("status") or {}).get("phase")
    except KeyboardInterrupt:
        click.echo(f"\nstopped watching; workflow {namespace}/{name} keeps running", err=True)
        return 130
    except SubmitError as exc:
        click.echo(f"osmo2argo: {exc.message}", err=True)
        return EXIT_CLUSTER
    if phase == "Succeeded":
        return EXIT_OK
    return EXIT_WORKFLOW_FAILED if phase == "Failed" else EXIT_WORKFLOW_ERROR


if __name__ == "__main__":  # pragma: no cover
    main()
