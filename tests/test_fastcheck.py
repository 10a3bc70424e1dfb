"""`fastcheck` says "valid" exactly when jsonschema finds no error, for both of our schemas.

`schema.check` trusts the fast yes/no answer and runs jsonschema only on a "no", so a wrong
"valid" would let an invalid spec through unexplained and a wrong "invalid" would cost the slow
path. Each case asks both; the documents are valid specs, mutated specs, arbitrary data under
`workflow:`, the corpus and target profiles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from osmo2argo import schema

from .conftest import ROOT, shared_examples
from .strategies import json_values, mutated_specs, osmo_specs

EXAMPLES = int(os.environ.get("OSMO2ARGO_FUZZ_EXAMPLES", "40"))


def agree(data: Any, name: str = "osmo-workflow") -> bool:
    """Both checkers give the same verdict on `data`; returns it."""
    quick = schema.quick_check(name)(data)
    full = not any(True for _ in schema.validator(name).iter_errors(data))
    assert quick == full, f"fastcheck says {'valid' if quick else 'invalid'}, jsonschema the opposite"
    return quick


def _sections(path: Path) -> dict[str, Any] | None:
    """The spec as OSMO loads it (sections without Jinja only), or None if it needs rendering."""
    text = path.read_text(encoding="utf-8")
    if "{%" in text or "{{ " in text:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


@pytest.mark.parametrize("path", shared_examples() + sorted((ROOT / "golden").glob("*/input.yaml")), ids=str)
def test_corpus_verdicts_agree(path: Path) -> None:
    data = _sections(path)
    if data is not None:
        agree({"workflow": data.get("workflow")})


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "golden").glob("*/target.yaml")) + sorted((ROOT / "tests" / "targets").glob("*.yaml")),
    ids=str,
)
def test_target_verdicts_agree(path: Path) -> None:
    assert agree(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, "target")


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(osmo_specs())
def test_valid_specs_are_valid_to_both(spec: tuple[str, Any]) -> None:
    assert agree({"workflow": yaml.safe_load(spec[0])["workflow"]})


@settings(max_examples=EXAMPLES * 6, deadline=None)
@given(mutated_specs())
def test_mutated_specs_get_one_verdict(mutated: Any) -> None:
    try:
        data = yaml.safe_load(mutated.data)
    except yaml.YAMLError:
        return
    if isinstance(data, dict):
        agree({"workflow": data.get("workflow")})


@settings(max_examples=EXAMPLES * 6, deadline=None)
@given(json_values(), st.sampled_from(["osmo-workflow", "target"]))
def test_arbitrary_data_gets_one_verdict(value: Any, name: str) -> None:
    agree({"workflow": value} if name == "osmo-workflow" else value, name)
