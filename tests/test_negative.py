"""The negative corpus: each spec in tests/negative/ breaks one rule and pins the diagnostics.

A case's first lines say what `osmo2argo validate` must report, as `CODE@LINE` items:

    # expect: E311@12
    # expect: E308@9 E308@14
    # set: storage_url=s3://bucket/path      (optional --set values)

The expected codes and lines are written by hand from the rule, never copied from the tool.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from osmo2argo.errors import CompileError
from osmo2argo.pipeline import check_spec
from osmo2argo.template import Variables

CASES = sorted((Path(__file__).parent / "negative").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect:(.*)$", re.MULTILINE)
_SET = re.compile(r"^# set: (\S+)$", re.MULTILINE)


def expected(text: str) -> list[tuple[str, int]]:
    items: list[tuple[str, int]] = []
    for line in _EXPECT.findall(text):
        for item in line.split():
            code, _, number = item.partition("@")
            items.append((code, int(number)))
    return sorted(items)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_negative_case(case: Path) -> None:
    text = case.read_text(encoding="utf-8")
    want = expected(text)
    assert want, f"{case.name} has no '# expect:' line"
    with pytest.raises(CompileError) as caught:
        check_spec(text, str(case), Variables(set=_SET.findall(text)), spec_path=str(case))
    got = sorted((d.code, d.span.line if d.span else 0) for d in caught.value.diagnostics if d.is_error)
    assert got == want
