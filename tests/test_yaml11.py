"""`yaml11.implicit_type` gives a plain scalar the type PyYAML's resolver gives it."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from osmo2argo import yaml11

_RESOLVER = yaml.resolver.Resolver()
_PREFIX = "tag:yaml.org,2002:"


def pyyaml_type(text: str) -> str | None:
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return None if tag == _PREFIX + "str" else tag.removeprefix(_PREFIX)


_PIECES = list("0123456789_.:-+eExXbBoO ~tTzZ!&*=<") + [
    "yes", "No", "on", "OFF", "true", "FALSE", "null", "Null", "NULL", "inf", ".inf", ".NaN", "0x",
    "0b", "2001-12-14", "2001-1-4", "t", " \t", "21:59:43", ".10", "-05:00", "Z", "a", "y",
]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=7).map("".join))
def test_implicit_type_is_pyyamls(text: str) -> None:
    assert yaml11.implicit_type(text) == pyyaml_type(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("yes", "bool"),
        ("Off", "bool"),
        ("y", None),  # YAML 1.1 lists y/n; PyYAML does not read them as booleans
        ("1.10", "float"),
        ("1e3", None),  # no dot: a string to PyYAML
        ("1.0e+3", "float"),
        ("010", "int"),
        ("0o17", None),
        ("1:30", "int"),
        ("<<", "merge"),
        ("", "null"),
        ("~", "null"),
        ("2001-12-14", "timestamp"),
        ("2001-12-14 21:59:43.10 -5", "timestamp"),
        ("=", "value"),
        ("*", "yaml"),
        ("hello", None),
    ],
)
def test_known_types(text: str, kind: str | None) -> None:
    assert yaml11.implicit_type(text) == kind == pyyaml_type(text)
