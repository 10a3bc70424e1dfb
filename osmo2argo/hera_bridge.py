"""The bridge for Python users: a compiled spec as a hera `Workflow` to extend or submit.

hera is imported here only (and lazily by the package), never on the compile path. hera 7's
models follow Argo 4.0.5: fields the compiler emits for newer Argo lines are listed in
`FIELDS_NEWER_THAN_HERA`; hera drops them when it loads a manifest, so `to_hera` refuses a
manifest that uses one instead of returning a workflow that silently lost it.
"""

from __future__ import annotations

from typing import Any

from .compiler import compile_spec
from .errors import CompileError, Diagnostic
from .target import Target
from .template import Variables

# Template fields osmo2argo emits that hera's models (Argo 4.0.5) do not have.
FIELDS_NEWER_THAN_HERA: frozenset[str] = frozenset({"pendingTimeout"})


def newer_fields(manifest: dict[str, Any]) -> list[str]:
    """The `FIELDS_NEWER_THAN_HERA` a manifest uses, as template paths."""
    found = []
    for template in manifest.get("spec", {}).get("templates", []):
        for field in sorted(FIELDS_NEWER_THAN_HERA & set(template)):
            found.append(f"templates[{template.get('name')}].{field}")
    return found


def to_hera(
    text: str,
    file: str = "<spec>",
    *,
    target: Target | None = None,
    variables: Variables | None = None,
    kind: str = "workflow",
) -> Any:
    """Compile OSMO spec text and return it as a `hera.workflows.Workflow` (or `WorkflowTemplate`).

    Raises CompileError for an invalid spec, or when the manifest uses a field hera cannot hold.
    """
    compiled = compile_spec(text, file, target=target, variables=variables, kind=kind)
    lost = newer_fields(compiled.manifest)
    if lost:
        raise CompileError(
            [
                Diagnostic(
                    "E460",
                    f"hera's models (Argo 4.0.5) cannot hold {', '.join(lost)}; hera would drop it",
                    None,
                    hint="use the YAML manifest, or a target with an older argoVersion",
                )
            ]
        )
    from hera.workflows import Workflow, WorkflowTemplate

    factory = WorkflowTemplate if kind == "workflowtemplate" else Workflow
    return factory.from_dict(compiled.manifest)
