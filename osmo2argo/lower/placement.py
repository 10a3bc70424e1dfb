"""Where a task's pod runs and what it may do: resources, platform placement, host access.

Resources: OSMO gives the user container requests and limits equal to the profile's values
(`DEFAULT_POD_TEMPLATES['default_user']`), so requests = limits here too; units are OSMO's binary
ones. Placement: the platform's nodeSelector, tolerations, affinity and runtime class, plus
`nodesExcluded` as a required node anti-affinity on `kubernetes.io/hostname`. privileged,
hostNetwork and host mounts are refused unless the platform allows them, with OSMO's messages.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from .. import ir
from ..jsondata import fresh
from ..target import Platform
from ..units import format_bytes
from . import model
from .context import Context


def platform_of(ctx: Context, task: ir.Task) -> Platform | None:
    """The task's platform (its profile's, else the target's default); None after an error."""
    name = task.resources.platform or ctx.target.default_platform
    if name is None:
        if task.privileged or task.host_network or task.host_mounts:
            ctx.error(
                "E410",
                f"Task {task.name} does not have a platform!",
                task.span,
                hint="privileged, hostNetwork and volumeMounts need a platform: set one in the resource "
                "profile or a defaultPlatform in the target profile",
            )
        return None
    platform = ctx.target.platforms.get(name)
    if platform is None:
        known = ", ".join(sorted(ctx.target.platforms)) or "none"
        ctx.error(
            "E411",
            f"platform {name!r} of resource profile {task.resources.name!r} is not defined in the "
            f"target profile ({ctx.target.source})",
            task.resources.span_of("platform"),
            hint=f"the target's platforms: {known}; add {name!r} under platforms in the target profile",
        )
        return None
    return platform


def check_permissions(ctx: Context, task: ir.Task, platform: Platform | None) -> None:
    """OSMO's `validate_privilege_host_mount`, against the target's platform."""
    if platform is None:
        return
    if task.privileged and not platform.privileged:
        ctx.error(
            "E412",
            f"Task with platform: {platform.name} does not have privileged flag enabled. Task {task.name}",
            task.span,
            hint=f"allow it with platforms.{platform.name}.privileged: true",
        )
    if task.host_network and not platform.host_network:
        ctx.error(
            "E413",
            f"Task with platform: {platform.name} does not have hostNetwork flag enabled. Task {task.name}",
            task.span,
            hint=f"allow it with platforms.{platform.name}.hostNetwork: true",
        )
    allowed = set(platform.allowed_mounts)
    defaults = set(platform.default_mounts)
    for mount in task.host_mounts:
        if mount.source in defaults and mount.source not in allowed:
            ctx.error(
                "E414",
                f"Mount {mount.source} is already provided by platform {platform.name} and cannot be "
                f"set in volumeMounts. Remove it from the task spec. Task {task.name}",
                mount.span,
            )
        elif mount.source not in allowed | defaults:
            ctx.error(
                "E414",
                f"Task with platform: {platform.name} does not allow mount: {mount.source}. Task {task.name}",
                mount.span,
                hint=f"allow it with platforms.{platform.name}.allowedMounts: [{mount.source}]",
            )


def resources(ctx: Context, task: ir.Task) -> model.ResourceRequirements:
    # Tasks share their profile's object: its amounts (Fraction arithmetic) are worked out once.
    key = ("resources", id(task.resources))
    amounts: dict[str, str] | None = ctx.memo.get(key)
    if amounts is None:
        amounts = ctx.memo[key] = _amounts(ctx, task)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _amounts(ctx: Context, task: ir.Task) -> dict[str, str]:
    profile = task.resources
    target = ctx.target
    amounts: dict[str, str] = {}
    cpu = profile.cpu if profile.cpu is not None else target.default_cpu
    gpu = profile.gpu if profile.gpu is not None else target.default_gpu
    memory = profile.memory if profile.memory is not None else target.default_memory
    storage = profile.storage if profile.storage is not None else target.default_storage
    if cpu:
        amounts["cpu"] = str(cpu)
    amounts["memory"] = _bytes(ctx, task, memory, "memory")
    amounts["ephemeral-storage"] = _bytes(ctx, task, storage, "storage")
    if gpu:
        amounts[target.gpu_resource] = str(gpu)
    return amounts


def uses_gpu(ctx: Context, task: ir.Task) -> bool:
    gpu = task.resources.gpu if task.resources.gpu is not None else ctx.target.default_gpu
    return bool(gpu)


def _bytes(ctx: Context, task: ir.Task, amount: Fraction, field: str) -> str:
    whole = int(amount)
    if whole != amount:
        whole = int(amount) + 1
        ctx.warn(
            "W410",
            f"{field} of resource profile {task.resources.name!r} is {float(amount)} bytes; "
            f"Kubernetes counts whole bytes, so {whole} is requested",
            task.resources.span_of("memory" if field == "memory" else "storage"),
        )
    return format_bytes(whole)


def placement(ctx: Context, task: ir.Task, platform: Platform | None, template: model.Template) -> None:
    """nodeSelector, tolerations and affinity (incl. nodesExcluded) onto a container template."""
    if platform is not None and platform.node_selector:
        template["nodeSelector"] = dict(sorted(platform.node_selector.items()))
    if platform is not None and platform.tolerations:
        template["tolerations"] = fresh(platform.tolerations)
    affinity = fresh(platform.affinity) if platform is not None else {}
    excluded = sorted(set(task.resources.nodes_excluded))
    if excluded:
        node = affinity.setdefault("nodeAffinity", {})
        required = node.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
        terms = required.setdefault("nodeSelectorTerms", [{}])
        exclusion = {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": excluded}
        # nodeSelectorTerms are ORed: the exclusion must hold in every term.
        for term in terms:
            term.setdefault("matchExpressions", []).append(dict(exclusion))
    if affinity:
        template["affinity"] = affinity


def pod_spec_patch(ctx: Context, task: ir.Task, platform: Platform | None, extra: dict[str, Any]) -> None:
    """Pod fields an Argo template has no field for (hostNetwork, runtimeClassName, hostname)."""
    if task.host_network:
        extra["hostNetwork"] = True
    if platform is not None and platform.runtime_class_name:
        extra["runtimeClassName"] = platform.runtime_class_name


def render_patch(patch: dict[str, Any]) -> str:
    return json.dumps(patch, sort_keys=True, separators=(",", ":"))
