"""Conformance with real Argo: `argo lint --offline` and a strict server-side dry run, for every
golden output, every compiled OSMO example, workflows at Argo's limits and generated specs.

Marked `conformance`; needs `make tools` (skips with a reason outside CI, fails under CI).
Manifests that use fields of an Argo line newer than the tools built (Argo 4.1's
`pendingTimeout`: no 4.1 module is served to build from) are listed and skipped visibly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings

from osmo2argo import emit
from osmo2argo.compiler import compile_spec
from osmo2argo.hera_bridge import newer_fields

from .argo_tools import ApiServer, lint, require_argo
from .conftest import ROOT, require_shared_examples, shared_examples
from .generate.shapes import SHAPES, spec
from .strategies import osmo_specs
from .test_examples import compile_example, examples_target
from .test_properties import KAI_TARGET

pytestmark = pytest.mark.conformance


def golden_manifests() -> list[tuple[str, dict[str, Any]]]:
    return [
        (p.parent.name, yaml.safe_load(p.read_text(encoding="utf-8")))
        for p in sorted((ROOT / "golden").glob("*/output.yaml"))
    ]


def example_manifests() -> list[tuple[str, dict[str, Any]]]:
    target = examples_target()
    return [(example.stem, compile_example(example, target).manifest) for example in shared_examples()]


def scale_manifests(size: int = 5000) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{shape}-{size}", compile_spec(spec(shape, size), f"{shape}.yaml").manifest) for shape in SHAPES]


GENERATED_SPECS = 300


def generated_manifests(count: int = GENERATED_SPECS) -> list[tuple[str, dict[str, Any]]]:
    """`count` specs from the property tests' strategy (a fixed seed: the same specs every run),
    compiled for the default target and, one in three, for KAI as WorkflowTemplates."""
    cases: list[tuple[str, dict[str, Any]]] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(osmo_specs())
    def collect(spec: tuple[str, object]) -> None:
        on_kai = len(cases) % 3 == 2
        compiled = compile_spec(
            spec[0],
            "spec.yaml",
            target=KAI_TARGET if on_kai else None,
            kind="workflowtemplate" if on_kai else "workflow",
        )
        name = f"generated-{len(cases):03d}"
        if on_kai:  # lint refuses two WorkflowTemplates of one name in a run; specs may share one
            compiled.manifest["metadata"]["name"] = name
        cases.append((name, compiled.manifest))

    collect()
    return cases


def checkable(cases: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, m) for name, m in cases if not newer_fields(m)]


def write(cases: list[tuple[str, dict[str, Any]]], directory: Path) -> list[Path]:
    """The manifests as osmo2argo writes them (the emitter's YAML is what users apply)."""
    paths = []
    for name, manifest in cases:
        path = directory / f"{name}.yaml"
        path.write_text(emit.to_yaml([manifest], source=name), encoding="utf-8")
        paths.append(path)
    return paths


def assert_lints(cases: list[tuple[str, dict[str, Any]]], tmp_path: Path) -> None:
    assert cases, "nothing to lint"
    paths = write(cases, tmp_path)
    for version, cli in require_argo().items():
        code, output = lint(cli, paths)
        assert code == 0, f"argo {version} lint:\n{output}"


def assert_dry_runs(server: ApiServer, cases: list[tuple[str, dict[str, Any]]]) -> None:
    failures = []
    for name, manifest in cases:
        status, body = server.dry_run(manifest)
        if status != 201:
            failures.append(f"{name}: {status} {json.dumps(body)[:600] if not isinstance(body, str) else body}")
    assert not failures, "\n".join(failures)


def test_goldens_use_only_fields_the_tools_know() -> None:
    skipped = [name for name, m in golden_manifests() if newer_fields(m)]
    # Argo 4.1 cannot be built here (no 4.1 module is served); the 4.1 cases are the only exception.
    assert skipped == ["timeouts-argo-4.1"], skipped


def test_goldens_lint(tmp_path: Path) -> None:
    assert_lints(checkable(golden_manifests()), tmp_path)


def test_goldens_dry_run(api_server: ApiServer) -> None:
    assert_dry_runs(api_server, checkable(golden_manifests()))


def test_examples_lint(tmp_path: Path) -> None:
    require_shared_examples()
    assert_lints(checkable(example_manifests()), tmp_path)


def test_examples_dry_run(api_server: ApiServer) -> None:
    require_shared_examples()
    assert_dry_runs(api_server, checkable(example_manifests()))


def test_generated_specs_lint_and_dry_run(api_server: ApiServer, tmp_path: Path) -> None:
    generated = generated_manifests()
    assert len(generated) == GENERATED_SPECS
    # Specs with a queue_timeout need Argo 4.1's pendingTimeout, which no built tool knows.
    cases = checkable(generated)
    assert len(cases) >= GENERATED_SPECS * 0.9, f"only {len(cases)} of {GENERATED_SPECS} are checkable"
    assert_lints(cases, tmp_path)
    assert_dry_runs(api_server, cases)


def test_workflows_at_argos_limits(api_server: ApiServer, tmp_path: Path) -> None:
    cases = scale_manifests()
    for name, manifest in cases:
        assert len(json.dumps(manifest, separators=(",", ":"))) <= 1048576, name
    assert_lints(cases, tmp_path)
    assert_dry_runs(api_server, cases)


def test_the_server_enforces_argos_limits(api_server: ApiServer) -> None:
    """The API server really carries the full CRDs: a 201-task DAG is refused."""
    manifest = compile_spec(spec("independent", 20), "small.yaml").manifest
    entry = manifest["spec"]["templates"][0]
    task = entry["dag"]["tasks"][0]
    entry["dag"]["tasks"] = [dict(task, name=f"t{i}") for i in range(201)]
    status, body = api_server.dry_run(manifest)
    assert status == 422
    assert "must have at most 200 items" in json.dumps(body)
