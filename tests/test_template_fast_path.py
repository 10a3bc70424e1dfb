"""The render fast path (`template.substitute_names`) gives Jinja's exact output, or steps aside.

Each case renders the same text and data with OSMO's Jinja environment (sandboxed, undefined names
are errors) and checks: whenever the fast path answers, its answer is Jinja's byte for byte; and it
answers for the templates it exists for (names of plain values), so the check cannot pass by
always stepping aside.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
import jinja2.sandbox
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from osmo2argo.template import SECTION_START_RE, Variables, render_workflow, split_sections, substitute_names

ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
LIMIT = 1 << 20


def jinja(text: str, data: dict[str, Any]) -> str | None:
    """Jinja's rendering, or None where Jinja fails (syntax, undefined name, anything)."""
    try:
        return ENV.from_string(text).render(data)
    except Exception:  # noqa: BLE001 - any failure is "no output" for this comparison
        return None


_PIECES = ["{", "}", "{{", "}}", "{%", "%}", "{#", "#}", " ", "\t", "\n", "a", "b", "x", "true", "None",
           "-", ":", "'", "{{ a }}", "{{b}}", "{{\ta }}", "{{ x }}", "{{ true }}", "{{ a|upper }}",
           "{{ a.b }}", "{{- a }}", "{{ c }}"]  # fmt: skip
_VALUES = st.one_of(
    st.text(max_size=6),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["k"]), st.integers(), max_size=1),
)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
    st.dictionaries(st.sampled_from(["a", "b", "x", "true", "None"]), _VALUES, max_size=4),
)
@example("{{{ a }}", {"a": "v"})
@example("name: {{ a }}\n", {"a": 22.04})
@example("{{ true }}", {"true": "shadowed?"})
def test_fast_path_output_is_jinjas(text: str, data: dict[str, Any]) -> None:
    fast = substitute_names(text, data, LIMIT)
    if fast is not None:
        assert fast == jinja(text, data)


@pytest.mark.parametrize(
    ("text", "data", "want"),
    [
        ("name: {{workflow_name}}\n", {"workflow_name": "hello-osmo"}, "name: hello-osmo"),
        ("image: ubuntu:{{ ubuntu_version }}\n\n", {"ubuntu_version": 22.04}, "image: ubuntu:22.04\n"),
        ("n: {{ n }} {{n}}", {"n": 3}, "n: 3 3"),
        ("flag: {{ f }}, none: {{ z }}", {"f": True, "z": None}, "flag: True, none: None"),
        ("args: ['{{__osmo_token_0}}']", {"__osmo_token_0": "{{output}}"}, "args: ['{{output}}']"),
    ],
)
def test_fast_path_answers_for_plain_names(text: str, data: dict[str, Any], want: str) -> None:
    assert substitute_names(text, data, LIMIT) == want == jinja(text, data)


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("{{ missing }}", {}),  # Jinja's E122 with its position
        ("{{ a | upper }}", {"a": "x"}),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", {}),
        ("{# comment #}{{ a }}", {"a": 1}),
        ("{{ a }}", {"a": [1, 2]}),
        ("{{{ a }}", {"a": 1}),
        ("{{ true }}", {"true": 1}),
        ("{{ a }}{{ a }}", {"a": "x" * 600_000}),  # over the output limit: Jinja's path says E124
    ],
)
def test_fast_path_steps_aside(text: str, data: dict[str, Any]) -> None:
    assert substitute_names(text, data, LIMIT) is None


# OSMO's own split (src/utils/job/workflow.py), which `template.split_sections` must equal.
_OSMO_SECTION_RE = re.compile(
    r"^([a-zA-Z][a-zA-Z0-9_-]*):(.*?)(?=^[a-zA-Z][a-zA-Z0-9_-]*:|\Z)", re.DOTALL | re.MULTILINE
)
_SECTION_PIECES = ["workflow:", "default-values:", "version:", "Workflow:", "x-1:", "a", " ", "\n", ":", "#", "-", "1:"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_SECTION_PIECES), max_size=20).map("".join))
@example("# c\nworkflow:\n  a: 1\ndefault-values:\n  b: 2\n")
def test_sections_are_osmos(text: str) -> None:
    osmo = [(m.group(1), m.group(1) + ":" + m.group(2)) for m in _OSMO_SECTION_RE.finditer(text)]
    ours = [(m.group(1), text[m.start() : end]) for m, end in _starts_and_ends(text)]
    assert ours == osmo
    sections, _ = split_sections(text, "spec.yaml")
    first = {key: body for key, body in reversed(osmo)}  # the first of a key wins; later ones are E111
    assert {key: section.text for key, section in sections.items()} == {key: first[key] for key in sections}


def _starts_and_ends(text: str) -> list[tuple[re.Match[str], int]]:
    starts = list(SECTION_START_RE.finditer(text))
    return [(m, starts[i + 1].start() if i + 1 < len(starts) else len(text)) for i, m in enumerate(starts)]


@pytest.mark.parametrize(
    "markup",
    ["{{ image }}", "{% if true %}{{ image }}{% endif %}"],
    ids=["fast path", "jinja"],
)
@pytest.mark.parametrize("ending", ["\n", "\n\n"], ids=["newline", "blank line"])
def test_a_block_scalar_that_ends_a_templated_spec_reads_as_osmo_reads_it(markup: str, ending: str) -> None:
    """Jinja drops the text's last newline, so a `|` block on the last line of a templated spec
    loses its final line break in OSMO (Jinja, then PyYAML); osmo2argo must read the same value
    on both of its render paths."""
    text = (
        "default-values:\n  image: ubuntu:24.04\nworkflow:\n  name: w\n  tasks:\n  - name: t\n"
        f"    image: '{markup}'\n    command: [sh]\n    files:\n    - path: /f\n      contents: |\n"
        f"        line{ending}"
    )
    osmo = yaml.safe_load(jinja(text, {"image": "ubuntu:24.04"}) or "")
    ours = render_workflow(text, "spec.yaml", Variables()).document.data["workflow"]
    assert ours == osmo["workflow"]
    assert ours["tasks"][0]["files"][0]["contents"] == ("line" if ending == "\n" else "line\n")
