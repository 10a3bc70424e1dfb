"""OSMO groups → tasks of the entry DAG.

A group is one task of the workflow's entry DAG, waiting (`depends`) for its upstream groups.
A one-task group with OSMO's default exit semantics and no filtered outputs is its task's own
container template. Otherwise the group is a small DAG: the task (`run`), a filtering step per
output with a `regex`, and a verdict step that decides success from the exit code (lower/exits.py);
the verdict and filters run whether the task succeeded or failed, because OSMO uploads outputs
after any exit code and decides the status afterwards.
Multi-task groups (co-scheduling, peer names, lead semantics) are built by lower/gang.py.
"""

from __future__ import annotations

from .. import ir
from . import data, exits, filters, model, names, tasks
from .context import Context


class LoweredGroup:
    """The entry-DAG task of a group and the templates it needs."""

    __slots__ = ("dag_task", "templates", "uses_verdict")

    def __init__(self, dag_task: model.DAGTask, templates: list[model.Template], uses_verdict: bool = False) -> None:
        self.dag_task = dag_task
        self.templates = templates
        self.uses_verdict = uses_verdict


def downstream_groups(workflow: ir.Workflow) -> dict[str, list[str]]:
    downstream: dict[str, list[str]] = {group.name: [] for group in workflow.groups}
    for group in workflow.groups:
        for upstream in group.upstream:
            downstream[upstream].append(group.name)
    return downstream


def lower_single(ctx: Context, group: ir.Group, has_downstream: bool) -> LoweredGroup:
    task = group.tasks[0]
    filtered = [(i, o) for i, o in enumerate(task.outputs) if o.regex]
    # OSMO uploads to intermediate storage when a later group may read the output, or when the
    # task has no outputs of its own; the filtering steps read it too.
    upload = has_downstream or not task.outputs or bool(filtered)
    plan = exits.plan(task, ctx.target.reschedule_limit)
    template_name = ctx.task_template(task)
    hosts = pod_patch = None
    metadata: model.ObjectMeta | None = None
    if task.names_hosts:
        # {{host:<itself>}}: OSMO gives a name that nothing answers for a lone task; here the
        # task joins the workflow's peer Service, so its own name resolves.
        from . import gang

        ctx.peers.add(group.name)
        hosts = {task.name: gang.host_pieces(task)}
        pod_patch = {"hostname": gang.host_name(task), "subdomain": gang.SERVICE}
        metadata = {"labels": {ctx.label("peer"): "true"}}
    template = tasks.task_template(
        ctx, group, task, template_name, upload_intermediate=upload, hosts=hosts, pod_patch=pod_patch, metadata=metadata
    )
    dag_name = ctx.dag_task_name(group)
    if not plan.needs_verdict and not filtered:
        return LoweredGroup({"name": dag_name, "template": template_name}, [template])

    templates: list[model.Template] = [template]
    steps: list[model.DAGTask] = [{"name": "run", "template": template_name}]
    after_run = "run.Succeeded || run.Failed"
    for index, output in filtered:
        filter_template = _output_filter(ctx, task, index, output)
        if filter_template is None:
            continue
        templates.append(filter_template)
        steps.append({"name": f"filter-output-{index}", "template": filter_template["name"], "depends": after_run})
    steps.append(
        {
            "name": "verdict",
            "template": exits.VERDICT_TEMPLATE,
            "depends": after_run,
            "arguments": {
                "parameters": [
                    {"name": "task", "value": task.name},
                    {"name": "code", "value": "{{tasks.run.exitCode}}"},
                    {"name": "succeed", "value": exits.codes_text(plan.succeed)},
                ]
            },
        }
    )
    wrapper: model.Template = {"name": ctx.group_template(group), "dag": {"tasks": steps}}
    return LoweredGroup({"name": dag_name, "template": wrapper["name"]}, [wrapper, *templates], uses_verdict=True)


def _output_filter(ctx: Context, task: ir.Task, index: int, output: ir.Output) -> model.Template | None:
    """A step that copies the task's matching output files to the output's location."""
    from .text import BRACE_PARAMETERS, ArgoText

    text = ArgoText()
    scope = tasks.TaskScope(ctx, task)
    if isinstance(output, ir.UrlOutput):
        location = data.url_location(ctx, text.render(output.url, scope), output.span)
    else:
        location = data.dataset_location(ctx, output.dataset, tasks.output_version(task), output.span)
    if location is None:
        return None
    assert output.regex is not None
    source = data.intermediate(ctx, ctx.intermediate_key(task.name)).artifact("source", "/osmo/filter/source")
    source["optional"] = True
    target = data.unarchived(location.artifact("filtered", "/osmo/filter/target"))
    target["optional"] = True
    inputs: model.Inputs = {"artifacts": [source]}
    if text.needs_brace_parameters:
        inputs["parameters"] = [{"name": key, "value": value} for key, value in BRACE_PARAMETERS]
    return {
        "name": f"osmo-filter-{names.normal(task.name)}-{index}",
        "inputs": inputs,
        "outputs": {"artifacts": [target]},
        "container": {
            "image": ctx.target.helper_image,
            "command": filters.copy_matching_command("/osmo/filter/source", "/osmo/filter/target", output.regex),
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        },
    }
