"""Diagnostics for people and machines: text with a caret, JSON, GitHub Actions annotations.

The text form is the one compilers use, stable enough to be pinned by golden tests:

    spec.yaml:7:12: error[E201]: workflow.tasks[0].image is 42, expected a string
        7 |     image: 42
          |            ^
          = hint: quote it to keep it as text: "42"

For a Jinja template the source line is shown, and, where the rendered text differs, the
rendered line the column refers to.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from .errors import Diagnostic

Format = Literal["text", "json", "github"]
FORMATS: tuple[Format, ...] = ("text", "json", "github")

_COLOURS = {"error": "\033[1;31m", "warning": "\033[1;33m", "bold": "\033[1m", "dim": "\033[2m", "reset": "\033[0m"}


def render(
    diagnostics: Sequence[Diagnostic], sources: Mapping[str, str], fmt: Format = "text", *, colour: bool = False
) -> str:
    """All diagnostics in one format; an empty string when there are none (JSON: `[]`)."""
    ordered = sorted(diagnostics, key=Diagnostic.sort_key)
    if fmt == "json":
        return json.dumps([as_dict(d) for d in ordered], indent=2, ensure_ascii=False) + "\n"
    if fmt == "github":
        return "".join(github_annotation(d) + "\n" for d in ordered)
    return "".join(text_block(d, sources, colour=colour) for d in ordered)


def as_dict(diagnostic: Diagnostic) -> dict[str, object]:
    span = diagnostic.span
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
        "file": span.file if span else None,
        "line": span.line if span else None,
        "column": span.column if span else None,
        "path": diagnostic.path,
        "hint": diagnostic.hint,
        "rendered_line": span.rendered_line if span else None,
    }


def text_block(diagnostic: Diagnostic, sources: Mapping[str, str], *, colour: bool = False) -> str:
    paint = _painter(colour)
    severity = diagnostic.severity.value
    span = diagnostic.span
    where = f"{_visible(span.file)}:{span.line}:{span.column}: " if span else ""
    message = _visible(diagnostic.message, keep="\n")
    lines = [f"{paint('bold', where)}{paint(severity, f'{severity}[{diagnostic.code}]')}: {message}"]
    if span is not None and diagnostic.quote:
        source = _line(sources.get(span.file), span.line)
        gutter = " " * (len(str(span.line)) + 1)
        if source is not None:
            shown, column = _excerpt(source, span.column)
            lines.append(f" {span.line} | {_expand_tabs(shown)}")
            if span.rendered_line is None:
                lines.append(f"{gutter} | {_caret(shown, column, paint)}")
        if span.rendered_line is not None:
            shown, column = _excerpt(span.rendered_line, span.column)
            lines.append(f"{gutter} = rendered from the template as:")
            lines.append(f"{gutter} | {_expand_tabs(shown)}")
            lines.append(f"{gutter} | {_caret(shown, column, paint)}")
    if diagnostic.hint:
        gutter = " " * (len(str(span.line)) + 1) if span else ""
        lines.append(f"{gutter} = hint: {_visible(diagnostic.hint, keep=chr(10))}")
    return "\n".join(lines) + "\n"


def github_annotation(diagnostic: Diagnostic) -> str:
    """`::error file=...,line=...,col=...,title=E201::message` (GitHub's workflow command syntax)."""
    kind = "error" if diagnostic.is_error else "warning"
    props = []
    if diagnostic.span:
        props += [
            f"file={_escape_property(diagnostic.span.file)}",
            f"line={diagnostic.span.line}",
            f"col={diagnostic.span.column}",
        ]
    props.append(f"title={_escape_property(diagnostic.code)}")
    message = diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")
    return f"::{kind} {','.join(props)}::{_escape_data(_visible(message, keep=chr(10)))}"


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(_visible(text)).replace(":", "%3A").replace(",", "%2C")


def _line(text: str | None, number: int) -> str | None:
    if text is None or number < 1:
        return None
    lines = _lines(text)
    if number > len(lines):
        return None
    return lines[number - 1]


@functools.lru_cache(maxsize=4)
def _lines(text: str) -> list[str]:
    # Split once per source, not once per diagnostic; CR, CRLF and LF end lines, as in YAML.
    return _LINE_BREAK.split(text)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
EXCERPT_WIDTH = 160
# C0 and C1 control characters (tab aside) and DEL: a spec's bytes must not drive the terminal or
# the CI log (OSC 0 sets a window title, OSC 52 writes the clipboard).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _visible(text: str, keep: str = "") -> str:
    """`text` with control characters replaced by U+FFFD, one for one, so carets stay aligned."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else "\ufffd", text)


def _excerpt(line: str, column: int) -> tuple[str, int]:
    """At most EXCERPT_WIDTH characters of `line` around `column`, and the column within them."""
    line = _visible(line)
    if len(line) <= EXCERPT_WIDTH:
        return line, column
    start = max(0, min(column - 1 - EXCERPT_WIDTH // 2, len(line) - EXCERPT_WIDTH))
    shown = line[start : start + EXCERPT_WIDTH]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + EXCERPT_WIDTH < len(line) else ""
    return prefix + shown + suffix, column - start + len(prefix)


def _expand_tabs(line: str) -> str:
    return line.replace("\t", "    ")


Painter = Callable[[str, str], str]


def _caret(line: str, column: int, paint: Painter) -> str:
    prefix = line[: max(column - 1, 0)]
    pad = "".join("    " if c == "\t" else " " for c in prefix)
    return pad + paint("error", "^")


def _painter(colour: bool) -> Painter:
    def paint(kind: str, text: str) -> str:
        if not colour or not text:
            return text
        return f"{_COLOURS.get(kind, '')}{text}{_COLOURS['reset']}"

    return paint
