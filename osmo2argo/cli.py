"""The `osmo2argo` command: options in, library calls, diagnostics and exit codes out.

Exit codes: 0 success, 1 invalid spec (or a stale manifest under --check), 2 usage error,
3 cluster failure (submit), 4 internal error (a bug: one line asking for a report; the traceback
only with --debug), 5/6 the submitted workflow failed/errored (submit --wait), 130 interrupted.
Commands parse their options into plain values and call the library; only this module touches
argv, stdin/stdout, colour and exit codes.

The command line is parsed with the standard library's argparse (click cost more start-up time
than the YAML parser), laid out as click did: `Usage:` and `Error:` lines for mistakes, the same
help pages. At import this module loads only argparse, os and sys; everything else is imported by
the function that needs it. `build_parser` is the one description of the command line: parsing,
the help pages and the shell completion scripts (`osmo2argo completion`) all read it.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn, TypeVar

    _Number = TypeVar("_Number", int, float)

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_CLUSTER, EXIT_BUG = 0, 1, 2, 3, 4
EXIT_WORKFLOW_FAILED, EXIT_WORKFLOW_ERROR, EXIT_INTERRUPTED = 5, 6, 130
BUG_REPORT = "https://github.com/osmo2argo/osmo2argo/issues"
PROG = "osmo2argo"
HELP_WIDTH = 100  # at most; less on a narrower terminal
# The variable click's completion scripts set; still answered, so existing shell set-ups keep working.
LEGACY_COMPLETE_VARIABLE = "_OSMO2ARGO_COMPLETE"


class UsageError(Exception):
    """A mistake in the command line: reported with the command's usage line, exit 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- output ------------------------------------------------------------------------------------------


def _colour(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return _isatty(stream)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Write a message to stdout (or stderr) and flush.

    Off a terminal, ANSI escape sequences are dropped (as click.echo did), so text from a spec, a
    file name or a cluster cannot drive a log viewer.
    """
    stream = sys.stderr if err else sys.stdout
    if nl:
        text += "\n"
    if "\x1b" in text and not _isatty(stream):
        import re  # already loaded by argparse

        text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", text)
    stream.write(text)
    stream.flush()


# -- the parser --------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """An argparse parser for one command (or the top level, whose commands are in `commands`).

    Mistakes raise UsageError instead of exiting; `format_help` lays the help out as click did.
    """

    def __init__(self, prog: str, arguments: str, description: str) -> None:
        super().__init__(
            prog=prog,
            usage=f"{prog} [OPTIONS]" + (f" {arguments}" if arguments else ""),
            description=description,
            add_help=False,  # -h/--help is an ordinary flag, so `--help` wins over a bad value, as with click
            allow_abbrev=False,  # `--ki` is not `--kind`
            formatter_class=_Formatter,
        )
        self.commands: dict[str, Parser] = {}

    def add_command(self, name: str, handler: Callable[[argparse.Namespace], int], arguments: str = "") -> Parser:
        """A sub-command; its help text is the handler's docstring."""
        command = Parser(f"{self.prog} {name}", arguments, handler.__doc__ or "")
        command.set_defaults(handler=handler)
        self.commands[name] = command
        return command

    @property
    def actions(self) -> list[argparse.Action]:
        """The options and arguments, in the order they were added (the help and completion read them)."""
        return list(self._actions)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def format_help(self) -> str:
        return _render_help(self)


class _Formatter(argparse.HelpFormatter):
    """argparse builds one for every add_argument; a fixed width spares it importing shutil for the terminal size."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=HELP_WIDTH)


def file_path(value: str) -> str:
    """An input file path ('-' for stdin where the command reads it); an existing directory is refused."""
    if value != "-" and os.path.isdir(value):
        raise argparse.ArgumentTypeError(f"File {value!r} is a directory.")
    return value


def output_path(value: str) -> str:
    """A file to write, or a pattern of them (shell completion offers file names)."""
    return value


def _non_negative(convert: Callable[[str], _Number], kind: str) -> Callable[[str], _Number]:
    def parse(value: str) -> _Number:
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a valid {kind}.") from None
        if number < 0:
            raise argparse.ArgumentTypeError(f"{number} is not in the range x>=0.")
        return number

    return parse


_count = _non_negative(int, "integer")
_seconds = _non_negative(float, "float")


def _help_option(parser: Parser) -> None:
    parser.add_argument("-h", "--help", action="store_true", help="Show this message and exit.")


def _template_options(parser: Parser) -> None:
    parser.add_argument(
        "--files-root",
        metavar="DIR",
        help="Directory that files[].localpath may read from (default: the spec's directory).",
    )
    parser.add_argument(
        "--set-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Add an environment variable to every task.",
    )
    parser.add_argument(
        "--set-string", action="append", default=[], metavar="NAME=VALUE", help="Set a template variable as a string."
    )
    parser.add_argument(
        "--set",
        dest="set_",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Set a template variable (read as int, then float, then string).",
    )


def _debug_option(parser: Parser) -> None:
    parser.add_argument("--debug", action="store_true", help="Show a traceback for internal errors.")


def _report_options(parser: Parser) -> None:
    _debug_option(parser)
    parser.add_argument("--strict", action="store_true", help="Treat warnings as errors.")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=["text", "json", "github"],
        default="text",
        help="How to print diagnostics.  [default: %(default)s]",
    )


def build_parser(only: str | None = None) -> Parser:
    """The command line: the top-level parser, with the commands' parsers in `.commands`.

    `only` names the one command to build (a run builds just the command it runs); no name, or an
    unknown one, builds every command.
    """
    top = Parser(PROG, "COMMAND [ARGS]...", "Compile NVIDIA OSMO workflow specs into Argo Workflows manifests.")
    top.add_argument("--version", action="store_true", help="Show the version and exit.")
    _help_option(top)
    commands: dict[str, tuple[Callable[[argparse.Namespace], int], str, Callable[[Parser], None]]] = {
        "validate": (_validate, "FILES...", _validate_options),
        "compile": (_compile, "FILES...", _compile_options),
        "target": (_target, "", _target_options),
        "schema": (_schema, "", _schema_options),
        "graph": (_graph, "FILE", _graph_options),
        "submit": (_submit, "FILE", _submit_options),
        "completion": (_completion, "SHELL", _completion_options),
    }
    for name, (handler, arguments, add_options) in commands.items():
        if only is None or only == name or only not in commands:
            add_options(top.add_command(name, handler, arguments))
    return top


def _validate_options(validate: Parser) -> None:
    validate.add_argument("files", nargs="*", type=file_path, metavar="FILES")
    _template_options(validate)
    _report_options(validate)
    _help_option(validate)


def _compile_options(compile_: Parser) -> None:
    compile_.add_argument("files", nargs="*", type=file_path, metavar="FILES")
    compile_.add_argument(
        "-o",
        "--output",
        type=output_path,
        default="-",
        metavar="OUT",
        help="Write the manifest to OUT ('-': standard output). The file is replaced atomically. With several "
        "specs, a pattern with {dir} and {stem}, e.g. '{dir}/{stem}.argo.yaml'.  [default: %(default)s]",
    )
    compile_.add_argument("--target", dest="target_path", type=file_path, metavar="FILE", help="Target profile (YAML).")
    compile_.add_argument(
        "--kind",
        choices=["workflow", "workflowtemplate"],
        default="workflow",
        help="Emit a Workflow or a WorkflowTemplate.  [default: %(default)s]",
    )
    compile_.add_argument(
        "--check", action="store_true", help="Do not write: exit 1 with a diff when OUT is not up to date."
    )
    _template_options(compile_)
    _report_options(compile_)
    _help_option(compile_)


def _target_options(target: Parser) -> None:
    target.add_argument(
        "--default", dest="show_default", action="store_true", help="Print the built-in target profile."
    )
    target.add_argument(
        "--check", dest="check_path", type=file_path, metavar="FILE", help="Validate a target profile file."
    )
    _debug_option(target)
    _help_option(target)


def _schema_options(schema: Parser) -> None:
    schema.add_argument(
        "--target",
        dest="which",
        action="store_const",
        const="target",
        default="osmo-workflow",
        help="The target profile's schema instead.",
    )
    schema.add_argument(
        "--spec",
        dest="which",
        action="store_const",
        const="osmo-workflow",
        default="osmo-workflow",
        help="The OSMO spec's schema (default).",
    )
    _help_option(schema)


def _graph_options(graph: Parser) -> None:
    graph.add_argument("file", nargs="?", type=file_path, metavar="FILE")
    graph.add_argument(
        "--format",
        dest="graph_format",
        choices=["mermaid", "dot"],
        default="mermaid",
        help="Mermaid (renders in GitHub Markdown) or Graphviz DOT.  [default: %(default)s]",
    )
    _template_options(graph)
    _debug_option(graph)
    _help_option(graph)


def _submit_options(submit: Parser) -> None:
    submit.add_argument("file", nargs="?", type=file_path, metavar="FILE")
    submit.add_argument(
        "--manifest", action="store_true", help="FILE is an already compiled manifest, not an OSMO spec."
    )
    submit.add_argument("--target", dest="target_path", type=file_path, metavar="FILE", help="Target profile (YAML).")
    submit.add_argument(
        "--kubeconfig",
        type=file_path,
        default=os.environ.get("KUBECONFIG") or None,
        metavar="FILE",
        help="Kubeconfig file (default: $KUBECONFIG; inside a pod, the pod's service account; else ~/.kube/config).",
    )
    submit.add_argument("--context", metavar="TEXT", help="Kubeconfig context.")
    submit.add_argument(
        "-n", "--namespace", metavar="TEXT", help="Namespace (default: the manifest's, then the context's)."
    )
    submit.add_argument(
        "--dry-run",
        choices=["none", "server"],
        default="none",
        help="server: let the API server validate without creating anything.  [default: %(default)s]",
    )
    submit.add_argument(
        "--via",
        choices=["kubernetes", "argo-server"],
        default="kubernetes",
        help="Create through the Kubernetes API, or through the Argo Server's API.  [default: %(default)s]",
    )
    submit.add_argument("--argo-server", metavar="URL", help="Argo Server URL (with --via argo-server).")
    submit.add_argument(
        "--token",
        default=os.environ.get("ARGO_TOKEN") or None,
        metavar="TEXT",
        help="Argo Server bearer token (default: $ARGO_TOKEN).",
    )
    submit.add_argument(
        "--insecure-skip-verify", action="store_true", help="Do not verify the Argo Server's TLS certificate."
    )
    submit.add_argument(
        "--output", dest="output_format", choices=["text", "json"], default="text", help="[default: %(default)s]"
    )
    submit.add_argument(
        "--wait", action="store_true", help="Follow the workflow until it ends; the exit code is its result."
    )
    submit.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        metavar="FLOAT",
        help="Seconds per API request.  [default: %(default)s]",
    )
    submit.add_argument(
        "--retries",
        type=_count,
        default=5,
        metavar="INTEGER RANGE",
        help="Retries of a request that failed transiently (unreachable, timed out, 429, 5xx).  "
        "[default: %(default)s; x>=0]",
    )
    submit.add_argument(
        "--max-backoff",
        type=_seconds,
        default=20.0,
        metavar="SECONDS",
        help="Longest wait between retries (jittered, doubling from 0.5 s; Retry-After is honoured up to 3x "
        "this).  [default: %(default)s; x>=0]",
    )
    _template_options(submit)
    _report_options(submit)
    _help_option(submit)


def _completion_options(completion: Parser) -> None:
    completion.add_argument("shell", nargs="?", choices=["bash", "zsh", "fish"], metavar="SHELL")
    _help_option(completion)


def parse(parser: Parser, args: Sequence[str]) -> argparse.Namespace | None:
    """A command's options and arguments; None when -h/--help asked for the help page (printed).

    Options and arguments may come in any order. As with click, an unknown option is an error even
    next to --help, and --help wins over any other mistake.
    """
    args = _attach_values(parser, args)
    options = args[: args.index("--")] if "--" in args else args
    wants_help = "-h" in options or "--help" in options
    try:
        namespace, extras = parser.parse_known_intermixed_args(args)
    except UsageError:
        if not wants_help:
            raise
        namespace, extras = None, []
    unknown = [arg for arg in extras if arg.startswith("-") and arg != "-"]
    if unknown:
        raise UsageError(_no_such_option(parser, unknown[0]))
    if wants_help or namespace is None:
        _echo(parser.format_help(), nl=False)
        return None
    if extras:
        raise UsageError(f"Got unexpected extra argument{'s' if len(extras) > 1 else ''} ({' '.join(extras)})")
    for action in parser.actions:
        if not action.option_strings and getattr(namespace, action.dest) in (None, []):
            raise UsageError(f"Missing argument '{action.metavar}{'...' if action.nargs == '*' else ''}'.")
    return namespace


def _attach_values(parser: Parser, args: Sequence[str]) -> list[str]:
    """`--opt VALUE` as `--opt=VALUE`: an option's value is the next word even if it starts with '-' (as with click)."""
    takes_value = {flag for action in parser.actions if action.nargs != 0 for flag in action.option_strings}
    attached: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--":
            attached += [word, *words]
            break
        value = next(words, None) if word in takes_value else None
        attached.append(word if value is None else f"{word}={value}")
    return attached


def _no_such_option(parser: Parser, arg: str) -> str:
    name = arg.split("=", 1)[0] if arg.startswith("--") else arg
    known = [flag for action in parser.actions for flag in action.option_strings if flag.startswith("--")]
    return f"No such option {name!r}." + _did_you_mean(name, known)


def _did_you_mean(word: str, possibilities: list[str]) -> str:
    from difflib import get_close_matches

    matches = sorted(get_close_matches(word, possibilities))
    if not matches:
        return ""
    listed = ", ".join(repr(match) for match in matches)
    return f" Did you mean {listed}?" if len(matches) == 1 else f" (Did you mean one of: {listed}?)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    legacy = os.environ.get(LEGACY_COMPLETE_VARIABLE)
    if legacy:
        return _legacy_completion(legacy)
    # Options before the command are the top level's (`osmo2argo -- COMMAND ...` is allowed too). A
    # plain `osmo2argo COMMAND ...` builds the parser of that command only; the top level's help
    # and its errors need them all.
    leading = next((i for i, arg in enumerate(args) if arg in ("-", "--") or not arg.startswith("-")), len(args))
    at = leading + 1 if args[leading : leading + 1] == ["--"] else leading
    top = build_parser(args[at] if leading == 0 and at < len(args) else None)
    parser = top
    try:
        options = parse(top, args[:leading])
        if options is None:
            return EXIT_OK
        if options.version:
            _echo(f"{PROG}, version {__version__}")
            return EXIT_OK
        if at == len(args):
            _echo(top.format_help(), err=True, nl=False)
            return EXIT_USAGE
        name = args[at]
        if name not in top.commands:
            raise UsageError(f"No such command {name!r}." + _did_you_mean(name, sorted(top.commands)))
        parser = top.commands[name]
        namespace = parse(parser, args[at + 1 :])
        if namespace is None:
            return EXIT_OK
        code: int = namespace.handler(namespace)
    except UsageError as exc:
        _echo(f"Usage: {parser.usage}\nTry '{parser.prog} --help' for help.\n\nError: {exc.message}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    return code


def entry() -> NoReturn:
    """The `osmo2argo` console script."""
    sys.exit(main())


# -- help pages ----------------------------------------------------------------------------------------


def _render_help(parser: Parser) -> str:
    """The help page in click's layout: usage, description, options (and the commands)."""
    import inspect
    import shutil

    width = max(min(shutil.get_terminal_size().columns, HELP_WIDTH) - 2, 50)
    out = [f"Usage: {parser.usage}\n"]
    if parser.description:
        out.append("\n" + _wrap(inspect.cleandoc(parser.description), width, "  ") + "\n")
    rows = []
    for action in parser.actions:
        if not action.option_strings:
            continue
        flags = ", ".join(sorted(action.option_strings, key=lambda flag: len(flag) - len(flag.lstrip("-"))))
        if action.nargs != 0:
            flags += " " + (
                action.metavar if isinstance(action.metavar, str) else f"[{'|'.join(action.choices or ())}]"
            )
        rows.append((flags, expand_help(action)))
    out.append("\nOptions:\n" + _definition_list(rows, width))
    if parser.commands:
        limit = width - 6 - max(len(name) for name in parser.commands)
        commands = [(name, short_help(command, limit)) for name, command in sorted(parser.commands.items())]
        out.append("\nCommands:\n" + _definition_list(commands, width))
    return "".join(out)


def expand_help(action: argparse.Action) -> str:
    """An option's help text with its default filled in."""
    return (action.help or "") % {"default": action.default}


def short_help(parser: Parser, limit: int = 80) -> str:
    """The first sentence of a command's description, shortened to `limit` characters (click's rule)."""
    words = (parser.description or "").partition("\n\n")[0].split()
    for i, word in enumerate(words):
        if word.endswith(".") and (i == len(words) - 1 or not words[i + 1][0].islower()):
            words = words[: i + 1]
            break
    text = " ".join(words)
    if len(text) <= limit:
        return text
    import textwrap

    return textwrap.shorten(text, limit, placeholder="...", break_on_hyphens=False)


def _wrap(text: str, width: int, indent: str = "") -> str:
    """Rewrap each paragraph (separated by blank lines) to `width`."""
    import textwrap

    paragraphs = [" ".join(line.strip() for line in block.splitlines()) for block in text.split("\n\n")]
    wrapper = textwrap.TextWrapper(width, initial_indent=indent, subsequent_indent=indent, replace_whitespace=False)
    return "\n\n".join(wrapper.fill(paragraph) for paragraph in paragraphs if paragraph)


def _definition_list(rows: list[tuple[str, str]], width: int) -> str:
    first_col = min(max(len(term) for term, _ in rows), 30) + 2
    lines = []
    for term, text in rows:
        line = f"  {term}"
        if not text:
            lines.append(line)
            continue
        wrapped = _wrap(text, max(width - first_col - 2, 10)).splitlines()
        if len(term) <= first_col - 2:
            lines.append(line + " " * (first_col - len(term)) + wrapped[0])
        else:
            lines += [line, " " * (first_col + 2) + wrapped[0]]
        lines += [" " * (first_col + 2) + more for more in wrapped[1:]]
    return "".join(line + "\n" for line in lines)


# -- running a command ---------------------------------------------------------------------------------


def _read_input(path: str) -> tuple[str, str]:
    """(text, display name) of a spec file or of stdin for '-'; CompileError if unreadable."""
    from .errors import CompileError, Diagnostic, Span
    from .source import MAX_SOURCE_BYTES, decode_source

    # Never more than the limit and one byte: decode_source then refuses the file (E102), and an
    # endless input (/dev/zero, a stream) cannot exhaust memory first.
    if path == "-":
        return decode_source(sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1), "<stdin>"), "<stdin>"
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise CompileError([Diagnostic("E109", f"cannot read {path}: {exc.strerror}", Span(path, 1, 1))]) from None
    return decode_source(raw, path), path


def _variables(options: argparse.Namespace) -> Any:
    """The template variables of --set, --set-string and --set-env."""
    from .template import Variables

    return Variables(tuple(options.set_), tuple(options.set_string), tuple(options.set_env))


def emit_diagnostics(diagnostics: Sequence[Any], sources: dict[str, str], fmt: str, *, to_stdout: bool) -> None:
    """Print diagnostics: JSON on stdout for scripts (stderr when stdout is the manifest), text and
    annotations on stderr."""
    from . import report

    if fmt == "json":  # on stderr when stdout carries the manifest
        _echo(report.render(diagnostics, sources, "json"), nl=False, err=not to_stdout)
        return
    if not diagnostics:
        return
    stream = sys.stderr
    text = report.render(diagnostics, sources, fmt, colour=fmt == "text" and _colour(stream))  # type: ignore[arg-type]
    _echo(text, nl=False, err=True)
    if fmt == "text":
        _echo(report.summary(diagnostics), err=True)


def run_guarded(debug: bool, body: Callable[[], int]) -> int:
    """Run a command body; map bad input to 1 and any unexpected exception to 4 (usage errors pass)."""
    from .errors import CompileError

    try:
        return body()
    except CompileError as exc:  # a body that did not print its own diagnostics
        emit_diagnostics(exc.diagnostics, {}, "text", to_stdout=False)
        return EXIT_INVALID
    except UsageError:
        raise
    except KeyboardInterrupt:
        _echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if debug:
            import traceback

            traceback.print_exc()
        _echo(
            f"osmo2argo: internal error ({type(exc).__name__}); this is a bug, please report it at {BUG_REPORT} "
            "with the input (run with --debug for the traceback)",
            err=True,
        )
        return EXIT_BUG


# -- the commands (each docstring is the command's help text) ------------------------------------------


def _validate(options: argparse.Namespace) -> int:
    """Check OSMO specs and report every problem (exit 0 all valid, 1 any invalid)."""
    files: list[str] = options.files
    fmt: str = options.fmt

    def body() -> int:
        from .errors import CompileError, Diagnostic
        from .pipeline import check_spec

        sources: dict[str, str] = {}
        everything: list[Diagnostic] = []
        code = EXIT_OK
        for file in files:
            try:
                text, name = _read_input(file)
                sources[name] = text
                checked = check_spec(
                    text,
                    name,
                    _variables(options),
                    spec_path=file,
                    strict=options.strict,
                    files_root=options.files_root,
                )
            except CompileError as exc:
                everything += exc.diagnostics
                code = EXIT_INVALID
                continue
            everything += checked.warnings
            if fmt == "text":
                tasks = len(checked.workflow.tasks())
                groups = len(checked.workflow.groups)
                _echo(
                    f"{file}: valid ({tasks} task{'s' if tasks != 1 else ''} in {groups} group"
                    f"{'s' if groups != 1 else ''})",
                    err=True,
                )
        emit_diagnostics(everything, sources, fmt, to_stdout=True)
        return code

    return run_guarded(options.debug, body)


def _load_target(path: str | None) -> Any:
    """The target profile of --target (a file), or the built-in one."""
    from .target import default_target, load_target

    if path is None:
        return default_target()
    text, name = _read_input(path)
    return load_target(text, name)


def _compile(options: argparse.Namespace) -> int:
    """Compile OSMO specs into Argo manifests."""
    files: list[str] = options.files
    output: str = options.output
    fmt: str = options.fmt
    patterned = "{stem}" in output or "{dir}" in output
    if len(files) > 1 and not patterned:
        raise UsageError("several specs need -o with a {stem} pattern, e.g. -o '{dir}/{stem}.argo.yaml'")

    def body() -> int:
        from .compiler import compile_spec
        from .emit import write_atomically
        from .errors import CompileError

        code = EXIT_OK
        target = None
        for file in files:
            out = _output_path(output, file) if patterned else output
            sources: dict[str, str] = {}
            try:
                text, name = _read_input(file)
                sources[name] = text
                target = target or _load_target(options.target_path)
                compiled = compile_spec(
                    text,
                    name,
                    target=target,
                    variables=_variables(options),
                    kind=options.kind,
                    strict=options.strict,
                    spec_path=file,
                    files_root=options.files_root,
                )
            except CompileError as exc:
                emit_diagnostics(exc.diagnostics, sources, fmt, to_stdout=out != "-")
                code = EXIT_INVALID
                continue
            emit_diagnostics(compiled.warnings, sources, fmt, to_stdout=out != "-")
            if options.check:
                code = max(code, _check_output(out, compiled.text))
            elif out == "-":
                sys.stdout.write(compiled.text)
                sys.stdout.flush()
            else:
                write_atomically(out, compiled.text)
        return code

    return run_guarded(options.debug, body)


def _output_path(pattern: str, spec: str) -> str:
    directory, base = os.path.split(spec)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return pattern.replace("{dir}", directory or ".").replace("{stem}", stem)


def _check_output(path: str, expected: str) -> int:
    import difflib

    if path == "-":
        raise UsageError("--check needs -o FILE: the manifest to compare with")
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = ""
    if current == expected:
        _echo(f"{path}: up to date", err=True)
        return EXIT_OK
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{path} (checked in)",
        tofile=f"{path} (compiled now)",
    )
    sys.stdout.writelines(diff)
    _echo(f"{path}: stale; compile again and commit the result", err=True)
    return EXIT_INVALID


def _target(options: argparse.Namespace) -> int:
    """Print the built-in target profile, or validate one."""
    check_path: str | None = options.check_path
    if not check_path and not options.show_default:
        raise UsageError("give --default or --check FILE")

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
            _echo(f"{check_path}: valid target profile", err=True)
            return EXIT_OK
        sys.stdout.write(DEFAULT_TARGET_YAML)
        return EXIT_OK

    return run_guarded(options.debug, body)


def _schema(options: argparse.Namespace) -> int:
    """Print a JSON Schema (for editors: yaml-language-server, VS Code)."""

    def body() -> int:
        from .schema import schema_text

        sys.stdout.write(schema_text(options.which))
        return EXIT_OK

    return run_guarded(False, body)


def _graph(options: argparse.Namespace) -> int:
    """Draw the workflow: groups, tasks (leads marked) and the data that flows between them."""
    file: str = options.file

    def body() -> int:
        from .errors import CompileError
        from .graph import render
        from .pipeline import check_spec

        sources: dict[str, str] = {}
        try:
            text, name = _read_input(file)
            sources[name] = text
            checked = check_spec(text, name, _variables(options), spec_path=file, files_root=options.files_root)
        except CompileError as exc:
            emit_diagnostics(exc.diagnostics, sources, "text", to_stdout=False)
            return EXIT_INVALID
        # Warnings go to stderr like validate's, so stdout stays a clean diagram to pipe or paste.
        emit_diagnostics(checked.warnings, sources, "text", to_stdout=False)
        sys.stdout.write(render(checked.workflow, options.graph_format))
        return EXIT_OK

    return run_guarded(options.debug, body)


def _submit(options: argparse.Namespace) -> int:
    """Compile an OSMO spec (or read a manifest) and create the Workflow on the cluster.

    Exit codes: 0 created (or, with --wait, succeeded), 1 invalid spec, 3 cluster failure,
    5 the workflow failed, 6 it errored, 130 interrupted while waiting (the workflow keeps running).
    """
    file: str = options.file
    via: str = options.via
    argo_server: str | None = options.argo_server
    namespace: str | None = options.namespace
    dry_run = options.dry_run == "server"
    fmt: str = options.fmt
    if via == "argo-server" and not argo_server:
        raise UsageError("--via argo-server needs --argo-server URL")

    def body() -> int:
        import json

        from .errors import CompileError
        from .submit import Connection, SubmitError, submit, submit_via_argo_server

        sources: dict[str, str] = {}
        try:
            text, name = _read_input(file)
            sources[name] = text
            target = _load_target(options.target_path)
            document = _manifest_from(text, name, file, options, target, sources)
        except CompileError as exc:
            emit_diagnostics(exc.diagnostics, sources, fmt, to_stdout=False)
            return EXIT_INVALID
        if document is None:
            return EXIT_INVALID
        connection = Connection(
            kubeconfig=options.kubeconfig,
            context=options.context,
            namespace=namespace or target.namespace,
            request_timeout=options.request_timeout,
            attempts=options.retries + 1,
            max_backoff=options.max_backoff,
        )
        try:
            if via == "argo-server":
                assert argo_server is not None
                created = submit_via_argo_server(
                    document,
                    argo_server,
                    options.token,
                    namespace or target.namespace or "default",
                    verify_ssl=not options.insecure_skip_verify,
                    dry_run=dry_run,
                    request_timeout=options.request_timeout,
                )
            else:
                created = submit(document, connection, label_prefix=target.label_prefix, dry_run=dry_run)
        except SubmitError as exc:
            _echo(f"osmo2argo: {exc.message}", err=True)
            if exc.hint:
                _echo(f"  hint: {exc.hint}", err=True)
            return EXIT_CLUSTER
        link = f"{target.ui_url.rstrip('/')}/workflows/{created.namespace}/{created.name}" if target.ui_url else None
        if options.output_format == "json":
            _echo(
                json.dumps(
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
            _echo(f"{created.namespace}/{created.name} {verb}" + (f"\n{link}" if link else ""))
        if not options.wait or created.dry_run:
            return EXIT_OK
        return _wait_for(created.name, created.namespace, connection)

    return run_guarded(options.debug, body)


def _manifest_from(
    text: str, name: str, file: str, options: argparse.Namespace, target: Any, sources: dict[str, str]
) -> dict[str, Any] | None:
    """The manifest to submit: compiled from the spec, or read from a compiled file."""
    if options.manifest:
        from .source import load_yaml

        document, _ = load_yaml(text, name)
        data = document.data
        if not isinstance(data, dict) or data.get("kind") not in ("Workflow", "WorkflowTemplate"):
            _echo(f"{name}: not an Argo Workflow or WorkflowTemplate manifest", err=True)
            return None
        return data
    from .compiler import compile_spec

    compiled = compile_spec(
        text,
        name,
        target=target,
        variables=_variables(options),
        strict=options.strict,
        spec_path=file,
        files_root=options.files_root,
    )
    emit_diagnostics(compiled.warnings, sources, options.fmt, to_stdout=False)
    return compiled.manifest


def _wait_for(name: str, namespace: str, connection: Any) -> int:
    from .progress import Display
    from .submit import SubmitError, watch

    display = Display(lambda text: _echo(text, nl=False, err=True), _colour(sys.stderr))
    phase = None
    try:
        for state in watch(name, connection, namespace):
            display.update(state)
            phase = (state.get("status") or {}).get("phase")
    except KeyboardInterrupt:
        _echo(f"\nstopped watching; workflow {namespace}/{name} keeps running", err=True)
        return EXIT_INTERRUPTED
    except SubmitError as exc:
        _echo(f"osmo2argo: {exc.message}", err=True)
        return EXIT_CLUSTER
    if phase == "Succeeded":
        return EXIT_OK
    return EXIT_WORKFLOW_FAILED if phase == "Failed" else EXIT_WORKFLOW_ERROR


def _completion(options: argparse.Namespace) -> int:
    """Print a shell completion script for bash, zsh or fish.

    bash: add `eval "$(osmo2argo completion bash)"` to ~/.bashrc; zsh: the same with zsh in
    ~/.zshrc; fish: `osmo2argo completion fish > ~/.config/fish/completions/osmo2argo.fish`.
    """
    from .completion import script

    _echo(script(build_parser(), options.shell), nl=False)
    return EXIT_OK


def _legacy_completion(request: str) -> int:
    """Answer click's `_OSMO2ARGO_COMPLETE=bash_source osmo2argo` (and zsh_source, fish_source)."""
    shell, _, what = request.partition("_")
    if what == "source" and shell in ("bash", "zsh", "fish"):
        from .completion import script

        _echo(script(build_parser(), shell), nl=False)
        return EXIT_OK
    # A completion script saved from an older osmo2argo asks for completions this way.
    _echo(f"osmo2argo: regenerate the shell completion script: osmo2argo completion {shell or 'bash'}", err=True)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover - `python -m osmo2argo.cli`
    # Run the module under its own name: as __main__ it would be a second copy with its own classes
    # and functions, which `osmo2argo.completion` (importing osmo2argo.cli) would not recognise.
    from osmo2argo.cli import entry as _entry

    _entry()
