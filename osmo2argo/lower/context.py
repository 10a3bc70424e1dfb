"""State shared by the lowering passes of one workflow: target, diagnostics, names and text."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import ir
from ..errors import Diagnostic, Severity, Span
from ..target import Target
from . import names


@dataclasses.dataclass
class Context:
    """One compilation's lowering state. Passes add diagnostics here instead of raising."""

    workflow: ir.Workflow
    target: Target
    kind: str = "Workflow"
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    # Multi-task groups: (group, gang object name, scheduler backend), for the setup step.
    gangs: list[tuple[ir.Group, str, Any]] = dataclasses.field(default_factory=list)
    needs_stop_template: bool = False

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None, path: str = "$") -> None:
        self.diagnostics.append(Diagnostic(code, message, span, path, hint))

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None, path: str = "$") -> None:
        self.diagnostics.append(Diagnostic(code, message, span, path, hint, Severity.WARNING))

    def label(self, name: str) -> str:
        return self.target.label(name)

    # Argo names of OSMO things: the normalised OSMO name, which OSMO keeps unique.
    @staticmethod
    def task_template(task: ir.Task) -> str:
        return f"task-{names.normal(task.name)}"

    @staticmethod
    def group_template(group: ir.Group) -> str:
        if group.implicit:  # tasks mode: the group is named after its only task
            return f"group-{names.normal(group.tasks[0].name)}"
        return f"group-{names.normal(group.name)}"

    def dag_task_name(self, group: ir.Group) -> str:
        """The entry DAG's task for a group: the task's name for tasks-mode workflows."""
        if group.implicit:
            return names.normal(group.tasks[0].name)
        return names.normal(group.name)

    def intermediate_key(self, task_name: str, workflow_id: str = "{{workflow.name}}") -> str:
        prefix = str(self.target.storage.get("intermediatePrefix", "osmo")).strip("/")
        parts = [p for p in (prefix, workflow_id, task_name) if p]
        return "/".join(parts)
