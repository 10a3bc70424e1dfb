"""`fast_yaml` reads what the full loader reads, or steps aside.

The reference is `full_yaml` (libyaml's events, the loader every spec went through before). For
each text: whenever the fast reader answers, the full loader accepts the text without a warning
and gives the same data (types included) and the same position of every node; and the fast
reader answers for the specs it exists for (the corpus, the goldens), so the comparison cannot
pass by always stepping aside.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from osmo2argo import fast_yaml, full_yaml, template
from osmo2argo.errors import CompileError
from osmo2argo.source import plain_locator

from .conftest import ROOT, shared_examples

EXAMPLES = int(os.environ.get("OSMO2ARGO_FUZZ_EXAMPLES", "300"))


def full(text: str) -> tuple[Any, Any] | None:
    """The full loader's data and index, or None if it reports anything (error or warning)."""
    try:
        data, index, warnings = full_yaml.load(text, "spec.yaml", plain_locator("spec.yaml"))
    except CompileError:
        return None
    return None if warnings else (data, index)


def fast(text: str) -> tuple[Any, Any] | None:
    try:
        return fast_yaml.load(text)
    except fast_yaml.Fallback:
        return None


def check(text: str) -> bool:
    """The fast reader agrees with the full loader on `text`; True if it answered."""
    ours = fast(text)
    if ours is None:
        return False
    reference = full(text)
    assert reference is not None, "the fast reader accepted text the full loader refuses or warns about"
    assert ours[0] == reference[0]
    assert _typed(ours[0]) == _typed(reference[0])  # 1 == 1.0 == True: compare the types too
    assert ours[1] == reference[1]
    return True


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _texts_of(path: Path) -> list[str]:
    """What the pipeline loads from a file: each top-level section, and the whole file (targets)."""
    text = path.read_text(encoding="utf-8")
    sections, _ = template.split_sections(text, path.name)
    return [text, *(section.text for section in sections.values())]


CORPUS = [
    *shared_examples(),
    *sorted((ROOT / "golden").glob("*/input.yaml")),
    *sorted((ROOT / "golden").glob("*/target.yaml")),
    *sorted((ROOT / "tests" / "examples").glob("*.yaml")),
    *sorted((ROOT / "tests" / "targets").glob("*.yaml")),
]
# Files the fast reader leaves to the full loader, and why: each is the full loader's business.
FALLS_BACK = {
    "cookbook__integration_and_tools__github__github.yaml": "a duplicate key (W101)",
    "test__workflow__parallel_workflow_multi_groups.yaml": "a duplicate key (W101)",
    "test__workflow__resource_type.yaml": "a duplicate key (W101)",
    "yaml11-strings/input.yaml": "octal, sexagesimal and `_` numbers",
}


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_fast_reader_reads_the_corpus_as_the_full_loader(path: Path) -> None:
    texts = _texts_of(path)
    answered = [check(text) for text in texts]
    if any(str(path).endswith(name) for name in FALLS_BACK):
        assert not all(answered), "the fast reader now reads this file: take it off FALLS_BACK"
    else:  # everything the full loader reads without a word, the fast reader reads too
        assert all(done or full(text) is None for done, text in zip(answered, texts, strict=True))


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 60


# -- generated text ------------------------------------------------------------------------------

_SCALARS = [
    "a", "name", "ubuntu:24.04", "s3://bucket/path", "-c", "--flag", "a b", "a  b", "x#y", "a #c", "{{output}}",
    "yes", "No", "on", "~", "null", "1", "-1", "010", "0x1F", "1_000", "1.5", "1.", ".5", "1e3", "1.0e+3",
    "2001-12-14", "=", "<<", "-", "?", "?x", ":x", "a:b", "a: b", "a:", "@x", "`x", "%x", "!x", "&a", "*a",
    "é", "✓", "'q'", "'it''s'", "'a: b'", '"d"', '"e\\n\\t\\x41\\u00e9"', '"bad\\q"', "'open", '"open', "[a, b]",
    "[]", "{}", "[a, [b, c]]", "{k: v}", "{k: [v, w], l: 'x'}", "[a, ]", "[a b]", "[a:b]", "[a: b]", "{a}",
    "[-, x]", "[x, -y]", "|", "|-", "|+", "|2", ">", ">-", "", "   ", "\t", "a\tb",
]  # fmt: skip
_KEYS = ["name", "image", "args", "a", "b", "a b", "a:b", "-x", "on", "1", "~", "<<", "'q'", "a #c", "x" * 30]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """Lines of YAML-like text: keys, dashes, scalars, blocks, comments, at random indents."""
    lines = []
    for _ in range(draw(st.integers(1, 14))):
        indent = " " * draw(st.sampled_from([0, 0, 0, 2, 2, 4, 4, 6, 1, 3]))
        kind = draw(st.sampled_from(["key", "key", "key:", "dash", "dash-key", "dash", "block", "comment", "blank"]))
        key = draw(st.sampled_from(_KEYS))
        scalar = draw(st.sampled_from(_SCALARS))
        if kind == "key":
            lines.append(f"{indent}{key}: {scalar}")
        elif kind == "key:":
            lines.append(f"{indent}{key}:" + draw(st.sampled_from(["", "  ", " # note"])))
        elif kind == "dash":
            lines.append(f"{indent}- {scalar}" if scalar else f"{indent}-")
        elif kind == "dash-key":
            lines.append(f"{indent}- {key}: {scalar}")
        elif kind == "block":
            lines.append(f"{indent}{key}: " + draw(st.sampled_from(["|", "|-", "|+"])))
            for _ in range(draw(st.integers(0, 3))):
                lines.append(" " * draw(st.integers(0, 8)) + draw(st.sampled_from(["text", "", "# not a comment"])))
        elif kind == "comment":
            lines.append(f"{indent}# {scalar}")
        else:
            lines.append(indent)
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


_KEYS_OF_MAPPINGS = ["name", "image", "args", "command", "a", "b2", "a b", "a:b", "-x", "nvidia.com/gpu", "k_1",
                     "'quoted'", "'it''s: x'", '"dq \\t"', "'on'", "'1'"]  # fmt: skip
_VALUES = [
    "a", "ubuntu:24.04", "s3://bucket/p", "-c", "--flag", "a  b", "x#y", "{{output}}/x", "yes", "No", "~",
    "null", "0", "7", "-12", "+3", "1.5", "-0.0", ".5", "1.", "22.04", "1e3", "é ✓", "a,b", "a]b", "a}b", "'q'",
    "'it''s'", "' lead'", '"d"', '"e\\n\\t\\x41\\u00e9\\U0001F600"', '"q\\"uote"', "'a: b # c'",
]  # fmt: skip


@st.composite
def structured_texts(draw: st.DrawFn) -> str:
    """Valid YAML in the styles specs use: nested block collections with random indentation,
    one-line flow collections, literal blocks, comments and blank lines."""
    lines: list[str] = []

    def gap() -> None:
        for _ in range(draw(st.integers(0, 1))):
            lines.append(" " * draw(st.integers(0, 6)) + draw(st.sampled_from(["", "# comment", "#"])))

    def flow(depth: int) -> str:
        kind = draw(st.sampled_from(["[]", "{}", "scalar", "scalar"] if depth < 2 else ["scalar"]))
        if kind == "scalar":
            return draw(st.sampled_from([v for v in _VALUES if v[0] not in "-" or v[1:2].isalpha()]))
        items = [flow(depth + 1) for _ in range(draw(st.integers(0, 3)))]
        if kind == "{}":
            keys = draw(
                st.lists(st.sampled_from(["a", "b", "cpu", "'memory'", "k:1", '"q r"']), unique=True, max_size=3)
            )
            items = [f"{key}: {item}" for key, item in zip(keys, items, strict=False)]
        separator = draw(st.sampled_from([", ", ",", " , "]))
        return kind[0] + separator.join(items) + kind[1]

    def scalar() -> str:
        text = draw(st.sampled_from(_VALUES)) if draw(st.booleans()) else flow(0)
        return text + draw(st.sampled_from(["", "", "  # trailing"]))

    def node(indent: int, depth: int, in_sequence: bool) -> tuple[str, list[str]]:
        """The rest of the line that introduces a node, and the lines that follow it."""
        kind = draw(st.sampled_from(["scalar", "scalar", "map", "seq", "block", "empty"] if depth < 4 else ["scalar"]))
        if kind == "scalar":
            return " " + scalar(), []
        if kind == "empty":
            return draw(st.sampled_from(["", " # nothing"])), []
        if kind == "block":
            width = indent + draw(st.integers(1, 4))
            body = [" " * width + draw(st.sampled_from(["text", "more text", "# hash", " indented"]))]
            body += [draw(st.sampled_from(["", " " * width + "line", " " * (width + 2) + "deeper"]))
                     for _ in range(draw(st.integers(0, 3)))]  # fmt: skip
            return " " + draw(st.sampled_from(["|", "|-", "| # c"])), body
        saved, lines[:] = lines[:], []
        inner = indent + draw(st.sampled_from([1, 2, 2, 4]))
        if kind == "seq" and not in_sequence and draw(st.booleans()):
            inner = indent  # a sequence in a mapping need not be indented
        (mapping if kind == "map" else sequence)(inner, depth + 1)
        body, lines[:] = lines[:], saved
        return "", body

    def mapping(indent: int, depth: int, first_prefix: str | None = None) -> None:
        keys = draw(st.lists(st.sampled_from(_KEYS_OF_MAPPINGS), min_size=1, max_size=4, unique=True))
        for number, key in enumerate(keys):
            rest, body = node(indent, depth, False)
            prefix = first_prefix if number == 0 and first_prefix is not None else " " * indent
            lines.append(f"{prefix}{key}:{rest}")
            lines.extend(body)
            gap()

    def sequence(indent: int, depth: int) -> None:
        for _ in range(draw(st.integers(1, 4))):
            spaces = draw(st.sampled_from([1, 1, 2]))
            if depth < 4 and draw(st.booleans()):  # a mapping that starts on the dash's line
                mapping(indent + 1 + spaces, depth + 1, first_prefix=" " * indent + "-" + " " * spaces)
                continue
            rest, body = node(indent, depth, True)
            lines.append(" " * indent + "-" + rest)
            lines.extend(body)
            gap()

    gap()
    mapping(draw(st.sampled_from([0, 0, 2])), 0)
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(structured_texts())
def test_structured_text_reads_the_same(text: str) -> None:
    check(text)


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(yaml_texts())
@example("a: 1\nb:\n")  # an empty value at the end: placed after the `:`
@example("k:\n- a\n-\n- - b\n")
@example("k: |\n  one\n\n   two\n  \n")
@example("k: |-\n\n  text\n")
@example("- a: 1\n  b: [x, {y: z}]\n- c\n")
@example("a: 'x' # c\nb: \"y\"#z\n")
def test_generated_text_reads_the_same(text: str) -> None:
    check(text)


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """A real spec with a few lines changed: indents moved, characters put in, lines doubled."""
    sources = [path for path in CORPUS if path.suffix == ".yaml"]
    lines = draw(st.sampled_from(sources)).read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["indent", "dedent", "insert", "double", "drop"]))
        if how == "indent":
            lines[at] = " " + lines[at]
        elif how == "dedent":
            lines[at] = lines[at][1:] if lines[at].startswith(" ") else lines[at]
        elif how == "insert":
            column = draw(st.integers(0, len(lines[at])))
            piece = draw(st.sampled_from([":", " ", "#", "-", "'", '"', "[", "{", "\t", "&a", "*a", "!t", "|"]))
            lines[at] = lines[at][:column] + piece + lines[at][column:]
        elif how == "double":
            lines.insert(at, lines[at])
        else:
            del lines[at]
    return "\n".join(lines)


@settings(max_examples=EXAMPLES, deadline=None)
@given(mutated_specs())
def test_mutated_specs_read_the_same(text: str) -> None:
    check(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n---\nb: 2\n",  # a second document
        "a: &x 1\nb: *x\n",  # anchors
        "a: !!str 1\n",  # tags
        "a: >\n  folded\n",
        "a: b\n  continued\n",  # a multi-line plain scalar
        "a: 'one\n  two'\n",
        "a:\tb\n",
        "a: 1\na: 2\n",
        "1: one\n",
        "a: 010\n",  # octal
        "a: 2001-12-14\n",
    ],
)
def test_fast_reader_steps_aside(text: str) -> None:
    assert fast(text) is None
