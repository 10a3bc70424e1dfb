"""Reading spec files and loading YAML with a position for every node.

OSMO loads specs with PyYAML's `safe_load` (YAML 1.1), so values here are exactly what OSMO sees:
`on` is a boolean, `1.10` is the float 1.1, `010` is 8. Loading refuses what `safe_load` silently
accepts but no user means (duplicate keys with different values, non-string keys, alias bombs,
absurd nesting, several documents) and inputs that are too large or not UTF-8.

Two readers give the same result: `fast_yaml` reads the YAML specs are written in, and
`full_yaml` (libyaml's events) everything else, including every invalid text and its
diagnostics. Both record, per JSON path, where the value and its key start and, for scalars, the
text as written, so later stages can explain YAML 1.1 surprises; `Document` turns those marks
into spans only for the nodes a stage asks about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from . import fast_yaml, records
from .errors import CompileError, Diagnostic, Span

MAX_SOURCE_BYTES = 16 * 1024 * 1024

PathKey = fast_yaml.PathKey
Entry = fast_yaml.Entry

Locator = Callable[[int, int], Span]
"""Maps a 0-based (line, column) in the loaded text to a Span in the user's file."""


@records.typed_equality
class NodeInfo(NamedTuple):
    """Where a value came from: its span, its key's span, and for scalars the text as written."""

    span: Span
    key_span: Span | None = None
    raw: str | None = None
    plain: bool = False


class Document:
    """Loaded YAML data and where each of its nodes is in the user's file."""

    __slots__ = ("_index", "_locate", "data", "file")

    def __init__(self, data: Any, index: dict[PathKey, Entry], file: str, locate: Locator) -> None:
        self.data = data
        self.file = file
        self._index = index
        self._locate = locate

    def with_data(self, data: Any) -> Document:
        """The same positions for other data (a target profile that is empty)."""
        return Document(data, self._index, self.file, self._locate)

    def node(self, path: PathKey) -> NodeInfo | None:
        """The node at exactly `path`, or None if there is none."""
        entry = self._index.get(path)
        return self._info(entry) if entry is not None else None

    def info(self, path: PathKey) -> NodeInfo | None:
        """The node at `path`, or its nearest ancestor that has a position."""
        entry = self._nearest(path)
        return self._info(entry) if entry is not None else None

    def span(self, path: PathKey) -> Span | None:
        """Where the node at `path` (or its nearest ancestor) starts."""
        entry = self._nearest(path)
        return self._locate(entry[0], entry[1]) if entry is not None else None

    def raw(self, path: PathKey) -> str | None:
        """The text of the scalar at exactly `path`, as written (None for collections)."""
        entry = self._index.get(path)
        return entry[4] if entry is not None else None

    def move(self, path: PathKey, to: PathKey) -> None:
        """Give the node at `to` the position of the node at `path` (a field that was renamed)."""
        entry = self._index.get(path)
        if entry is not None:
            self._index[to] = entry

    def _nearest(self, path: PathKey) -> Entry | None:
        index = self._index
        entry = index.get(path)
        while entry is None and path:
            path = path[:-1]
            entry = index.get(path)
        return entry

    def _info(self, entry: Entry) -> NodeInfo:
        line, column, key_line, key_column, raw, plain = entry
        key_span = self._locate(key_line, key_column) if key_line >= 0 else None
        return NodeInfo(self._locate(line, column), key_span, raw, plain)


def decode_source(raw: bytes, file: str) -> str:
    """UTF-8 text of a spec file, or a CompileError saying why it is not acceptable."""
    if len(raw) > MAX_SOURCE_BYTES:
        raise CompileError(
            [
                Diagnostic(
                    "E102",
                    f"the file is {len(raw):,} bytes; the limit is {MAX_SOURCE_BYTES:,} bytes",
                    Span(file, 1, 1),
                    hint="split the workflow, or generate fewer tasks per spec",
                )
            ]
        )
    encoding = _wide_encoding(raw)
    if encoding is not None:
        raise CompileError(
            [
                Diagnostic(
                    "E101",
                    f"the file is {encoding}; OSMO specs are UTF-8",
                    Span(file, 1, 1),
                    hint="re-save the file as UTF-8",
                    quote=False,
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CompileError(
            [
                Diagnostic(
                    "E101",
                    f"the file is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                    Span(file, line, column),
                    hint="re-save the file as UTF-8",
                )
            ]
        ) from None
    return text.removeprefix("\ufeff")


def _wide_encoding(raw: bytes) -> str | None:
    """ "UTF-16"/"UTF-32" for text in those encodings (by byte-order mark, or by the NUL bytes that
    ASCII text has in them without one), else None."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = raw[:4096]
    if head.count(0) * 4 >= len(head) > 0:  # ASCII in UTF-16 is half NULs, in UTF-32 three quarters
        return (
            "UTF-32 without a byte-order mark"
            if head.count(0) * 4 >= 3 * len(head)
            else ("UTF-16 without a byte-order mark")
        )
    return None


def plain_locator(file: str, line_offset: int = 0) -> Locator:
    """Positions in a text that is a verbatim slice of `file` starting at `line_offset`."""

    def locate(line: int, column: int) -> Span:
        return Span(file, line + line_offset + 1, column + 1)

    return locate


def json_path(path: PathKey) -> str:
    """`("workflow", "tasks", 1, "image")` → `$.workflow.tasks[1].image`."""
    parts = ["$"]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part.replace("_", "a").replace("-", "a").isalnum():
            parts.append(f".{part}")
        else:
            parts.append(f"[{part!r}]")
    return "".join(parts)


def load_yaml(text: str, file: str, locate: Locator | None = None) -> tuple[Document, list[Diagnostic]]:
    """Load one YAML document. Errors end the pipeline; warnings are returned with the document."""
    locate = locate or plain_locator(file)
    try:
        data, index = fast_yaml.load(text)
    except fast_yaml.Fallback:
        from . import full_yaml

        data, index, warnings = full_yaml.load(text, file, locate)
        return Document(data, index, file, locate), warnings
    return Document(data, index, file, locate), []
