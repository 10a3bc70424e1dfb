"""The full YAML loader: libyaml's event stream into data, positions and diagnostics.

`source.load_yaml` tries `fast_yaml` first; this loader reads whatever that reader steps aside
for: all of YAML, and every kind of invalid YAML, with a diagnostic for each problem. It refuses
what `safe_load` silently accepts but no user means: duplicate keys with different values (PyYAML
keeps the last one), non-string keys, alias expansion bombs, absurd nesting and several
documents. It is iterative over the events (no recursion, so hostile nesting cannot overflow a
stack), and PyYAML is imported only when it runs.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import CompileError, Diagnostic, Severity, Span, raise_if_errors
from .fast_yaml import MAX_NODES, Entry, PathKey
from .source import Locator, json_path

# Expanded node count: a document may share subtrees through aliases, and every later stage
# walks the expansion, so this bounds the work of the whole pipeline (a "billion laughs" document
# is refused here after a few arithmetic steps, not after materialising it).
MAX_EXPANDED_NODES = MAX_NODES
MAX_DEPTH = 128

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@functools.cache
def _yaml() -> Any:
    """PyYAML, imported when a text first needs this loader."""
    import yaml

    return yaml


def _parser_class() -> Any:
    """libyaml's parser where PyYAML has it: an order of magnitude faster, and the pure parser
    gives the same events."""
    yaml = _yaml()
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _resolver() -> Any:
    return _yaml().resolver.Resolver()


@functools.cache
def _constructor() -> Any:
    return _yaml().constructor.SafeConstructor()


class _Frame:
    """A mapping or sequence under construction."""

    __slots__ = ("anchor", "container", "explicit", "merges", "path", "pending_key", "pending_key_mark", "size")

    def __init__(self, container: dict[Any, Any] | list[Any], path: PathKey, anchor: str | None) -> None:
        self.container = container
        self.path = path
        self.pending_key: Any = _NO_KEY
        self.pending_key_mark = (-1, -1)  # where the pending key starts (line, column)
        self.explicit: dict[Any, Any] = {}
        self.merges: list[dict[Any, Any]] = []
        self.size = 1
        self.anchor = anchor


_NO_KEY = object()


class _EventLoader:
    """Builds data from libyaml events; collects diagnostics instead of raising."""

    def __init__(self, text: str, file: str, locate: Locator) -> None:
        self.text = text
        self.file = file
        self.locate = locate
        self.positions: dict[PathKey, Entry] = {}
        self.diagnostics: list[Diagnostic] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0

    def span(self, mark: Any) -> Span:
        return self.locate(mark.line, mark.column)

    def load(self) -> Any:
        yaml = _yaml()
        stack: list[_Frame] = []
        documents = 0
        root: Any = None
        events = iter(yaml.parse(self.text, Loader=_parser_class()))
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents == 2:
                    self.diagnostics.append(
                        Diagnostic(
                            "E106",
                            "the file holds more than one YAML document; a spec is one document",
                            self.span(event.start_mark),
                            hint="remove the '---' separator and everything after it, or split the file",
                        )
                    )
                    return root
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                value = self._finish(frame)
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (value, frame.size)
                if not stack:
                    root = value
                else:
                    self._attach(stack[-1], value, frame.size, event.start_mark)
                continue
            parent = stack[-1] if stack else None
            awaiting_key = parent is not None and isinstance(parent.container, dict) and parent.pending_key is _NO_KEY
            is_collection = isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
            if parent is not None and parent.pending_key is _COMPLEX_KEY:
                # The value of a key that was refused: skip it.
                _skip(event, events)
                parent.pending_key = _NO_KEY
                continue
            if awaiting_key and is_collection:
                assert parent is not None
                self._error(
                    "E105",
                    "a mapping key is itself a mapping or a list; keys must be strings",
                    self.span(event.start_mark),
                    parent.path,
                    hint="write the key as a plain string",
                )
                _skip(event, events)
                parent.pending_key = _COMPLEX_KEY
                continue
            if len(stack) >= MAX_DEPTH:
                self.diagnostics.append(_too_deep(self.span(event.start_mark)))
                return None
            mark = event.start_mark
            start = self.span(mark)
            path = self._child_path(parent)
            key_line, key_column = parent.pending_key_mark if parent is not None and not awaiting_key else (-1, -1)
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in self.anchors:
                    self._error("E100", f"unknown or recursive alias *{event.anchor}", start, path)
                    value, size = None, 1
                else:
                    value, size = self.anchors[event.anchor]
                if not awaiting_key:
                    self.positions.setdefault(path, (mark.line, mark.column, key_line, key_column, None, False))
                if not self._count(size, start):
                    return None
                if parent is None:
                    root = value
                else:
                    self._attach(parent, value, size, event.start_mark)
                continue
            if isinstance(event, yaml.ScalarEvent):
                value = self._scalar(event, start, path)
                if not awaiting_key:
                    plain = event.style in (None, "")
                    self.positions.setdefault(path, (mark.line, mark.column, key_line, key_column, event.value, plain))
                if not self._count(1, start):
                    return None
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
                if parent is None:
                    root = value
                else:
                    self._attach(parent, value, 1, event.start_mark, key_event=event)
                continue
            # Collection start.
            tag = getattr(event, "tag", None)
            is_map = isinstance(event, yaml.MappingStartEvent)
            if tag not in (None, "!", _MAP_TAG if is_map else _SEQ_TAG):
                self._error(
                    "E107",
                    f"the YAML tag {tag} is not supported in OSMO specs",
                    start,
                    path,
                    hint="remove the tag; specs use plain mappings, lists and scalars",
                )
            self.positions.setdefault(path, (mark.line, mark.column, key_line, key_column, None, False))
            if not self._count(1, start):
                return None
            stack.append(_Frame({} if is_map else [], path, getattr(event, "anchor", None)))
        return root

    # -- helpers -------------------------------------------------------------------------------

    def _child_path(self, parent: _Frame | None) -> PathKey:
        if parent is None:
            return ()
        if isinstance(parent.container, list):
            return parent.path + (len(parent.container),)
        if parent.pending_key is _NO_KEY or parent.pending_key is _MERGE_KEY:
            return parent.path
        return parent.path + (str(parent.pending_key),)

    def _count(self, size: int, span: Span) -> bool:
        self.expanded += size
        if self.expanded > MAX_EXPANDED_NODES:
            self.diagnostics.append(
                Diagnostic(
                    "E103",
                    f"aliases expand the document to more than {MAX_EXPANDED_NODES:,} nodes",
                    span,
                    hint="this looks like an alias bomb; write the values out or use fewer nested aliases",
                )
            )
            return False
        return True

    def _scalar(self, event: Any, span: Span, path: PathKey) -> Any:
        implicit = event.implicit
        tag = event.tag
        yaml = _yaml()
        if tag is None or tag == "!":
            tag = _resolver().resolve(yaml.ScalarNode, event.value, implicit)
        if tag == _MERGE_TAG:
            return event.value  # `<<`: the mapping handles it when it takes the key
        try:
            return _constructor().construct_object(yaml.ScalarNode(tag, event.value, style=event.style))
        except (yaml.constructor.ConstructorError, ValueError, TypeError) as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self._error(
                "E107",
                f"cannot read {event.value!r} as {tag}: {problem}",
                span,
                path,
                hint="remove the explicit tag or fix the value",
            )
            return event.value

    def _attach(self, frame: _Frame, value: Any, size: int, mark: Any, *, key_event: Any = None) -> None:
        frame.size += size
        container = frame.container
        if isinstance(container, list):
            container.append(value)
            return
        if frame.pending_key is _NO_KEY:
            self._take_key(frame, value, key_event, mark)
            return
        key = frame.pending_key
        frame.pending_key = _NO_KEY
        if key is _MERGE_KEY:
            self._merge(frame, value, mark)
            return
        if key in frame.explicit:
            self._duplicate(frame, key, value, self._key_span(frame) or self.span(mark))
            return
        frame.explicit[key] = value

    def _key_span(self, frame: _Frame) -> Span | None:
        line, column = frame.pending_key_mark
        return self.locate(line, column) if line >= 0 else None

    def _take_key(self, frame: _Frame, key: Any, key_event: Any, mark: Any) -> None:
        span = self.span(mark)
        frame.pending_key_mark = (mark.line, mark.column)
        if (
            key_event is not None
            and key_event.tag is None
            and key_event.implicit[0]
            and _resolver().resolve(_yaml().ScalarNode, key_event.value, (True, False)) == _MERGE_TAG
        ):
            frame.pending_key = _MERGE_KEY
            return
        if isinstance(key, str):
            frame.pending_key = key
            return
        if isinstance(key, (dict, list)):  # an alias to a collection used as a key
            message = "a mapping key is itself a mapping or a list; keys must be strings"
            hint = "write the key as a plain string"
        else:
            written = key_event.value if key_event is not None else str(key)
            message = f"the key {written!r} was read as {_yaml_type(key)}; mapping keys must be strings"
            hint = f'quote it: "{written}": ...'
            if isinstance(key, bool):
                hint += " (YAML 1.1 reads on/off/yes/no/true/false as booleans)"
        self._error("E105", message, span, frame.path, hint=hint)
        frame.pending_key = str(key) if not isinstance(key, (dict, list)) else _COMPLEX_KEY

    def _merge(self, frame: _Frame, value: Any, mark: Any) -> None:
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                self._error(
                    "E100",
                    "a merge key '<<' needs a mapping or a list of mappings",
                    self.span(mark),
                    frame.path,
                )
                return
            frame.merges.append(source)

    def _duplicate(self, frame: _Frame, key: str, value: Any, span: Span) -> None:
        path = frame.path + (key,)
        first = self.positions.get(path)
        where = f" (first at line {self.locate(first[0], first[1]).line})" if first else ""
        if frame.explicit[key] == value:
            self.diagnostics.append(
                Diagnostic(
                    "W101",
                    f"the key {key!r} appears twice with the same value{where}",
                    span,
                    _json_path(path),
                    hint="remove one of them",
                    severity=Severity.WARNING,
                )
            )
            return
        self._error(
            "E108",
            f"the key {key!r} appears twice with different values{where}; PyYAML would silently keep the last",
            span,
            path,
            hint="keep one of them",
        )
        frame.explicit[key] = value

    def _finish(self, frame: _Frame) -> Any:
        if isinstance(frame.container, list):
            return frame.container
        if not frame.merges:
            return frame.explicit
        # PyYAML's merge semantics: explicit keys win over merged ones; earlier merges win.
        merged: dict[Any, Any] = {}
        for source in reversed(frame.merges):
            merged.update(source)
        merged.update(frame.explicit)
        return merged

    def _error(self, code: str, message: str, span: Span, path: PathKey, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, _json_path(path), hint=hint))


_MERGE_KEY = object()
_COMPLEX_KEY = object()


def _skip(event: Any, events: Any) -> None:
    """Consume the rest of a node that starts with `event`."""
    yaml = _yaml()
    depth = 1 if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)) else 0
    while depth:
        nxt = next(events)
        if isinstance(nxt, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
        elif isinstance(nxt, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def _json_path(path: PathKey) -> str:
    return json_path(path)


def _too_deep(span: Span) -> Diagnostic:
    return Diagnostic(
        "E104",
        f"the document nests deeper than {MAX_DEPTH} levels",
        span,
        hint="an OSMO spec needs about ten levels; check for a generated or hostile input",
    )


_READER_ERROR = re.compile(r"unacceptable character #x([0-9a-fA-F]+).*position (\d+)", re.DOTALL)


def _reader_error(message: str, text: str, file: str, locate: Locator) -> Diagnostic:
    """libyaml's reader refuses a character with an offset, not a line: point at the character."""
    found = _READER_ERROR.search(message)
    if found is None:
        return Diagnostic("E100", f"YAML: {message}", Span(file, 1, 1))
    offset = int(found.group(2))
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return Diagnostic(
        "E100",
        f"YAML: the character U+{int(found.group(1), 16):04X} is not allowed in a YAML file",
        locate(line, column),
        hint='remove it; in a double-quoted string write it as an escape, e.g. "\\x07"',
    )


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line + 1)
    return lines[line][column : column + 1] if line < len(lines) else ""


def load(text: str, file: str, locate: Locator) -> tuple[Any, dict[PathKey, Entry], list[Diagnostic]]:
    """Data, position index and warnings of one YAML document; CompileError for errors."""
    yaml = _yaml()
    loader = _EventLoader(text, file, locate)
    try:
        data = loader.load()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = locate(mark.line, mark.column) if mark else Span(file, 1, 1)
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}: {problem}" if "while" not in exc.context else f"{problem} ({exc.context})"
        if "maximum nesting depth" in problem:  # libyaml's own limit on flow nesting (1,000 levels)
            raise CompileError([*loader.diagnostics, _too_deep(span)]) from None
        hint = None
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            hint = "YAML indentation must use spaces, not tabs"
        elif "mapping values are not allowed" in problem:
            hint = "quote a value that contains ': ', or fix the indentation above"
        raise CompileError(
            [*loader.diagnostics, Diagnostic("E100", f"YAML syntax: {problem}", span, hint=hint)]
        ) from None
    except yaml.YAMLError as exc:
        raise CompileError([*loader.diagnostics, _reader_error(str(exc), text, file, locate)]) from None
    raise_if_errors(loader.diagnostics)
    return data, loader.positions, loader.diagnostics
