"""Manifest data → YAML text, the very bytes libyaml's emitter writes, without PyYAML.

The compiler's output format was defined by PyYAML's CSafeDumper (libyaml 0.2.5) in block style,
no line folding, Unicode kept, strings with a line break as literal blocks and strings that a
YAML parser would misread in single quotes (`emit.py`). Importing PyYAML and dumping through it
cost more than the rest of a 1,000-task compile, so this module writes the same text directly.
It follows libyaml's src/emitter.c: `yaml_emitter_analyze_scalar` decides which styles a string
allows, `yaml_emitter_select_scalar_style` picks one, and the writers lay it out (block mappings
indented by two, sequences in a mapping not indented, empty collections as `{}` and `[]`).

It covers what manifests are made of: dicts with string keys, lists, str, int, bool and None.
For anything else (a float, a key longer than 128 bytes or holding a line break, a line or
paragraph separator, an unpaired surrogate) it raises `Unsupported` and the caller dumps with
PyYAML, so the text never depends on which writer ran. `tests/test_yaml_writer.py` compares the
two on every golden and on generated data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .yaml11 import implicit_type


class Unsupported(Exception):
    """The data holds something this writer does not write as libyaml does."""


# Strings written in single quotes although PyYAML would read them back as strings: Go's YAML
# 1.1 parsers (Argo, kubectl) also read y/n as booleans, and YAML 1.2 parsers read 1e3 and 0o17
# as numbers. The dumper asked for the quotes explicitly; the result is the same style choice.
AMBIGUOUS = re.compile(
    r"""^(?:[yYnN]|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|true|True|TRUE|false|False|FALSE
    |~|null|Null|NULL
    |[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)
    |[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |\d{4}-\d\d?-\d\d?.*)$""",
    re.VERBOSE,
)
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
# First characters that make a plain scalar something else (libyaml's "indicators").
_INDICATOR_FIRST = frozenset("#,[]{}&*!|>'\"%@`")
_BREAKS = frozenset("\r\n\x85\u2028\u2029")
_SEPARATORS = frozenset("\u2028\u2029")  # breaks libyaml writes raw, re-indenting after them: not covered
_ESCAPES = {
    "\x00": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
MAX_SIMPLE_KEY = 128  # libyaml's limit (bytes) for a key written as `key:`; longer ones get `? `


def _printable(char: str) -> bool:
    """libyaml's IS_PRINTABLE: LF, printable ASCII, and the BMP but for surrogates and specials."""
    code = ord(char)
    return (
        code == 0x0A or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


class _Styles:
    """Which styles libyaml allows for a string (`yaml_emitter_analyze_scalar`)."""

    __slots__ = ("block", "plain", "single")

    def __init__(self, plain: bool, single: bool, block: bool) -> None:
        self.plain = plain  # block_plain_allowed: we never write flow collections with content
        self.single = single
        self.block = block


def _styles(value: str) -> _Styles:
    if not value:
        return _Styles(True, True, False)
    if _PRINTABLE_ASCII.fullmatch(value):  # the common case: no breaks, no special characters
        first = value[0]
        indicators = (
            value.startswith(("---", "..."))
            or first in _INDICATOR_FIRST
            or (first in "?:-" and value[1:2] in ("", " "))
            or ": " in value
            or value.endswith(":")
            or " #" in value
        )
        edge_space = first == " " or value[-1] == " "
        return _Styles(not (indicators or edge_space), True, value[-1] != " ")
    return _analyze(value)


def _blank_or_end(value: str, index: int) -> bool:
    """libyaml's IS_BLANKZ at `index`: space, tab, a line break, NUL or the end of the text."""
    return index >= len(value) or value[index] in " \t\x00" or value[index] in _BREAKS


def _analyze(value: str) -> _Styles:
    """The general case of `yaml_emitter_analyze_scalar`, character by character."""
    block_indicators = value.startswith(("---", "..."))
    line_breaks = special = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = previous_space = previous_break = False
    preceded_by_whitespace = True
    last = len(value) - 1
    for index, char in enumerate(value):
        followed_by_whitespace = _blank_or_end(value, index + 1)
        if index == 0:
            if char in _INDICATOR_FIRST or (char in "?:-" and followed_by_whitespace):
                block_indicators = True
        elif (char == ":" and followed_by_whitespace) or (char == "#" and preceded_by_whitespace):
            block_indicators = True
        if not _printable(char):
            special = True
        if char == " ":
            leading_space = leading_space or index == 0
            trailing_space = trailing_space or index == last
            break_space = break_space or previous_break
            previous_space, previous_break = True, False
        elif char in _BREAKS:
            line_breaks = True
            leading_break = leading_break or index == 0
            trailing_break = trailing_break or index == last
            space_break = space_break or previous_space
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_whitespace = _blank_or_end(value, index)
    plain = not (leading_space or leading_break or trailing_space or trailing_break)
    single = block = True
    if trailing_space:
        block = False
    if break_space:
        plain = single = False
    if space_break or special:
        plain = single = block = False
    if line_breaks or block_indicators:
        plain = False
    return _Styles(plain, single, block)


def _double_quoted(value: str) -> str:
    out = ['"']
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _printable(char):
            out.append(char)
        elif "\ud800" <= char <= "\udfff":
            raise Unsupported("an unpaired surrogate cannot be written as UTF-8")
        else:
            code = ord(char)
            out.append(f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
    out.append('"')
    return "".join(out)


def _quoted(value: str, styles: _Styles) -> str:
    """Single quotes where libyaml allows them, else double quotes with escapes."""
    if not styles.single:
        return _double_quoted(value)
    if any(char in _SEPARATORS for char in value):
        raise Unsupported("a line or paragraph separator in single quotes")
    return "'" + value.replace("'", "''") + "'"


def _flat_string(value: str, key: bool) -> str:
    """A string on one line: plain when libyaml allows it and it reads back as a string."""
    styles = _styles(value)
    if (
        styles.plain
        and not (key and not value)
        and not (value and AMBIGUOUS.match(value))
        and implicit_type(value) is None
    ):
        return value
    return _quoted(value, styles)


class _Writer:
    """Writes block-style YAML into `out`, one document after another."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.keys: dict[str, str] = {}  # key → `key:`; manifests repeat a few dozen keys
        self.values: dict[str, str] = {}  # one-line string → its text and line break
        self.open_ended = False  # the last block scalar kept trailing line breaks (`|+`)

    def document(self, document: Any, explicit_start: bool) -> None:
        if type(document) is not dict or not document:
            raise Unsupported("a document that is not a non-empty mapping")
        self.open_ended = False
        if explicit_start:
            self.out.append("---\n")
        self.mapping(document, 0, inline=False)

    def end(self) -> str:
        if self.open_ended:  # libyaml ends a stream whose last block scalar is `|+` with `...`
            self.out.append("...\n")
        return "".join(self.out)

    def key(self, key: Any) -> str:
        text = self.keys.get(key) if type(key) is str else None
        if text is None:
            if type(key) is not str:
                raise Unsupported("a mapping key that is not a string")
            if any(char in _BREAKS for char in key) or len(key.encode("utf-8", "surrogatepass")) > MAX_SIMPLE_KEY:
                raise Unsupported("a key libyaml writes as a complex key")
            text = _flat_string(key, key=True) + ":"
            self.keys[key] = text
        return text

    def mapping(self, mapping: dict[Any, Any], indent: int, inline: bool) -> None:
        out = self.out
        pad = " " * indent
        for key, value in mapping.items():
            if inline:
                inline = False
            else:
                out.append(pad)
            out.append(self.key(key))
            self.node(value, indent, after_dash=False)

    def sequence(self, sequence: list[Any], indent: int, inline: bool) -> None:
        out = self.out
        dash = " " * indent + "-"
        for item in sequence:
            if inline:
                inline = False
                out.append("-")
            else:
                out.append(dash)
            self.node(item, indent, after_dash=True)

    def node(self, value: Any, indent: int, after_dash: bool) -> None:
        """A value after `key:` or `-` at `indent`: a collection goes on the same line after a
        dash and on the next lines after a key (a sequence then not indented); a scalar follows."""
        out = self.out
        kind = type(value)
        if kind is dict or kind is list:
            if not value:
                out.append(" {}\n" if kind is dict else " []\n")
            elif after_dash:
                out.append(" ")
                (self.mapping if kind is dict else self.sequence)(value, indent + 2, inline=True)
            elif kind is dict:
                out.append("\n")
                self.mapping(value, indent + 2, inline=False)
            else:
                out.append("\n")
                self.sequence(value, indent, inline=False)
        else:
            out.append(" ")
            out.append(self.scalar(value, indent + 2))

    def scalar(self, value: Any, indent: int) -> str:
        """A scalar's text and its line break; `indent` is where a literal block's lines start."""
        kind = type(value)
        if kind is str:
            text = self.values.get(value)
            if text is not None:
                return text
            if "\n" in value:
                return self.literal(value, indent)
            text = _flat_string(value, key=False) + "\n"
            self.values[value] = text
            return text
        if kind is bool:
            return "true\n" if value else "false\n"
        if kind is int:
            return f"{value}\n"
        if value is None:
            return "null\n"
        raise Unsupported(f"a {kind.__name__} value")

    def literal(self, value: str, indent: int) -> str:
        """A string with a line break: a literal block (`|`), or double quotes where libyaml
        allows no block (trailing spaces on a line, control characters)."""
        styles = _analyze(value)
        if not styles.block:  # libyaml turns a literal it cannot write into double quotes
            return _double_quoted(value) + "\n"
        if any(char in _SEPARATORS for char in value):
            raise Unsupported("a line or paragraph separator in a literal block")
        indent_hint = "2" if value[0] in " \n\r\x85" else ""
        if value[-1] not in _BREAKS:
            chomp = "-"
        elif len(value) == 1 or value[-2] in _BREAKS:
            chomp = "+"
        else:
            chomp = ""
        self.open_ended = chomp == "+"
        pad = " " * indent
        body = "\n".join(pad + line if line else "" for line in value.split("\n"))
        return f"|{indent_hint}{chomp}\n{body}" + ("" if body.endswith("\n") else "\n")


def dump(documents: Sequence[Any]) -> str:
    """The YAML stream libyaml writes for `documents` (`---` before each when there are several)."""
    if not documents:
        raise Unsupported("an empty stream")
    writer = _Writer()
    for document in documents:
        writer.document(document, explicit_start=len(documents) > 1)
    return writer.end()
