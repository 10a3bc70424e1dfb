"""Multi-task OSMO groups on Argo: co-scheduling, peer addressing and lead semantics."""

from __future__ import annotations

from .. import ir
from . import model
from .context import Context
from .groups import LoweredGroup


def lower_group(ctx: Context, group: ir.Group, has_downstream: bool) -> LoweredGroup:
    ctx.error(
        "E499",
        f"group {group.name!r} has {len(group.tasks)} tasks; groups of several tasks are not supported yet",
        group.span,
    )
    return LoweredGroup({"name": ctx.dag_task_name(group), "template": ctx.group_template(group)}, [])


def shared_templates(ctx: Context) -> list[model.Template]:
    return []
