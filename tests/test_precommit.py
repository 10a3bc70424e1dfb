"""The pre-commit hooks work from a user's repository (`pre-commit try-repo` on a temp repo)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

SPEC = (ROOT / "tests" / "examples" / "hello.yaml").read_text(encoding="utf-8")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    )


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run every hook of this repository on `repo` (one environment install per try-repo run)."""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    assert pre_commit, "pre-commit is part of the dev extra"
    return subprocess.run(
        [pre_commit, "try-repo", str(ROOT), "--all-files", "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PRE_COMMIT_HOME": str(home)},
    )


def test_hooks_validate_and_check_manifests(tmp_path: Path) -> None:
    from osmo2argo.compiler import compile_spec

    repo = tmp_path / "repo"
    (repo / "workflows").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "workflows" / "hello.yaml").write_text(SPEC, encoding="utf-8")
    compiled = compile_spec(SPEC, "hello.yaml").text
    (repo / "workflows" / "hello.argo.yaml").write_text(compiled, encoding="utf-8")
    _git(repo, "add", ".")

    clean = _try_repo(repo, tmp_path / "home")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "validate OSMO workflow specs" in clean.stdout
    assert "check compiled Argo manifests are up to date" in clean.stdout

    # A spec changed without recompiling, and a broken reference: both hooks fail, saying why.
    broken = SPEC.replace("ubuntu:24.04", "ubuntu:22.04", 1).replace("task: write", "task: nowhere")
    (repo / "workflows" / "hello.yaml").write_text(broken, encoding="utf-8")
    (repo / "workflows" / "other.yaml").write_text(SPEC.replace("ubuntu:24.04", "ubuntu:22.04", 1), encoding="utf-8")
    (repo / "workflows" / "other.argo.yaml").write_text(compiled, encoding="utf-8")
    _git(repo, "add", ".")
    failing = _try_repo(repo, tmp_path / "home")
    output = failing.stdout + failing.stderr
    assert failing.returncode == 1
    assert "hello.yaml:19:13: error[E311]: Task input nowhere does not exist." in output
    assert "+      image: ubuntu:22.04" in output
    assert "other.argo.yaml: stale" in output
