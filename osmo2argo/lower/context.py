"""State shared by the lowering passes of one workflow: target, diagnostics, names and text."""

from __future__ import annotations

from typing import Any

from .. import ir
from ..errors import Diagnostic, Severity, Span
from ..target import Target
from . import names


class Context:
    """One compilation's lowering state. Passes add diagnostics here instead of raising."""

    __slots__ = (
        "_group_of_task",
        "_groups",
        "_seen",
        "backend",
        "diagnostics",
        "gangs",
        "kind",
        "memo",
        "needs_stop_template",
        "peers",
        "target",
        "workflow",
    )

    def __init__(
        self,
        workflow: ir.Workflow,
        target: Target,
        kind: str = "Workflow",
        diagnostics: list[Diagnostic] | None = None,
        gangs: list[tuple[ir.Group, str, Any]] | None = None,
        peers: set[str] | None = None,
        needs_stop_template: bool = False,
        backend: Any = None,
    ) -> None:
        self.workflow = workflow
        self.target = target
        self.kind = kind
        self.diagnostics: list[Diagnostic] = [] if diagnostics is None else diagnostics
        # Multi-task groups: (group, gang object name, scheduler backend), for the setup step.
        self.gangs: list[tuple[ir.Group, str, Any]] = [] if gangs is None else gangs
        self.peers: set[str] = set() if peers is None else peers  # one-task groups in the peer Service
        self.needs_stop_template = needs_stop_template
        self.backend = backend  # the target's scheduler backend, once worked out (schedulers.backend)
        self._seen: set[Diagnostic] = set()
        # Results that depend on shared IR objects only (a resource profile, the workflow), worked
        # out once per compile instead of once per task: keyed by the pass's own tuple keys.
        self.memo: dict[tuple[Any, ...], Any] = {}
        # Lookups by name, so that passes over every task stay linear in the workflow's size.
        self._groups = {group.name: group for group in workflow.groups}
        self._group_of_task = {task.name: group for group in workflow.groups for task in group.tasks}

    def group(self, name: str) -> ir.Group:
        return self._groups[name]

    def group_of(self, task_name: str) -> ir.Group:
        return self._group_of_task[task_name]

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None, path: str = "$") -> None:
        self._add(Diagnostic(code, message, span, path, hint))

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None, path: str = "$") -> None:
        self._add(Diagnostic(code, message, span, path, hint, Severity.WARNING))

    def _add(self, diagnostic: Diagnostic) -> None:
        # Several tasks can share the cause (one profile, one platform): say it once.
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            self.diagnostics.append(diagnostic)

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

    def dataset_producer(self, consumer: ir.Task, dataset: ir.DatasetRef) -> ir.Task | None:
        """The last task, in a group the consumer's group waits for, that writes `dataset`."""
        group = self.group_of(consumer.name)
        upstream = set(group.upstream)
        found = None
        for candidate in self.workflow.groups:
            if candidate.name not in upstream:
                continue
            for task in candidate.tasks:
                if any(isinstance(o, ir.DatasetOutput) and o.dataset.key == dataset.key for o in task.outputs):
                    found = task
        return found

    def intermediate_key(self, task_name: str, workflow_id: str = "{{workflow.name}}") -> str:
        prefix = str(self.target.storage.get("intermediatePrefix", "osmo")).strip("/")
        parts = [p for p in (prefix, workflow_id, task_name) if p]
        return "/".join(parts)
