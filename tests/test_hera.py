"""hera as the oracle: every manifest loads into hera's Argo models and dumps back unchanged.

hera's models are generated from Argo's OpenAPI, so a field we set that hera drops, renames or
retypes shows up here. Fields newer than hera's models are listed in one place
(`osmo2argo.hera_bridge.FIELDS_NEWER_THAN_HERA`) and removed before comparing.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from osmo2argo.hera_bridge import FIELDS_NEWER_THAN_HERA, to_hera
from osmo2argo.template import Variables

from .conftest import ROOT, shared_examples
from .test_examples import compile_example, examples_target

GOLDEN_OUTPUTS = sorted((ROOT / "golden").glob("*/output.yaml"))


def without_newer_fields(manifest: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(manifest)
    for template in stripped["spec"]["templates"]:
        for field in FIELDS_NEWER_THAN_HERA:
            template.pop(field, None)
    return stripped


def round_trip(manifest: dict[str, Any]) -> dict[str, Any]:
    from hera.workflows.models import Workflow, WorkflowTemplate

    model = WorkflowTemplate if manifest["kind"] == "WorkflowTemplate" else Workflow
    dumped: dict[str, Any] = model.model_validate(manifest).model_dump(by_alias=True, exclude_none=True)
    return dumped


def manifests() -> list[tuple[str, dict[str, Any]]]:
    import yaml

    found = [(p.parent.name, yaml.safe_load(p.read_text(encoding="utf-8"))) for p in GOLDEN_OUTPUTS]
    target = examples_target()
    found += [(example.stem, compile_example(example, target).manifest) for example in shared_examples()]
    return found


@pytest.mark.parametrize(("name", "manifest"), manifests(), ids=lambda v: v if isinstance(v, str) else "")
def test_hera_keeps_every_field(name: str, manifest: dict[str, Any]) -> None:
    expected = without_newer_fields(manifest)
    assert round_trip(expected) == expected


def test_to_hera_returns_a_workflow() -> None:
    text = (ROOT / "tests" / "examples" / "hello.yaml").read_text(encoding="utf-8")
    workflow = to_hera(text, "hello.yaml")
    built = workflow.build()
    assert built.metadata.generate_name == "hello-osmo2argo-"
    assert [t.name for t in built.spec.templates] == ["main", "task-write", "task-read"]
    template = to_hera(text, "hello.yaml", kind="workflowtemplate")
    assert template.build().kind == "WorkflowTemplate"


def test_to_hera_refuses_fields_hera_would_drop() -> None:
    from osmo2argo.errors import CompileError
    from osmo2argo.target import default_target

    spec = (ROOT / "tests" / "examples" / "hello.yaml").read_text(encoding="utf-8")
    spec = spec.replace("  tasks:", "  timeout:\n    queue_timeout: 1h\n  tasks:")
    newer = default_target()._replace(argo_version="4.1")
    with pytest.raises(CompileError) as caught:
        to_hera(spec, "hello.yaml", target=newer, variables=Variables())
    assert caught.value.diagnostics[0].code == "E460"
    assert "pendingTimeout" in caught.value.diagnostics[0].message
