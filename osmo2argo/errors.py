"""Diagnostics: where a problem is, what it is, and how to fix it.

Every stage of the pipeline reports problems as `Diagnostic` values and never raises for bad
input. A stage that found at least one error ends the pipeline with a `CompileError` that carries
every diagnostic of that stage, so users see all problems at once.

Codes are stable (tests, docs and CI annotations refer to them):
E1xx loading and templating, E2xx schema, E3xx semantics, E4xx valid OSMO that Argo cannot
express on this target, E5xx target profile, W1xx-W4xx warnings of the same stages.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import NamedTuple

from . import records


class Severity(str, enum.Enum):
    """How bad a diagnostic is; warnings become errors under `--strict`."""

    ERROR = "error"
    WARNING = "warning"


@records.typed_equality
class Span(NamedTuple):
    """A position in a source file: 1-based line and column, as editors count.

    `rendered_line` is set when the spec is a Jinja template whose rendered text differs from the
    source at this line; it holds the rendered line the column refers to, so the report can show
    what the YAML loader actually saw.
    """

    file: str
    line: int
    column: int
    rendered_line: str | None = None


@records.typed_equality
class Diagnostic(NamedTuple):
    """One problem: a stable code, a message, where it is and a hint that names the fix."""

    code: str
    message: str
    span: Span | None = None
    path: str = "$"
    hint: str | None = None
    severity: Severity = Severity.ERROR
    quote: bool = True  # may the report quote the source line? (not for a file that is no spec at all)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        span = self.span
        if span is None:
            return ("", 0, 0, self.code, self.message)
        return (span.file, span.line, span.column, self.code, self.message)


class CompileError(Exception):
    """Bad input: the diagnostics of the stage that failed (warnings of earlier stages included)."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(diagnostics, key=Diagnostic.sort_key))
        super().__init__("; ".join(f"{d.code}: {d.message}" for d in self.diagnostics))


def raise_if_errors(diagnostics: list[Diagnostic]) -> None:
    """End the pipeline after a stage that reported at least one error."""
    if any(d.is_error for d in diagnostics):
        raise CompileError(diagnostics)


def promote_warnings(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """`--strict`: every warning becomes an error with the same code."""
    return [d._replace(severity=Severity.ERROR) for d in diagnostics]
