"""Reading the YAML that specs are written in, fast; stepping aside for everything else.

PyYAML turns a 1,000-task spec into events, and the loader those events into data and positions,
in over 150 ms, more than the rest of a compile; importing it costs 40 ms more. Specs, though,
use a small part of YAML: block mappings and sequences, plain and quoted one-line scalars,
one-line flow sequences and mappings of scalars, literal blocks (`|`, `|-`), and comments. This
reader reads that part, line by line, into exactly what `source.load_yaml`'s full loader gives:
the same values (PyYAML's YAML 1.1 types) and, for every node, the same libyaml position.

Anything else raises `Fallback`, and the full loader (libyaml's events) reads the text instead:
anchors, tags, folded or indented blocks, multi-line plain or quoted scalars, tabs, document
markers, duplicate or non-string keys, timestamps, unusual numbers, and every kind of invalid
YAML, whose diagnostics are the full loader's. So this reader never decides what a spec means
when it is unsure; `tests/test_fast_yaml.py` compares both readers on generated and real specs.

An index entry is `(line, column, key_line, key_column, raw, plain)`: 0-based libyaml marks of
the node and of its key (-1 when it has none), and for scalars the text as written and whether
it was plain.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .jsondata import fresh
from .yaml11 import implicit_type

PathKey = tuple[str | int, ...]
Entry = tuple[int, int, int, int, str | None, bool]

# Limits the full loader enforces with a diagnostic; past them, let it.
MAX_NODES = 2_000_000
MAX_DEPTH = 100
MAX_KEY = 1000  # libyaml looks at most 1,024 characters ahead for a simple key's ':'
MAX_DIGITS = 4000  # Python's int() refuses more than 4,300 digits

# Characters libyaml's reader refuses, its other line breaks (CR, NEL, LS, PS) and the BOM; in
# ASCII text, control characters but tab and LF. The full class costs 6 ms to compile: only
# text that is not ASCII needs it.
_ASCII_UNREADABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNREADABLE = "[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
_INDICATORS = frozenset("'\"[]{},#&*!|>%@`?:")  # a plain scalar cannot start with these ('-' aside)
_FLOW_END = re.compile(r"[,\[\]{}]")  # where a flow plain scalar ends (libyaml 0.2.5)
_FLOW_KEY_STOP = re.compile(r"[,\[\]{}]| #")  # what a flow key may not hold
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_SIMPLE_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?")
_BLOCK_HEADER = re.compile(r"\|(-?)(?: +#.*)?")
_DOUBLE_STOP = re.compile(r'["\\]')
_ESCAPES = {
    "0": "\x00", "a": "\x07", "b": "\x08", "t": "\t", "\t": "\t", "n": "\n", "v": "\x0b", "f": "\x0c",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEX = re.compile(r"[0-9a-fA-F]+")
_TRUE = frozenset(("yes", "true", "on"))
_NO_KEY = (-1, -1)
_QUOTES = ("'", '"')
_FLOW = object()  # marks a remembered line whose value is a flow collection


class Fallback(Exception):
    """This text is not in the part of YAML this reader reads: use the full loader."""


def load(text: str) -> tuple[Any, dict[PathKey, Entry]]:
    """The data of a one-document YAML text and its position index; `Fallback` if unsure."""
    if (_ASCII_UNREADABLE if text.isascii() else _unreadable()).search(text):
        raise Fallback
    reader = _Reader(text.split("\n"), "\t" in text)
    line, indent = reader.next_content(0)
    if line == reader.count:
        raise Fallback  # no content: an empty document
    data, line = reader.block(line, indent, (), -1, -1, 0)
    if reader.next_content(line)[0] != reader.count:
        raise Fallback  # something after the root node: invalid, the full loader says why
    if reader.nodes > MAX_NODES:
        raise Fallback
    return data, reader.index


@functools.cache
def _unreadable() -> re.Pattern[str]:
    return re.compile(_UNREADABLE)


def plain_value(text: str) -> Any:
    """A plain scalar's value as PyYAML constructs it; `Fallback` for the rare types."""
    kind = implicit_type(text)
    if kind is None:
        return text
    if kind == "int" and len(text) < MAX_DIGITS and _DECIMAL.fullmatch(text):
        return int(text)
    if kind == "bool":
        return text.lower() in _TRUE
    if kind == "null":
        return None
    if kind == "float" and _SIMPLE_FLOAT.fullmatch(text):
        return float(text)
    raise Fallback  # octal, hexadecimal, sexagesimal or `_` numbers, inf, nan, timestamps, `<<`, `=`


def _key_ok(key: str) -> bool:
    """A plain key this reader takes: a string to PyYAML, and nothing libyaml reads differently."""
    if not key or len(key) > MAX_KEY or " #" in key:
        return False
    first = key[0]
    if first in _INDICATORS or (first == "-" and key[1:2] in ("", " ")):
        return False
    return implicit_type(key) is None


def _key_split(entry: str) -> int:
    """Where the `:` of a `key: value` entry is, or -1 if the entry is not one."""
    if entry[:1] in _QUOTES:
        quoted = _quoted_key(entry, 0)
        return quoted[1] if quoted else -1
    colon = entry.find(": ")
    if colon < 0 and entry.endswith(":"):
        colon = len(entry) - 1
    if colon < 0 or entry[0] in "[{|>&*!%@`":
        return -1
    return colon


def _quoted_key(text: str, at: int) -> tuple[str, int] | None:
    """A quoted key at `at` and the index of its `:` (followed by a space or the end), or None
    if the quoted scalar there is not a key; `Fallback` if it does not close on its line."""
    key, end = _single_quoted(text, at) if text[at] == "'" else _double_quoted(text, at)
    colon = _skip_spaces(text, end)
    if text[colon : colon + 1] == ":" and text[colon + 1 : colon + 2] in ("", " ") and end - at <= MAX_KEY:
        return key, colon
    return None


def _is_dash(text: str, column: int) -> bool:
    """Does `text` hold a sequence entry (`- ...` or a lone `-`) at `column`?"""
    return text.startswith("- ", column) or text.rstrip(" ") == text[:column] + "-"


def _single_quoted(text: str, start: int) -> tuple[str, int]:
    """A single-quoted scalar that closes on its line: its value and the index after it."""
    pieces = []
    at = start + 1
    while True:
        close = text.find("'", at)
        if close < 0:
            raise Fallback  # continues on the next line
        pieces.append(text[at:close])
        if text[close + 1 : close + 2] != "'":
            return "".join(pieces), close + 1
        pieces.append("'")
        at = close + 2


def _double_quoted(text: str, start: int) -> tuple[str, int]:
    """A double-quoted scalar that closes on its line, its escapes as libyaml reads them."""
    pieces = []
    at = start + 1
    while True:
        stop = _DOUBLE_STOP.search(text, at)
        if stop is None:
            raise Fallback  # continues on the next line
        index = stop.start()
        pieces.append(text[at:index])
        if text[index] == '"':
            return "".join(pieces), index + 1
        escape = text[index + 1 : index + 2]
        if escape in _ESCAPES:
            pieces.append(_ESCAPES[escape])
            at = index + 2
            continue
        width = _HEX_ESCAPES.get(escape)
        digits = text[index + 2 : index + 2 + width] if width else ""
        if not width or len(digits) != width or not _HEX.fullmatch(digits):
            raise Fallback  # an escaped line break, or an escape libyaml refuses
        code = int(digits, 16)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise Fallback
        pieces.append(chr(code))
        at = index + 2 + width


class _Reader:
    """Reads block nodes from a list of lines; positions go into `index`.

    Specs repeat lines (`image: ...`, `command: [...]`, `- task: root`), so a line that is a
    `key: plain scalar` entry is parsed once: `entries` keeps what it holds, and each later copy
    of the line costs a dictionary lookup.
    """

    __slots__ = ("count", "entries", "index", "keys", "lines", "nodes", "scalars", "tabs")

    def __init__(self, lines: list[str], tabs: bool) -> None:
        self.lines = lines
        self.count = len(lines)
        self.tabs = tabs  # the text has a tab somewhere: check each line
        self.index: dict[PathKey, Entry] = {}
        self.nodes = 0
        # line → column, key, value column, raw (or _FLOW), value (or what rebuilds a flow collection)
        self.entries: dict[str, tuple[int, str, int, Any, Any]] = {}
        self.keys: set[str] = set()  # keys already found acceptable
        self.scalars: dict[str, Any] = {}  # plain scalar text → value

    def next_content(self, line: int) -> tuple[int, int]:
        """The first line at or after `line` that is not blank or a comment, and its indent."""
        lines = self.lines
        count = self.count
        while line < count:
            text = lines[line]
            content = text.lstrip(" ")
            if content and content[0] != "#":
                return line, self.checked_indent(text, content)
            line += 1
        return count, -1

    def checked_indent(self, text: str, content: str) -> int:
        indent = len(text) - len(content)
        if (self.tabs and "\t" in text) or (indent == 0 and content.startswith(("---", "..."))):
            raise Fallback  # tabs, and document markers
        return indent

    def block(
        self, line: int, indent: int, path: PathKey, key_line: int, key_column: int, depth: int
    ) -> tuple[Any, int]:
        """The mapping or sequence whose first entry starts `line` at `indent`, and the next line."""
        if depth > MAX_DEPTH:
            raise Fallback
        if _is_dash(self.lines[line], indent):
            return self.sequence(line, indent, path, key_line, key_column, depth)
        if _key_split(self.lines[line][indent:].rstrip(" ")) < 0:
            raise Fallback  # a scalar on a line of its own, or invalid
        return self.mapping(line, indent, path, key_line, key_column, depth)

    def key(self, key: str) -> str:
        if key not in self.keys:
            if not _key_ok(key):
                raise Fallback  # the full loader reports non-string keys
            self.keys.add(key)
        return key

    def plain(self, rest: str) -> tuple[str, Any]:
        """The text and value of the plain scalar `rest` starts with (up to a comment)."""
        cut = rest.find(" #")
        raw = (rest[:cut] if cut >= 0 else rest).rstrip(" ")
        scalars = self.scalars
        if raw in scalars:
            return raw, scalars[raw]
        if ": " in raw or raw.endswith(":"):
            raise Fallback  # "mapping values are not allowed here": the full loader says so
        value = scalars[raw] = plain_value(raw)
        return raw, value

    def mapping(
        self, line: int, column: int, path: PathKey, key_line: int, key_column: int, depth: int
    ) -> tuple[dict[str, Any], int]:
        lines = self.lines
        count = self.count
        index = self.index
        entries = self.entries
        index[path] = (line, column, key_line, key_column, None, False)
        result: dict[str, Any] = {}
        nodes = 1
        while True:
            text = lines[line]
            known = entries.get(text)
            if known is not None and known[0] == column:
                _, key, value_column, raw, value = known
                if key in result:
                    raise Fallback  # the full loader reports duplicate keys
                if raw is _FLOW:  # a one-line flow collection: a fresh copy, its nodes placed on this line
                    value, placed, more = value
                    value = fresh(value)
                    for suffix, at, key_at, item_raw, plain in placed:
                        index[path + (key,) + suffix] = (line, at, line if key_at >= 0 else -1, key_at, item_raw, plain)
                    nodes += more
                else:
                    index[path + (key,)] = (line, value_column, line, column, raw, True)
                    nodes += 2
                result[key] = value
                line += 1
            else:
                entry = text[column:].rstrip(" ")
                if entry[:1] in _QUOTES:  # a quoted key is a string whatever it holds
                    quoted = _quoted_key(entry, 0)
                    if quoted is None:
                        raise Fallback
                    key, colon = quoted
                else:
                    colon = _key_split(entry)
                    if colon < 0:
                        raise Fallback
                    key = self.key(entry[:colon].rstrip(" "))
                if key in result:
                    raise Fallback
                rest = entry[colon + 1 :].lstrip(" ")
                value_column = column + len(entry) - len(rest)
                first = rest[:1]
                if first and first not in _INDICATORS and not (first == "-" and rest[1:2] in ("", " ")):
                    raw, value = self.plain(rest)
                    index[path + (key,)] = (line, value_column, line, column, raw, True)
                    entries[text] = (column, key, value_column, raw, value)
                    nodes += 2
                    line += 1
                elif first == "[" or first == "{":  # noqa: PLR1714 - `"" in "[{"` would be true
                    value = self.cached_flow(line, value_column, text, column, key, path + (key,), depth)
                    nodes += 1
                    line += 1
                else:
                    nodes += 1
                    value, line = self.value(
                        line, value_column, rest, column, path + (key,), (line, column), depth, True, column + colon + 1
                    )
                result[key] = value
            while line < count:  # the next entry: next_content, inlined
                text = lines[line]
                content = text.lstrip(" ")
                if content and content[0] != "#":
                    break
                line += 1
            else:
                self.nodes += nodes
                return result, line
            indent = self.checked_indent(text, content)
            if indent != column:
                if indent > column:
                    raise Fallback  # a continued plain scalar, or invalid indentation
                self.nodes += nodes
                return result, line

    def cached_flow(self, line: int, at: int, text: str, column: int, key: str, path: PathKey, depth: int) -> Any:
        """A one-line flow collection that is the value of `key` (the mapping is at `column`),
        remembered by its line for the lines that repeat it."""
        index = self.index
        placed: dict[PathKey, Entry] = {}
        self.index = placed
        nodes = self.nodes
        try:
            value, end = self.flow_node(line, at, path, line, column, depth)
        finally:
            self.index = index
        _nothing_but_a_comment(text, end)
        index.update(placed)
        depth_of_path = len(path)
        remembered = [
            (item_path[depth_of_path:], entry[1], entry[3], entry[4], entry[5]) for item_path, entry in placed.items()
        ]
        self.entries[text] = (column, key, at, _FLOW, (fresh(value), remembered, self.nodes - nodes + 1))
        return value

    def sequence(
        self, line: int, column: int, path: PathKey, key_line: int, key_column: int, depth: int
    ) -> tuple[list[Any], int]:
        lines = self.lines
        self.index[path] = (line, column, key_line, key_column, None, False)
        self.nodes += 1
        result: list[Any] = []
        while True:
            entry = lines[line][column:].rstrip(" ")
            rest = entry[1:].lstrip(" ")
            item_column = column + len(entry) - len(rest)
            item_path = path + (len(result),)
            if rest == "-" or rest.startswith("- "):
                raise Fallback  # a sequence on the same line as its parent's dash
            if rest and rest[0] != "#" and _key_split(rest) >= 0:
                value, line = self.mapping(line, item_column, item_path, -1, -1, depth + 1)
            else:
                value, line = self.value(line, item_column, rest, column, item_path, _NO_KEY, depth, False, column + 1)
            result.append(value)
            line, indent = self.next_content(line)
            if indent != column or not _is_dash(lines[line], column):
                if indent > column:
                    raise Fallback
                return result, line

    def value(
        self,
        line: int,
        column: int,
        rest: str,
        parent: int,
        path: PathKey,
        key: tuple[int, int],
        depth: int,
        in_mapping: bool,
        empty_column: int,
    ) -> tuple[Any, int]:
        """The node that starts at `column` of `line` (its text from there is `rest`), inside a
        block collection at column `parent`, and the line after it. `key` is where its key is
        ((-1, -1) for none); an empty node is placed at `empty_column`, where libyaml places it
        (just after the `:` or the `-`)."""
        key_line, key_column = key
        if not rest or rest[0] == "#":
            following, indent = self.next_content(line + 1)
            if following < self.count:
                if indent > parent:
                    return self.block(following, indent, path, key_line, key_column, depth + 1)
                if indent == parent and in_mapping and _is_dash(self.lines[following], indent):
                    # A sequence in a mapping need not be indented.
                    return self.sequence(following, indent, path, key_line, key_column, depth + 1)
            self.index[path] = (line, empty_column, key_line, key_column, "", True)
            self.nodes += 1
            return None, line + 1
        first = rest[0]
        if first == "|":
            self.nodes += 1
            return self.literal(line, column, rest, parent, path, key_line, key_column)
        if first in "[{'\"":
            text = self.lines[line]
            value, end = self.flow_node(line, column, path, key_line, key_column, depth)
            _nothing_but_a_comment(text, end)
            return value, line + 1
        if first in _INDICATORS or (first == "-" and rest[1:2] in ("", " ")):
            raise Fallback
        raw, value = self.plain(rest)
        self.index[path] = (line, column, key_line, key_column, raw, True)
        self.nodes += 1
        return value, line + 1

    def literal(
        self, line: int, column: int, header: str, parent: int, path: PathKey, key_line: int, key_column: int
    ) -> tuple[str, int]:
        """A literal block scalar (`|` or `|-`) without an indentation indicator."""
        match = _BLOCK_HEADER.fullmatch(header)
        if match is None:
            raise Fallback  # `|+`, an indentation indicator, or junk after the header
        lines = self.lines
        count = self.count
        start = line + 1
        widest_empty = 0
        first = start
        while first < count and not lines[first].strip(" "):
            widest_empty = max(widest_empty, len(lines[first]))
            first += 1
        if first == count:
            raise Fallback
        content = lines[first]
        first_indent = len(content) - len(content.lstrip(" "))
        indent = max(widest_empty, first_indent, parent + 1)
        if first_indent < indent:
            raise Fallback  # an empty block, or leading blank lines wider than the text
        body: list[str] = [""] * (first - start)
        last = first  # the last line with content
        end = first
        while end < count:
            text = lines[end]
            stripped = text.lstrip(" ")
            if len(text) - len(stripped) >= indent:
                part = text[indent:]
                body.append(part)
                if part:
                    last = end
            elif not stripped:
                body.append("")
            elif "\t" in text[: len(text) - len(stripped) + 1]:
                raise Fallback  # a tab where libyaml expects indentation
            else:
                break
            end += 1
        value = "\n".join(body[: last - start + 1])
        if not match.group(1) and last < count - 1:
            value += "\n"  # clip: the last line's break, if it has one
        self.index[path] = (line, column, key_line, key_column, value, False)
        return value, end

    def flow_node(
        self, line: int, at: int, path: PathKey, key_line: int, key_column: int, depth: int
    ) -> tuple[Any, int]:
        """A quoted scalar or a flow collection that ends on its line: its value and the index after it."""
        text = self.lines[line]
        first = text[at]
        self.nodes += 1
        if first in "[{":
            if depth > MAX_DEPTH:
                raise Fallback
            self.index[path] = (line, at, key_line, key_column, None, False)
            if first == "[":
                return self.flow_sequence(line, at, path, depth + 1)
            return self.flow_mapping(line, at, path, depth + 1)
        value, end = _single_quoted(text, at) if first == "'" else _double_quoted(text, at)
        self.index[path] = (line, at, key_line, key_column, value, False)
        return value, end

    def flow_sequence(self, line: int, column: int, path: PathKey, depth: int) -> tuple[list[Any], int]:
        """The items of `[a, 'b', [c]]` on one line, and the index after the `]`."""
        text = self.lines[line]
        items: list[Any] = []
        at = _skip_spaces(text, column + 1)
        if text[at : at + 1] == "]":
            return items, at + 1
        while True:
            value, at = self.flow_item(line, at, path + (len(items),), -1, -1, depth)
            items.append(value)
            closed, at = _after_item(text, at, "]")
            if closed:
                return items, at

    def flow_mapping(self, line: int, column: int, path: PathKey, depth: int) -> tuple[dict[str, Any], int]:
        """The entries of `{a: 1, b: 'x', c: [d]}` on one line, and the index after the `}`."""
        text = self.lines[line]
        entries: dict[str, Any] = {}
        at = _skip_spaces(text, column + 1)
        if text[at : at + 1] == "}":
            return entries, at + 1
        while True:
            if text[at : at + 1] in _QUOTES:
                quoted = _quoted_key(text, at)
                if quoted is None:
                    raise Fallback
                key, colon = quoted
            else:
                colon = text.find(": ", at)
                if colon < 0:
                    raise Fallback
                key = text[at:colon].rstrip(" ")
                if _FLOW_KEY_STOP.search(key) or ":?" in key:
                    raise Fallback
                self.key(key)
            if key in entries:
                raise Fallback
            self.nodes += 1
            entries[key], at = self.flow_item(line, _skip_spaces(text, colon + 1), path + (key,), line, at, depth)
            closed, at = _after_item(text, at, "}")
            if closed:
                return entries, at

    def flow_item(
        self, line: int, at: int, path: PathKey, key_line: int, key_column: int, depth: int
    ) -> tuple[Any, int]:
        """A node inside a one-line flow collection: its value and the index after it."""
        text = self.lines[line]
        if text[at : at + 1] in ("'", '"', "[", "{"):
            return self.flow_node(line, at, path, key_line, key_column, depth)
        stop = _FLOW_END.search(text, at)
        end = stop.start() if stop else len(text)
        raw = text[at:end].rstrip(" ")
        if (
            not raw
            or raw[0] in _INDICATORS
            or (raw[0] == "-" and raw[1:2] in ("", " "))
            or " #" in raw
            or ": " in raw
            or ":?" in raw
            or raw.endswith(":")
        ):
            raise Fallback  # empty items, pairs, comments, and what libyaml refuses in flow context
        self.nodes += 1
        self.index[path] = (line, at, key_line, key_column, raw, True)
        return self.plain(raw)[1], end


def _nothing_but_a_comment(text: str, end: int) -> None:
    """`Fallback` if anything but spaces and a comment follows a quoted scalar or flow collection."""
    tail = text[end:]
    if tail.strip(" ") and not (tail[0] == " " and tail.lstrip(" ")[0] == "#"):
        raise Fallback


def _after_item(text: str, at: int, close: str) -> tuple[bool, int]:
    """After a flow item that ends at `at`: (True, the index after `close`) or (False, the start of
    the next item, after the `,`); `Fallback` for anything else."""
    at = _skip_spaces(text, at)
    mark = text[at : at + 1]
    if mark == close:
        return True, at + 1
    if mark != ",":
        raise Fallback
    return False, _skip_spaces(text, at + 1)


def _skip_spaces(text: str, at: int) -> int:
    while text[at : at + 1] == " ":
        at += 1
    return at
