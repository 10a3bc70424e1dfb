"""`yaml_writer` writes exactly what PyYAML's libyaml dumper writes, or steps aside.

The reference is `emit.pyyaml_dump`, the dumper that defined the output format. Each check dumps
the same data both ways: whenever the writer answers, its text is PyYAML's byte for byte; and it
answers for what manifests hold (every golden, the compiled examples, strings of every style),
so the comparison cannot pass by always stepping aside.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from osmo2argo import emit, yaml_writer

from .conftest import ROOT

GOLDEN_OUTPUTS = sorted((ROOT / "golden").glob("*/output.yaml"))


def written(documents: list[Any]) -> str | None:
    try:
        return yaml_writer.dump(documents)
    except yaml_writer.Unsupported:
        return None


@pytest.mark.parametrize("path", GOLDEN_OUTPUTS, ids=lambda p: p.parent.name)
def test_goldens_are_written_as_pyyaml_writes_them(path: Path) -> None:
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    assert written(documents) == emit.pyyaml_dump(documents)


# Pieces that decide a string's style: indicators, quotes, blanks, breaks, YAML 1.1 words and
# numbers, characters libyaml escapes, and ordinary text.
_PIECES = [
    "a", "b", "z", "é", "✓", "😀", " ", "  ", "\t", "\n", "\n\n", "\r", "\r\n", "\x85", "\u2028",
    "\ufeff", "\x00", "\x07", "\x1b", "\x7f", "\x9f", "\xa0", "\ufffe", "#", " #", ":", ": ", "-",
    "- ", "--- ", "...", "?", "? ", ",", "[", "]", "{", "}", "&", "*", "!", "|", ">", "'", '"', "%",
    "@", "`", "\\", "/", ".", "=", "<<", "~", "0", "1", "07", "0o17", "0x1F", "0b10", "1_000",
    "1e3", "1.5", ".5", "1:30", "-1", "+1", ".inf", ".NaN", "yes", "No", "on", "OFF", "y", "n",
    "true", "False", "null", "Null", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "{{inputs.parameters.task}}",
]  # fmt: skip
strings = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)
scalars = st.one_of(strings, st.integers(-(10**20), 10**20), st.booleans(), st.none())
_ONE_LINE = [piece for piece in _PIECES if not any(char in piece for char in "\r\n\x85\u2028")]
keys = st.one_of(
    st.lists(st.sampled_from(_ONE_LINE), max_size=6).map("".join),
    st.sampled_from(["name", "image", "a.b/c", "y", "on", "1", ""]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)
documents = st.lists(st.dictionaries(keys, values, min_size=1, max_size=5), min_size=1, max_size=3)


@settings(max_examples=int(os.environ.get("OSMO2ARGO_FUZZ_EXAMPLES", "300")), deadline=None)
@given(documents)
@example([{"a": "x\n\n"}])  # `|+` last in the stream: libyaml ends it with `...`
@example([{"a": "x\n\n", "b": "c"}])
@example([{"a": "x\n\n"}, {"b": "c"}])
@example([{"a": [["x", {"b": [[]]}], {}]}])
@example([{"k": " lead\n"}, {"k": "\nlead"}, {"k": "trail \nx"}, {"k": "x\n "}])
def test_writer_output_is_pyyamls(docs: list[dict[Any, Any]]) -> None:
    ours = written(docs)
    if ours is not None:
        assert ours == emit.pyyaml_dump(docs)


@pytest.mark.parametrize(
    "value",
    [
        "plain text",
        "",
        "yes",
        "1.10",
        "it's",
        "- item",
        "key: value",
        "a #comment",
        "trailing ",
        " leading",
        "tab\there",
        "bell\x07",
        "é and ✓",
        "emoji 😀",
        "line\nbreak",
        "ends with break\n",
        "two breaks\n\n",
        " indented\nblock",
        "space before break \nx",
        "\r\n",
        "bom\ufeff",
        "{{inputs.parameters.task}}",
    ],
)
def test_writer_covers_every_style(value: str) -> None:
    documents = [{"k": value, "list": [value], "map": {"nested": value}}]
    if "\n" not in value and "\r" not in value:  # keys with a line break are `? key` (below)
        documents.append({value: value})
    assert written(documents) == emit.pyyaml_dump(documents)


@pytest.mark.parametrize(
    "document",
    [
        {"k": 1.5},  # floats: PyYAML's repr rules
        {"k": "a\u2028b"},  # a separator in single quotes: libyaml re-indents after it
        {"x" * 129: 1},  # a key libyaml writes as `? key`
        {"multi\nline": 1},
        {1: "int key"},
        {"k": ("a", "tuple")},
    ],
)
def test_writer_steps_aside_where_it_does_not_cover(document: dict[Any, Any]) -> None:
    assert written([document]) is None


def test_to_yaml_falls_back_to_pyyaml() -> None:
    manifest = {"apiVersion": "v1", "ratio": 0.5}
    assert emit.to_yaml([manifest]) == emit.pyyaml_dump([manifest]) == "apiVersion: v1\nratio: 0.5\n"
