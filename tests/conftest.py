"""Shared fixtures: paths to the conformance corpus and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from .argo_tools import api_server  # noqa: F401 - a session fixture for the conformance and submit tests

ROOT = Path(__file__).resolve().parent.parent
SHARED_EXAMPLES = Path(os.environ.get("OSMO2ARGO_SHARED", ROOT.parent / "shared")) / "osmo-examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden outputs (refused when CI is set)")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> Iterator[bool]:
    wanted = bool(request.config.getoption("--update-golden"))
    if wanted and os.environ.get("CI"):
        pytest.fail("--update-golden is refused when CI is set: goldens change only on purpose, locally")
    yield wanted


def shared_examples() -> list[Path]:
    """The OSMO example corpus from ../shared, or [] when it is absent."""
    if not SHARED_EXAMPLES.is_dir():
        return []
    return sorted(SHARED_EXAMPLES.glob("*.yaml"))


def missing(what: str, skip_reason: str) -> NoReturn:
    """Skip a check whose tool or data this machine lacks; fail under CI, where .ci/run provides it."""
    if os.environ.get("CI"):
        pytest.fail(f"{what}, and CI never skips the checks that need it (.ci/run provides it)")
    pytest.skip(skip_reason)


def require_shared_examples() -> None:
    if not SHARED_EXAMPLES.is_dir():
        missing(
            f"the OSMO example corpus {SHARED_EXAMPLES} is missing",
            f"the OSMO example corpus {SHARED_EXAMPLES} is absent on this machine",
        )
