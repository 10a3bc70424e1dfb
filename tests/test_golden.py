"""Golden tests: each golden/<case>/ compiles through the CLI to exactly its expected bytes.

A case holds `input.yaml`, optionally `target.yaml` (passed as --target) and `args` (more CLI
arguments, one per line), and either `output.yaml` (expected stdout; exit 0) or `errors.txt`
(expected diagnostics on stderr; exit 1); a compiling case whose compile prints warnings pins
them in `warnings.txt`. The CLI runs in the case directory with relative
paths, so outputs do not depend on where the repository lives.

Regenerate with `make golden` (pytest --update-golden); it is refused when CI is set. Read the
diff of every changed golden before committing it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from .cli_runner import run_cli

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "input.yaml").is_file()) if GOLDEN.is_dir() else []


def run_case(case: Path) -> tuple[int, str, str]:
    args = ["compile", "input.yaml", "-o", "-"]
    if (case / "target.yaml").is_file():
        args += ["--target", "target.yaml"]
    if (case / "args").is_file():
        for line in (case / "args").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                args += shlex.split(line)
    previous = os.getcwd()
    os.chdir(case)
    try:
        result = run_cli(args, env={"NO_COLOR": "1"})
    finally:
        os.chdir(previous)
    return result.exit_code, result.stdout, result.stderr


def test_there_are_goldens() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden(case: Path, update_golden: bool) -> None:
    code, stdout, stderr = run_case(case)
    expected_output = case / "output.yaml"
    expected_errors = case / "errors.txt"
    expected_warnings = case / "warnings.txt"
    if update_golden:
        for stale in (expected_output, expected_errors, expected_warnings):
            stale.unlink(missing_ok=True)
        if code == 0:
            expected_output.write_text(stdout, encoding="utf-8")
            if stderr:
                expected_warnings.write_text(stderr, encoding="utf-8")
        else:
            expected_errors.write_text(stderr, encoding="utf-8")
    if expected_output.is_file():
        assert code == 0, stderr
        assert stdout == expected_output.read_text(encoding="utf-8")
        warnings = expected_warnings.read_text(encoding="utf-8") if expected_warnings.is_file() else ""
        assert stderr == warnings
    else:
        assert expected_errors.is_file(), f"{case.name} has neither output.yaml nor errors.txt"
        assert code == 1, stdout
        assert stderr == expected_errors.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", [c for c in CASES if (c / "output.yaml").is_file()], ids=lambda p: p.name)
def test_golden_is_deterministic(case: Path) -> None:
    first = run_case(case)
    second = run_case(case)
    assert first == second
