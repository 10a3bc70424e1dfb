"""OSMO's templating, exactly: top-level sections, default-values, --set, token shielding, Jinja.

OSMO (src/utils/job/workflow.py `TemplateSpec.load_template_with_variables`) splits the file into
top-level sections with a regular expression, loads `default-values` with `yaml.safe_load`,
applies `--set` (int, then float, then string) and `--set-string`, hides the exact no-space forms
of its own tokens from Jinja, and renders only the `workflow` section in a sandboxed Jinja
environment where an undefined variable is an error. This module does the same, and bounds the
rendering in a forked child process (time, memory and output size), so a hostile template ends in
a diagnostic instead of a hung or exhausted compiler.

A section without Jinja markup is not rendered at all: for such text Jinja is the identity, and
skipping it keeps the common case free of Jinja's import and the child process. A section whose
only markup is `{{ name }}` of plain default-values is filled in directly (`substitute_names`),
with Jinja's exact output; everything else goes to Jinja.
"""

from __future__ import annotations

import bisect
import errno
import math
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from . import records
from .errors import CompileError, Diagnostic, Span
from .source import MAX_SOURCE_BYTES, Document, Locator, json_path, load_yaml

# OSMO's split is `^([a-zA-Z][a-zA-Z0-9_-]*):(.*?)(?=^[a-zA-Z][a-zA-Z0-9_-]*:|\Z)` (DOTALL, MULTILINE):
# each section runs from one column-0 key to the next. Finding the keys alone gives the same
# sections without the lazy scan, which tries the lookahead at every character (20 ms for 150 KB).
SECTION_START_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9_-]*):", re.MULTILINE)
ALLOWED_SECTIONS = ("workflow", "default-values", "version")
# OSMO shields only these exact forms (no spaces inside the braces) from Jinja.
SHIELDED_TOKEN_RE = re.compile(r"{{(uuid|workflow_id|output|input:[^}]+|host:[^}]+)}}")
JINJA_MARKERS = ("{{", "{%", "{#")

RENDER_TIME_LIMIT_S = 2.0  # CPU seconds of the render process (a busy machine does not shorten it)
RENDER_WALL_FACTOR = 5  # and, as a backstop, this many times as many seconds of wall-clock time
RENDER_MEMORY_LIMIT = 512 * 1024 * 1024
RENDER_OUTPUT_LIMIT = 16 * 1024 * 1024


@records.typed_equality
class Variables(NamedTuple):
    """What the user set on the command line (`--set`, `--set-string`, `--set-env`)."""

    set: Sequence[str] = ()
    set_string: Sequence[str] = ()
    set_env: Sequence[str] = ()


@records.typed_equality
class Rendered(NamedTuple):
    """The rendered `workflow` section, loaded, plus how to map its lines back to the source."""

    document: Document
    source_map: SourceMap
    warnings: list[Diagnostic]


class SourceMap:
    """Maps line numbers of the rendered text back to the template source, computed on demand.

    Spans from a rendered template carry `rendered_line`; `remap` turns their line numbers (in
    the rendered text) into the best matching source line. The alignment is a line diff, done
    once and only when a diagnostic needs it.
    """

    def __init__(self, file: str, source: str, rendered: str | None, line_offset: int) -> None:
        self.file = file
        self._source = source
        self._rendered = rendered
        self._offset = line_offset
        self._lines: list[int] | None = None
        self._split_source: list[str] | None = None

    def _mapping(self) -> list[int]:
        if self._lines is None:
            assert self._rendered is not None
            src = self._source_lines()
            out = self._rendered.split("\n")
            mapping: list[int | None] = [None] * len(out)
            import difflib  # only when a diagnostic of a rendered template needs its source line

            matcher = difflib.SequenceMatcher(None, src, out, autojunk=False)
            for tag, i1, _, j1, j2 in matcher.get_opcodes():
                if tag == "equal":
                    for j in range(j1, j2):
                        mapping[j] = i1 + (j - j1)
            # Lines a loop repeated or a variable changed: the source line whose literal parts
            # match, searching forward from the previous line (a loop's next pass jumps back).
            index = _LineIndex(src)
            cursor = 0
            for j, line in enumerate(out):
                found = mapping[j]
                if found is None:
                    found = index.nearest(line, cursor)
                    mapping[j] = found if found is not None else min(cursor, max(len(src) - 1, 0))
                    found = mapping[j]
                assert found is not None
                cursor = found
            self._lines = [m if m is not None else 0 for m in mapping]
        return self._lines

    def _source_lines(self) -> list[str]:
        if self._split_source is None:
            self._split_source = self._source.split("\n")
        return self._split_source

    def remap(self, span: Span | None) -> Span | None:
        if span is None or span.rendered_line is None or span.file != self.file or self._rendered is None:
            return span
        index = span.line - self._offset - 1
        mapping = self._mapping()
        if not 0 <= index < len(mapping):
            return span._replace(rendered_line=None)
        source_index = mapping[index]
        source_line = self._source_lines()[source_index] if self._source else ""
        rendered_line = span.rendered_line
        return Span(
            self.file,
            source_index + self._offset + 1,
            span.column,
            None if rendered_line == source_line else rendered_line,
        )

    def remap_all(self, diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
        return [d._replace(span=self.remap(d.span)) for d in diagnostics]


_JINJA_EXPRESSION = re.compile(r"{{.*?}}|{#.*?#}")
_JINJA_STATEMENT = re.compile(r"{%.*?%}")


def _skeleton(line: str) -> re.Pattern[str] | None:
    """A pattern for the lines a template line can render to (None for statement-only lines)."""
    if _JINJA_STATEMENT.search(line) and not _JINJA_STATEMENT.sub("", line).strip():
        return None
    parts = _JINJA_EXPRESSION.split(_JINJA_STATEMENT.sub("", line))
    return re.compile(".*?".join(re.escape(part) for part in parts), re.DOTALL)


class _LineIndex:
    """Source lines by what they can render to, for `nearest`: literal lines by their text (a dict
    lookup), template lines as patterns. Keeps mapping linear in the template's size when a loop
    repeats thousands of literal lines."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.literal: dict[str, list[int]] = {}
        self.patterns: list[tuple[int, re.Pattern[str]]] = []
        for number, line in enumerate(lines):
            if not any(marker in line for marker in JINJA_MARKERS):
                self.literal.setdefault(line, []).append(number)
                continue
            pattern = _skeleton(line)
            if pattern is not None:
                self.patterns.append((number, pattern))

    def nearest(self, line: str, cursor: int) -> int | None:
        """The first matching source line at or after `cursor`, else the closest one before it."""
        after = before = None
        literal = self.literal.get(line, [])
        at = bisect.bisect_left(literal, cursor)
        if at < len(literal):
            after = literal[at]
        if at > 0:
            before = literal[at - 1]
        for number, pattern in self.patterns:
            if after is not None and number >= after:
                break
            if pattern.fullmatch(line):
                if number >= cursor:
                    after = number
                    break
                before = number if before is None else max(before, number)
        return after if after is not None else before


@records.typed_equality
class _Section(NamedTuple):
    key: str
    text: str
    line: int  # 0-based line of the key in the file


def _check_size(text: str, file: str) -> None:
    """The size limit of decode_source, for callers that pass text (the library API)."""
    if len(text) * 4 <= MAX_SOURCE_BYTES:  # a character is at most four bytes of UTF-8
        return
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        raise CompileError(
            [
                Diagnostic(
                    "E102",
                    f"the spec is {size:,} bytes; the limit is {MAX_SOURCE_BYTES:,} bytes",
                    Span(file, 1, 1),
                    hint="split the workflow, or generate fewer tasks per spec",
                    quote=False,
                )
            ]
        )


def split_sections(text: str, file: str) -> tuple[dict[str, _Section], list[Diagnostic]]:
    """OSMO's top-level split: every column-0 key starts a section (`parse_workflow_spec`)."""
    sections: dict[str, _Section] = {}
    diagnostics: list[Diagnostic] = []
    line = counted_to = 0
    starts = list(SECTION_START_RE.finditer(text))
    for number, match in enumerate(starts):
        key = match.group(1)
        end = starts[number + 1].start() if number + 1 < len(starts) else len(text)
        line += text.count("\n", counted_to, match.start())  # from the previous key: linear in the text
        counted_to = match.start()
        span = Span(file, line + 1, 1)
        if key not in ALLOWED_SECTIONS:
            diagnostics.append(
                Diagnostic(
                    "E110",
                    f'Unknown top-level key "{key}" found in the workflow spec.',
                    span,
                    f"$.{key}",
                    hint="the top level holds only workflow, default-values and version",
                )
            )
            continue
        if key in sections:
            diagnostics.append(
                Diagnostic(
                    "E111",
                    f'Duplicate top-level key "{key}" found in the workflow spec.',
                    span,
                    f"$.{key}",
                    hint=f"merge the two {key} sections (the first is at line {sections[key].line + 1})",
                )
            )
            continue
        sections[key] = _Section(key, text[match.start() : end], line)
    if "workflow" not in sections and not diagnostics:
        diagnostics.append(
            Diagnostic(
                "E112",
                "Workflow spec not found.",
                Span(file, 1, 1),
                hint="a spec starts with a top-level 'workflow:' key at column 0",
                quote=False,  # the file is not a spec: its first line could be anything, even secrets
            )
        )
    return sections, diagnostics


def _section_locator(file: str, line: int) -> Locator:
    def locate(row: int, column: int) -> Span:
        return Span(file, line + row + 1, column + 1)

    return locate


def _load_section(section: _Section, file: str) -> tuple[Any, Document, list[Diagnostic]]:
    document, warnings = load_yaml(section.text, file, _section_locator(file, section.line))
    data = document.data
    value = data.get(section.key) if isinstance(data, dict) else None
    return value, document, warnings


def check_version(section: _Section | None, file: str) -> list[Diagnostic]:
    """`version` must be 2 (OSMO's `VersionedWorkflowSpec.validate_version`)."""
    if section is None:
        return []
    value, document, warnings = _load_section(section, file)
    span = document.span((section.key,))
    ok = False
    if isinstance(value, bool):
        ok = False
    elif isinstance(value, float):
        ok = value.is_integer() and int(value) == 2
    elif isinstance(value, str):
        try:
            ok = int(value) == 2
        except ValueError:
            ok = False
    elif isinstance(value, int):
        ok = value == 2
    if ok:
        return warnings
    return [
        *warnings,
        Diagnostic(
            "E113",
            f"Unsupported workflow version: {value}.",
            span,
            "$.version",
            hint="OSMO accepts only 'version: 2' (or no version at all)",
        ),
    ]


def parse_set(assignments: Sequence[str], *, as_string: bool, option: str) -> tuple[dict[str, Any], list[Diagnostic]]:
    """`--set k=v`: int, then float, then string, as OSMO's server does; `--set-string`: string."""
    values: dict[str, Any] = {}
    diagnostics: list[Diagnostic] = []
    for item in assignments:
        if "=" not in item:
            diagnostics.append(
                Diagnostic("E114", f"{option} {item!r} is not of the form key=value", hint=f"write {option} name=value")
            )
            continue
        key, raw = item.split("=", 1)
        if as_string:
            values[key] = raw
            continue
        value: Any
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        values[key] = value
    return values, diagnostics


def parse_env(assignments: Sequence[str]) -> tuple[dict[str, str], list[Diagnostic]]:
    """`--set-env K=V`: environment variables added to every task (they win over the spec's)."""
    values: dict[str, str] = {}
    diagnostics: list[Diagnostic] = []
    for item in assignments:
        if "=" not in item or not item.split("=", 1)[0]:
            diagnostics.append(
                Diagnostic(
                    "E114",
                    f"--set-env {item!r} is not of the form NAME=value",
                    hint="write --set-env NAME=value",
                )
            )
            continue
        key, value = item.split("=", 1)
        values[key] = value
    return values, diagnostics


def shield_tokens(text: str) -> tuple[str, dict[str, str]]:
    """Hide OSMO's exact token forms from Jinja, as OSMO does before rendering."""
    tokens: dict[str, str] = {}
    names: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        field = match.group(1)
        name = names.get(field)
        if name is None:
            name = f"__osmo_token_{len(names)}"
            names[field] = name
            tokens[name] = "{{" + field + "}}"
        return "{{" + name + "}}"

    return SHIELDED_TOKEN_RE.sub(replace, text), tokens


def needs_jinja(shielded: str, tokens: Mapping[str, str]) -> bool:
    """True if Jinja would change the text (beyond restoring shielded tokens)."""
    rest = shielded
    for name in tokens:
        rest = rest.replace("{{" + name + "}}", "")
    return any(marker in rest for marker in JINJA_MARKERS)


def render_workflow(
    text: str,
    file: str,
    variables: Variables,
    *,
    time_limit: float = RENDER_TIME_LIMIT_S,
    memory_limit: int = RENDER_MEMORY_LIMIT,
) -> Rendered:
    """Split, render and load a spec's text; raise CompileError with every template problem."""
    _check_size(text, file)
    # YAML reads CR and CRLF as line breaks, and Jinja renders them as LF; one form for every
    # stage keeps the source and rendered lines comparable (CR-only files included).
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    sections, diagnostics = split_sections(text, file)
    diagnostics += check_version(sections.get("version"), file)
    defaults: Any = {}
    if "default-values" in sections:
        try:
            defaults, _, warnings = _load_section(sections["default-values"], file)
        except CompileError as exc:
            diagnostics += exc.diagnostics
            defaults = {}
        else:
            diagnostics += warnings
        if defaults is None:
            defaults = {}
        if not isinstance(defaults, dict):
            diagnostics.append(
                Diagnostic(
                    "E115",
                    "default-values must be a mapping of variable names to values",
                    Span(file, sections["default-values"].line + 1, 1),
                    "$.default-values",
                )
            )
            defaults = {}
    set_values, set_diags = parse_set(variables.set, as_string=False, option="--set")
    string_values, string_diags = parse_set(variables.set_string, as_string=True, option="--set-string")
    diagnostics += set_diags + string_diags
    if any(d.is_error for d in diagnostics) or "workflow" not in sections:
        raise CompileError(diagnostics)
    data: dict[str, Any] = {**defaults, **set_values, **string_values}

    section = sections["workflow"]
    shielded, tokens = shield_tokens(section.text)
    if not needs_jinja(shielded, tokens):
        source_map = SourceMap(file, section.text, None, section.line)
        document, warnings = load_yaml(section.text, file, _section_locator(file, section.line))
        return Rendered(document, source_map, diagnostics + warnings)

    rendered = substitute_names(shielded, {**data, **tokens}, RENDER_OUTPUT_LIMIT)
    if rendered is None:
        rendered = _render_bounded(
            shielded, {**data, **tokens}, file, section.line, time_limit, memory_limit, source=section.text
        )
    source_map = SourceMap(file, section.text, rendered, section.line)
    rendered_lines = rendered.split("\n")

    def locate(row: int, column: int) -> Span:
        line_text = rendered_lines[row] if row < len(rendered_lines) else ""
        return Span(file, section.line + row + 1, column + 1, line_text)

    try:
        document, warnings = load_yaml(rendered, file, locate)
    except CompileError as exc:
        raise CompileError([*diagnostics, *source_map.remap_all(exc.diagnostics)]) from None
    return Rendered(document, source_map, diagnostics + warnings)


# -- the fast path: templates that only name variables -----------------------------------------

# `{{ name }}` with spaces or tabs around the name: the only Jinja construct substitute_names takes.
_NAME_EXPRESSION_RE = re.compile(r"{{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*}}")
# Names Jinja's parser reads as literals or operators, never as variables.
_JINJA_WORDS = frozenset(
    ("true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else")
)
_PLAIN_VALUES = (str, int, float, bool, type(None))


def substitute_names(text: str, data: Mapping[str, Any], output_limit: int) -> str | None:
    """What Jinja renders for `text`, if its only markup is `{{ name }}` of defined plain values
    (text, numbers, booleans, null); None otherwise, and the caller renders with Jinja.

    Most templated specs only fill in default-values; this spares them Jinja's import (about
    100 ms) and the child process, with Jinja's exact output: str() of each value, and one
    trailing newline dropped (Jinja's keep_trailing_newline=False). Anything else (filters,
    attributes, blocks, comments, undefined names, a value that is a list or mapping) returns None,
    so every error and every other construct is Jinja's own."""
    pieces: list[str] = []
    size = 0
    start = 0
    for match in _NAME_EXPRESSION_RE.finditer(text):
        name = match.group(1)
        value = data.get(name, _MISSING)
        if name in _JINJA_WORDS or value is _MISSING or type(value) not in _PLAIN_VALUES:
            return None
        literal = text[start : match.start()]
        # A `{` just before: Jinja's expression would start one brace earlier (`{{{ a }}`).
        if literal.endswith("{") or any(marker in literal for marker in JINJA_MARKERS):
            return None
        try:
            rendered = str(value)
        except ValueError:  # an int beyond Python's str() digit limit: Jinja's error to report
            return None
        size += len(literal) + len(rendered)
        if size > output_limit:
            return None  # Jinja's path reports the size (E124)
        pieces += (literal, rendered)
        start = match.end()
    rest = text[start:]
    if any(marker in rest for marker in JINJA_MARKERS):
        return None
    pieces.append(rest[:-1] if rest.endswith("\n") else rest)
    return "".join(pieces)


_MISSING = object()


# -- bounded rendering --------------------------------------------------------------------------


def _render_in_child(text: str, data: dict[str, Any], output_limit: int) -> tuple[str, Any]:
    """Runs in the forked child: render with OSMO's sandbox; return ("ok", text) or an error."""
    import jinja2
    import jinja2.sandbox

    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    try:
        template = env.from_string(text)
        pieces: list[str] = []
        size = 0
        for piece in template.generate(data):
            size += len(piece)
            if size > output_limit:
                return ("too-large", None)
            pieces.append(piece)
        return ("ok", "".join(pieces))
    except jinja2.TemplateSyntaxError as exc:
        return ("syntax", (exc.message or str(exc), exc.lineno))
    except jinja2.exceptions.SecurityError as exc:
        return ("security", (str(exc), _template_line(exc)))
    except jinja2.UndefinedError as exc:
        return ("undefined", (str(exc), _template_line(exc)))
    except MemoryError:
        return ("memory", None)
    except RecursionError:
        return ("recursion", _template_line_from_tb(sys.exc_info()[2]))
    except Exception as exc:  # noqa: BLE001 - any failure inside a user template is the user's
        return ("error", (f"{type(exc).__name__}: {exc}", _template_line(exc)))


def _template_line(exc: BaseException) -> int | None:
    return _template_line_from_tb(exc.__traceback__)


def _template_line_from_tb(tb: Any) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_bounded(
    text: str,
    data: dict[str, Any],
    file: str,
    line_offset: int,
    time_limit: float,
    memory_limit: int,
    *,
    source: str | None = None,
) -> str:
    import pickle
    import signal

    from . import pipe_reader

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_fd)
        code = 0
        try:
            _limit_memory(memory_limit)
            _limit_cpu(time_limit)
            result = _render_in_child(text, data, RENDER_OUTPUT_LIMIT)
            payload = pickle.dumps(result)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001 - the parent reports a missing result
            code = 1
        os._exit(code)
    os.close(write_fd)
    answer = pipe_reader.read_until(read_fd, time.monotonic() + time_limit * RENDER_WALL_FACTOR)
    timed_out = answer is None
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    out_of_cpu = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU
    span = Span(file, line_offset + 1, 1)
    if timed_out or out_of_cpu:
        spent = f"{time_limit:g} s of CPU" if out_of_cpu else f"{time_limit * RENDER_WALL_FACTOR:g} s"
        raise CompileError(
            [
                Diagnostic(
                    "E121",
                    f"rendering the template took longer than {spent} and was stopped",
                    span,
                    "$.workflow",
                    hint="look for a loop over a huge range or a recursive macro",
                )
            ]
        )
    try:
        kind, payload = pickle.loads(answer or b"")  # noqa: S301 - our own child wrote it
    except Exception:  # noqa: BLE001 - the child died (memory limit) before it could answer
        return _interpret("memory", None, file, line_offset, memory_limit)
    return _interpret(str(kind), payload, file, line_offset, memory_limit, source or text)


def _interpret(kind: str, payload: Any, file: str, line_offset: int, memory_limit: int, source: str = "") -> str:
    if kind == "ok":
        assert isinstance(payload, str)
        return payload
    span = Span(file, line_offset + 1, 1)
    if kind in ("syntax", "security", "undefined", "error") and payload[1]:
        span = Span(file, line_offset + payload[1], _column_of_name(payload[0], source, payload[1]))
    if kind == "syntax":
        diag = Diagnostic("E120", f"Jinja syntax: {payload[0]}", span, "$.workflow")
    elif kind == "undefined":
        diag = Diagnostic(
            "E122",
            f"Jinja: {payload[0]}",
            span,
            "$.workflow",
            hint="define it under default-values or pass --set NAME=VALUE; "
            "OSMO's own tokens are written without spaces, e.g. {{output}}",
        )
    elif kind == "security":
        diag = Diagnostic(
            "E123",
            f"the template tried an unsafe operation: {payload[0]}",
            span,
            "$.workflow",
            hint="templates may only use variables, filters, loops and conditions",
        )
    elif kind == "too-large":
        diag = Diagnostic(
            "E124",
            f"the rendered template is larger than {RENDER_OUTPUT_LIMIT:,} bytes",
            span,
            "$.workflow",
            hint="look for a string built by repetition or an unbounded loop",
        )
    elif kind == "memory":
        diag = Diagnostic(
            "E124",
            f"rendering the template needed more than {memory_limit // (1024 * 1024)} MiB and was stopped",
            span,
            "$.workflow",
            hint="look for a string built by repetition or an unbounded loop",
        )
    elif kind == "recursion":
        if payload:
            span = Span(file, line_offset + payload, 1)
        diag = Diagnostic("E125", "the template recurses without end", span, "$.workflow")
    else:
        diag = Diagnostic("E126", f"Jinja: {payload[0]}", span, "$.workflow")
    raise CompileError([diag])


def _column_of_name(message: str, source: str, line: int) -> int:
    """The column of the name Jinja complains about ("'x' is undefined") on its template line, else 1."""
    quoted = re.match(r"'([^']+)'", message)
    lines = source.split("\n")
    if quoted is None or not 0 < line <= len(lines):
        return 1
    found = re.search(rf"(?<![\w.]){re.escape(quoted.group(1))}(?!\w)", lines[line - 1])
    return found.start() + 1 if found else 1


def _limit_cpu(seconds: float) -> None:
    """Stop this (forked, so far idle) process with SIGXCPU after `seconds` of CPU time."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    limit = max(1, math.ceil(seconds))  # the kernel counts whole seconds
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))


def _limit_memory(extra: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    if sys.platform == "darwin":  # RLIMIT_AS is not enforced on macOS
        return
    with open("/proc/self/statm") as statm:
        virtual = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = virtual + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# -- files[].localpath --------------------------------------------------------------------------

FileReader = Callable[[str], bytes]
"""Reads a local file given its path (absolute, or relative to the current directory)."""


def read_local_file(path: str) -> bytes:
    """The bytes of a regular file of at most MAX_SOURCE_BYTES; OSError otherwise.

    A FIFO would block and a device (/dev/zero) would never end, so only regular files are read,
    and never more than the limit plus one byte.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    with open(path, "rb") as handle:
        raw = handle.read(MAX_SOURCE_BYTES + 1)
    if len(raw) > MAX_SOURCE_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_SOURCE_BYTES:,} bytes")
    return raw


def inline_localpaths(
    document: Document, spec_path: str | None, read: FileReader = read_local_file, files_root: str | None = None
) -> list[Diagnostic]:
    """Replace every `files[].localpath` with the file's text, as OSMO's CLI does before submit.

    Paths are relative to the spec file's directory (`paths.get_absolute_path`). OSMO's CLI reads
    them as UTF-8 text, so a file that is not UTF-8 is refused here with the same effect.

    Unlike OSMO's CLI, a file must lie (after symlinks) inside `files_root`, by default the spec's
    directory, like a container build's context: the file's text goes into the manifest and onto
    the cluster, so a spec under review must not be able to name /proc/self/environ, a kubeconfig
    or ~/.aws/credentials of the machine that compiles it.
    """
    diagnostics: list[Diagnostic] = []
    data = document.data.get("workflow") if isinstance(document.data, dict) else None
    if not isinstance(data, dict):
        return diagnostics
    base = os.path.dirname(os.path.abspath(spec_path)) if spec_path and spec_path != "-" else os.getcwd()
    root = os.path.realpath(files_root or base)
    for task_path, task in _tasks_with_paths(data):
        files = task.get("files")
        if not isinstance(files, list):
            continue
        for index, item in enumerate(files):
            if not isinstance(item, dict) or "localpath" not in item:
                continue
            where = task_path + ("files", index)
            local = item["localpath"]
            span = document.span(where + ("localpath",))
            if "contents" in item:
                diagnostics.append(
                    Diagnostic(
                        "E130",
                        "Files tag dont support contents and localpath together",
                        span,
                        json_path(where),
                        hint="keep either contents or localpath",
                    )
                )
                continue
            if not isinstance(local, str) or not local:
                continue  # the schema reports it
            full = local if os.path.isabs(local) else os.path.join(base, local)
            resolved = os.path.realpath(full)
            if os.path.commonpath([root, resolved]) != root:
                diagnostics.append(
                    Diagnostic(
                        "E133",
                        f"localpath {local} is {resolved}, outside {root}; osmo2argo reads only files inside the "
                        "spec's directory",
                        span,
                        json_path(where + ("localpath",)),
                        hint="move or copy the file next to the spec, or widen the tree with --files-root DIR "
                        "(a file's text goes into the manifest, so a path outside could carry a credential)",
                    )
                )
                continue
            try:
                raw = read(full)
            except FileNotFoundError:
                diagnostics.append(
                    Diagnostic(
                        "E131",
                        f"The file/path {full} does not exist!",
                        span,
                        json_path(where + ("localpath",)),
                        hint="localpath is read relative to the spec file's directory",
                    )
                )
                continue
            except IsADirectoryError:
                diagnostics.append(
                    Diagnostic(
                        "E131",
                        f"{full} is a directory; localpath must name a file",
                        span,
                        json_path(where + ("localpath",)),
                    )
                )
                continue
            except OSError as exc:
                diagnostics.append(
                    Diagnostic("E131", f"cannot read {full}: {exc.strerror}", span, json_path(where + ("localpath",)))
                )
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                diagnostics.append(
                    Diagnostic(
                        "E132",
                        f"{full} is not UTF-8 text; OSMO's CLI reads localpath files as text",
                        span,
                        json_path(where + ("localpath",)),
                        hint="put binary files in `contents` as base64 with `base64: true`",
                    )
                )
                continue
            del item["localpath"]
            item["contents"] = text
            document.move(where + ("localpath",), where + ("contents",))
    return diagnostics


def _tasks_with_paths(workflow: dict[str, Any]) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    found: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    tasks = workflow.get("tasks")
    if isinstance(tasks, list):
        found += [(("workflow", "tasks", i), t) for i, t in enumerate(tasks) if isinstance(t, dict)]
    groups = workflow.get("groups")
    if isinstance(groups, list):
        for g, group in enumerate(groups):
            members = group.get("tasks") if isinstance(group, dict) else None
            if isinstance(members, list):
                found += [
                    (("workflow", "groups", g, "tasks", i), t) for i, t in enumerate(members) if isinstance(t, dict)
                ]
    return found
