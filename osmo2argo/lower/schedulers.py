"""Gang-scheduler backends: the pod metadata and the gang object each scheduler needs.

- kai (KAI >= v0.15): schedulerName kai-scheduler; a scheduling.run.ai/v2alpha2 PodGroup; pod label
  kai.scheduler/queue; pod annotations pod-group-name and kai.scheduler/skip-podgrouper.
- volcano: schedulerName volcano; a scheduling.volcano.sh/v1beta1 PodGroup; pod annotation
  scheduling.k8s.io/group-name.
- kueue: the default scheduler; no object (Kueue makes the Workload); pod labels
  kueue.x-k8s.io/queue-name and kueue.x-k8s.io/pod-group-name; pod annotations
  kueue.x-k8s.io/pod-group-total-count and kueue.x-k8s.io/retriable-in-group.
- coscheduling: schedulerName scheduler-plugins-scheduler; a scheduling.x-k8s.io/v1alpha1
  PodGroup; pod label scheduling.x-k8s.io/pod-group.
- none: nothing (co-start is best effort, with a warning).

Sources (docs/semantics.md has file and line): KAI `pkg/common/constants`, `pod_controller.go`
(skip-podgrouper, v0.15.0); Volcano `pkg/scheduler/api/job_info.go` `getJobID`; Kueue
`pkg/controller/jobs/pod/constants`; scheduler-plugins `apis/scheduling/v1alpha1`, `core.go`
`PreFilter` (the PodGroup must exist before the pods). Gang objects are created by the
workflow's setup step before any member pod, and only member templates carry this metadata.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import ir, records
from . import model, names
from .context import Context


@records.typed_equality
class Backend(NamedTuple):
    """One gang scheduler as the target configures it."""

    name: str
    scheduler_name: str | None
    queue: str | None
    priority_class: str | None
    schedule_timeout: int | None
    kai_version: tuple[int, int] = (0, 15)

    def pod_metadata(self, ctx: Context, group: ir.Group, gang: str) -> model.ObjectMeta:
        labels: dict[str, str] = {}
        annotations: dict[str, str] = {}
        if self.name == "kai":
            annotations["pod-group-name"] = gang
            annotations["kai.scheduler/skip-podgrouper"] = "true"
            if self.queue:
                labels["kai.scheduler/queue"] = self.queue
        elif self.name == "volcano":
            annotations["scheduling.k8s.io/group-name"] = gang
        elif self.name == "kueue":
            if self.queue:
                labels["kueue.x-k8s.io/queue-name"] = self.queue
            labels["kueue.x-k8s.io/pod-group-name"] = gang
            annotations["kueue.x-k8s.io/pod-group-total-count"] = str(len(group.tasks))
            # OSMO stops the non-leads when the lead ends: quota is released when all pods end.
            annotations["kueue.x-k8s.io/retriable-in-group"] = "false"
        elif self.name == "coscheduling":
            labels["scheduling.x-k8s.io/pod-group"] = gang
        meta: model.ObjectMeta = {}
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        return meta

    def gang_object(self, ctx: Context, group: ir.Group, gang: str, owner: str) -> str | None:
        """The gang object as YAML (with the owner reference block), or None."""
        members = len(group.tasks)
        if self.name == "kai":
            spec = [f"  minMember: {members}", f"  queue: {self.queue}"]
            if group.ignore_nonlead_status and self.kai_version >= (0, 17):
                # KAI evicts a gang whose running members fall below minMember after 60 s; OSMO
                # keeps the group while its lead runs.
                spec.append("  stalenessGracePeriod: -1s")
            if self.priority_class:
                spec.append(f"  priorityClassName: {self.priority_class}")
            return _object(
                "scheduling.run.ai/v2alpha2",
                "PodGroup",
                gang,
                owner,
                spec,
                labels={"kai.scheduler/queue": self.queue} if self.queue else None,
            )
        if self.name == "volcano":
            spec = [f"  minMember: {members}", f"  queue: {self.queue or 'default'}"]
            if self.priority_class:
                spec.append(f"  priorityClassName: {self.priority_class}")
            return _object("scheduling.volcano.sh/v1beta1", "PodGroup", gang, owner, spec)
        if self.name == "coscheduling":
            spec = [f"  minMember: {members}"]
            if self.schedule_timeout:
                spec.append(f"  scheduleTimeoutSeconds: {self.schedule_timeout}")
            return _object("scheduling.x-k8s.io/v1alpha1", "PodGroup", gang, owner, spec)
        return None


_DEFAULT_SCHEDULER_NAMES = {
    "kai": "kai-scheduler",
    "volcano": "volcano",
    "coscheduling": "scheduler-plugins-scheduler",
    "kueue": None,
    "none": None,
}


def backend(ctx: Context) -> Backend:
    """The target's scheduler backend (worked out, and its problems reported, once per workflow)."""
    if ctx.backend is None:
        ctx.backend = _backend(ctx)
    assert isinstance(ctx.backend, Backend)
    return ctx.backend


def _backend(ctx: Context) -> Backend:
    config = ctx.target.scheduler
    name = str(config.get("name") or "none")
    queue = config.get("queue")
    if name == "kai" and not queue:
        queue = "default-queue"
    if name == "kueue" and not queue:
        ctx.error("E442", "the kueue scheduler needs scheduler.queue (a LocalQueue) in the target profile", None)
    scheduler_name = config.get("schedulerName") or _DEFAULT_SCHEDULER_NAMES[name]
    if config.get("scheduleTimeoutSeconds") and name != "coscheduling":
        ctx.warn(
            "W445",
            f"scheduler.scheduleTimeoutSeconds has no effect with the {name} scheduler (only "
            f"coscheduling's PodGroup has one) ({ctx.target.source})",
            None,
        )
    major, minor = (int(x) for x in str(config.get("kaiVersion") or "0.15").split(".")[:2])
    return Backend(
        name,
        scheduler_name,
        queue,
        config.get("priorityClassName"),
        config.get("scheduleTimeoutSeconds"),
        (major, minor),
    )


def schedule(ctx: Context, template: model.Template) -> None:
    """What every task pod needs from the target's scheduler: its name, queue and priority.

    OSMO sends every pod through its scheduler (KAI), one-task groups included; gang metadata
    is added on top for the members of multi-task groups (gang.py).
    """
    chosen = backend(ctx)
    if chosen.scheduler_name:
        template["schedulerName"] = chosen.scheduler_name
    if chosen.priority_class:
        template["priorityClassName"] = chosen.priority_class
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if chosen.queue and chosen.name == "kai":
        labels["kai.scheduler/queue"] = chosen.queue
    elif chosen.queue and chosen.name == "kueue":
        labels["kueue.x-k8s.io/queue-name"] = chosen.queue
    elif chosen.queue and chosen.name == "volcano":
        annotations["scheduling.volcano.sh/queue-name"] = chosen.queue
    if labels or annotations:
        metadata = template.setdefault("metadata", {})
        if labels:
            metadata["labels"] = dict(sorted({**metadata.get("labels", {}), **labels}.items()))
        if annotations:
            metadata["annotations"] = dict(sorted({**metadata.get("annotations", {}), **annotations}.items()))


def gang_name(group: ir.Group) -> str:
    """A per-workflow-run name for the group's gang: `<group>-{{workflow.uid}}` within 63 characters."""
    slug = names.dns_label(names.normal(group.name))
    return f"{names.shorten(slug, 26, salt=group.name).rstrip('-')}-{{{{workflow.uid}}}}"


def check_topology_keys(ctx: Context, task: ir.Task) -> None:
    """Every topology key must be one the target knows (OSMO: one of the pool's topology_keys)."""
    for requirement in task.resources.topology:
        if requirement.key not in ctx.target.topology_labels:
            known = ", ".join(ctx.target.topology_order) or "none"
            ctx.error(
                "E443",
                f'Topology key "{requirement.key}" in resource "{task.resources.name}" is not available '
                f"in the target ({ctx.target.source}). Available topology keys: {known}",
                requirement.span,
                hint="list it under topologyKeys in the target profile with the node label it stands for",
            )


def topology_affinity(ctx: Context, group: ir.Group, task: ir.Task, template: model.Template) -> bool:
    """OSMO `topology`: tasks sharing (key, group) share one value of the key's node label.
    Whether any pod affinity was added (a requirement without partners needs none)."""
    added = False
    for requirement in task.resources.topology:
        label = ctx.target.topology_labels.get(requirement.key)
        if label is None:
            continue  # reported by check_topology_keys
        partners = [
            other
            for other in group.tasks
            if other is not task
            and any(r.key == requirement.key and r.group == requirement.group for r in other.resources.topology)
        ]
        if not partners:
            continue
        selector = {
            "matchLabels": {
                "workflows.argoproj.io/workflow": "{{workflow.name}}",
                ctx.label("group"): names.label_value(group.name),
                ctx.label(f"topology-{names.dns_label(requirement.key)}"): names.label_value(requirement.group),
            }
        }
        metadata = template.setdefault("metadata", {})
        labels = dict(metadata.get("labels", {}))
        labels[ctx.label(f"topology-{names.dns_label(requirement.key)}")] = names.label_value(requirement.group)
        metadata["labels"] = dict(sorted(labels.items()))
        term: dict[str, Any] = {"labelSelector": selector, "topologyKey": label}
        affinity = template.setdefault("affinity", {})
        pod_affinity = affinity.setdefault("podAffinity", {})
        if requirement.required:
            pod_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", []).append(term)
        else:
            pod_affinity.setdefault("preferredDuringSchedulingIgnoredDuringExecution", []).append(
                {"weight": 100, "podAffinityTerm": term}
            )
        added = True
    return added


def _object(api: str, kind: str, name: str, owner: str, spec: list[str], labels: dict[str, str] | None = None) -> str:
    lines = [f"apiVersion: {api}", f"kind: {kind}", "metadata:", f"  name: '{name}'"]
    if labels:
        lines.append("  labels:")
        lines += [f"    {key}: {value}" for key, value in sorted(labels.items())]
    return "\n".join(lines) + "\n" + owner + "spec:\n" + "\n".join(spec) + "\n"
