"""The render fast path (`template.substitute_names`) gives Jinja's exact output, or steps aside.

Each case renders the same text and data with OSMO's Jinja environment (sandboxed, undefined names
are errors) and checks: whenever the fast path answers, its answer is Jinja's byte for byte; and it
answers for the templates it exists for (names of plain values), so the check cannot pass by
always stepping aside.
"""

from __future__ import annotations

from typing import Any

import jinja2
import jinja2.sandbox
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from osmo2argo.template import substitute_names

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
