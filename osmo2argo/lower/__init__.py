"""IR + target profile → an Argo manifest (plain data), with the diagnostics of the lowering.

The lowering never reads YAML and never imports hera: it builds the Argo objects of `model`
directly, in a canonical order, so that the same spec, target and flags give the same manifest.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import ir, labels, records
from ..errors import Diagnostic, raise_if_errors
from ..target import Target
from . import exits, gang, groups, limits, model, names
from .context import Context

KINDS = {"workflow": "Workflow", "workflowtemplate": "WorkflowTemplate"}
ENTRYPOINT = "main"


@records.typed_equality
class Lowered(NamedTuple):
    """A lowered workflow: the manifest and the lowering's warnings."""

    manifest: dict[str, Any]
    warnings: list[Diagnostic]


def lower(workflow: ir.Workflow, target: Target, kind: str = "workflow") -> Lowered:
    """The Argo manifest of a valid workflow; CompileError (E4xx) when the target cannot run it."""
    ctx = Context(workflow, target, KINDS[kind])
    if target.max_tasks is not None and len(workflow.tasks()) > target.max_tasks:
        ctx.error(
            "E440",
            f"Workflow cannot have more than {target.max_tasks} tasks.",
            workflow.span,
            hint=f"the spec has {len(workflow.tasks())} tasks; the target's limits.maxTasks is {target.max_tasks}",
        )
    _workflow_warnings(ctx)
    downstream = groups.downstream_groups(workflow)
    entry: list[model.DAGTask] = []
    templates: list[model.Template] = []
    uses_verdict = False
    sharing = limits.Sharing()  # classifies task templates as they are made: see limits.share_templates
    setup = names.free_name(gang.SETUP_TASK, {ctx.dag_task_name(group) for group in workflow.groups})
    for group in workflow.groups:
        if len(group.tasks) == 1:
            lowered = groups.lower_single(ctx, group, bool(downstream[group.name]))
        else:
            lowered = gang.lower_group(ctx, group, bool(downstream[group.name]))
        task = lowered.dag_task
        upstream = [ctx.dag_task_name(ctx.group(name)) for name in group.upstream]
        if len(group.tasks) > 1 or group.name in ctx.peers:  # its Service and gang object come first
            upstream.insert(0, setup)
        if upstream:
            task["depends"] = " && ".join(upstream)
        entry.append(task)
        templates.extend(sharing.add(ctx, template) for template in lowered.templates)
        uses_verdict = uses_verdict or lowered.uses_verdict
    if ctx.gangs or ctx.peers:
        entry.insert(0, {"name": setup, "template": gang.SETUP_TEMPLATE})
    templates.extend(gang.shared_templates(ctx))
    if uses_verdict:
        templates.append(exits.verdict_template(ctx))
    _place_helpers(ctx, templates)
    main: model.Template = {"name": ENTRYPOINT, "dag": {"tasks": entry}}
    manifest = _manifest(ctx, [main, *templates])
    manifest = limits.fit(ctx, manifest, sharing)
    raise_if_errors(ctx.diagnostics)
    return Lowered(dict(manifest), ctx.diagnostics)


def _place_helpers(ctx: Context, templates: list[model.Template]) -> None:
    """The target's helperPlacement on every helper pod (templates that are not OSMO tasks)."""
    placement = ctx.target.helper_placement
    if not placement:
        return
    for template in templates:
        if "container" in template and template["name"].startswith("osmo-"):
            if placement.get("nodeSelector"):
                template["nodeSelector"] = dict(sorted(placement["nodeSelector"].items()))
            if placement.get("tolerations"):
                template["tolerations"] = [dict(t) for t in placement["tolerations"]]


def _workflow_warnings(ctx: Context) -> None:
    timeout = ctx.workflow.timeout
    if timeout.exec_timeout or ctx.target.default_exec_timeout:
        ctx.warn(
            "W425",
            "exec_timeout is enforced on each pod from when it starts (activeDeadlineSeconds), so "
            "image pulls and input downloads count; OSMO starts the clock when the group is running",
            timeout.exec_span or timeout.span,
            hint="allow for the image pull and the downloads",
        )
    queue = timeout.queue_timeout or ctx.target.default_queue_timeout
    if queue and ctx.target.at_least("4.1"):
        ctx.warn(
            "W427",
            "queue_timeout becomes pendingTimeout, which counts while a pod is Pending: also during its "
            "image pull and init containers (input downloads, the group barrier); OSMO stops the clock "
            "once the task is scheduled",
            timeout.queue_span or timeout.span,
            hint="allow for the image pull, the downloads and the barrier",
        )
    elif queue:
        ctx.warn(
            "W420",
            f"queue_timeout is not enforced: Argo {ctx.target.argo_version} has no pending timeout "
            "(Template.pendingTimeout arrived in Argo 4.1)",
            timeout.queue_span or timeout.span,
            hint='set argoVersion: "4.1" in the target profile if the cluster runs Argo 4.1',
        )


def _prefixed_labels(ctx: Context) -> dict[str, str]:
    """Workflow labels with the target's pod label prefix, checked as OSMO checks the merge."""
    prefix = ctx.target.pod_label_prefix
    out = {}
    for key, value in ctx.workflow.labels:
        merged = f"{prefix}{key}"
        problem = labels.key_problem(merged) if prefix else None
        if problem is not None:
            ctx.error(
                "E470",
                f'Label key "{key}" with the configured pod label prefix "{prefix}" forms an invalid '
                f'Kubernetes label key "{merged}": {problem}',
                ctx.workflow.span,
                hint=f"change podLabelPrefix in the target ({ctx.target.source}) or the label key",
            )
            continue
        out[merged] = value
    return out


def _manifest(ctx: Context, templates: list[model.Template]) -> model.Workflow:
    workflow = ctx.workflow
    target = ctx.target
    labels = {ctx.label("workflow"): names.label_value(workflow.name)}
    user_labels = _prefixed_labels(ctx)
    labels.update(user_labels)
    metadata: model.ObjectMeta = {}
    if ctx.kind == "Workflow":
        metadata["generateName"] = names.generate_name(workflow.name)
    else:
        metadata["name"] = names.workflow_template_name(workflow.name)
    if target.namespace:
        metadata["namespace"] = target.namespace
    metadata["labels"] = dict(sorted(labels.items()))
    annotations = {ctx.label("workflow-name"): workflow.name}
    metadata["annotations"] = annotations
    spec: model.WorkflowSpec = {"entrypoint": ENTRYPOINT}
    if target.service_account:
        spec["serviceAccountName"] = target.service_account
    if user_labels and ctx.kind == "WorkflowTemplate":  # the labels of the Workflows made from it
        spec["workflowMetadata"] = {"labels": dict(sorted(labels.items()))}
    repository = target.storage.get("artifactRepositoryRef")
    if repository:
        spec["artifactRepositoryRef"] = dict(repository)
    if target.pod_gc:
        spec["podGC"] = dict(target.pod_gc)
    if target.ttl_strategy:
        spec["ttlStrategy"] = dict(target.ttl_strategy)
    spec["templates"] = templates
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": ctx.kind, "metadata": metadata, "spec": spec}
