"""One OSMO task → one Argo container template.

The template carries everything OSMO puts on the task's pod: the image and the user's command
and arguments unchanged (OSMO runs `command[0]` with `command[1:] + args`, no shell), the
environment and credentials, files, inputs and outputs, resources, placement, host access,
deadlines and retries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import ir
from .. import labels as labels_module
from . import checkpoints, data, exits, filters, model, names, placement, schedulers
from .context import Context
from .text import BRACE_PARAMETERS, ArgoText, ArgoVar


class TaskScope:
    """Resolves OSMO tokens for one task: paths, the workflow id and peer host names."""

    def __init__(self, ctx: Context, task: ir.Task, hosts: dict[str, Sequence[str]] | None = None) -> None:
        self.ctx = ctx
        self.task = task
        self.hosts = hosts or {}

    def __call__(self, token: ir.Token) -> Sequence[str]:
        if token.kind is ir.TokenKind.OUTPUT:
            return [data.OUTPUT_PATH]
        if token.kind is ir.TokenKind.INPUT:
            return [data.input_path(token.index)]
        if token.kind is ir.TokenKind.WORKFLOW_ID:
            return [ArgoVar("{{workflow.name}}")]
        host = self.hosts.get(token.task)
        if host is None:  # pragma: no cover - the frontend only keeps host tokens of the same group
            raise KeyError(token.task)
        return host


def task_template(
    ctx: Context,
    group: ir.Group,
    task: ir.Task,
    name: str,
    *,
    upload_intermediate: bool,
    hosts: dict[str, Sequence[str]] | None = None,
    pod_patch: dict[str, Any] | None = None,
    metadata: model.ObjectMeta | None = None,
) -> model.Template:
    text = ArgoText()
    scope = TaskScope(ctx, task, hosts)
    platform = placement.platform_of(ctx, task)
    placement.check_permissions(ctx, task, platform)

    template: model.Template = {"name": name}
    template["metadata"] = _metadata(ctx, group, task, platform, metadata)
    volumes: list[dict[str, Any]] = [{"name": "osmo-output", "emptyDir": {}}]
    mounts: list[model.VolumeMount] = [{"name": "osmo-output", "mountPath": data.OUTPUT_PATH}]

    inputs, init_containers = _inputs(ctx, task, scope, text)
    if init_containers:  # inputs must sit in a volume to be moved and filtered
        volumes.append({"name": filters.INPUT_VOLUME, "emptyDir": {}})
        mounts.append({"name": filters.INPUT_VOLUME, "mountPath": data.INPUT_ROOT})
    file_artifacts = _files(ctx, task, scope, text)
    outputs = _outputs(ctx, group, task, scope, text, upload_intermediate)
    _credential_volumes(ctx, task, volumes, mounts)
    for index, mount in enumerate(task.host_mounts):
        volumes.append({"name": f"host-mount-{index}", "hostPath": {"path": mount.source}})
        mounts.append({"name": f"host-mount-{index}", "mountPath": mount.destination})
    for index, path in enumerate(platform.default_mounts if platform is not None else ()):
        # OSMO's platform pod template mounts these on every pod of the platform.
        volumes.append({"name": f"platform-mount-{index}", "hostPath": {"path": path}})
        mounts.append({"name": f"platform-mount-{index}", "mountPath": path})

    checkpoint_sidecars = checkpoints.sidecars(ctx, task, lambda t: text.render(t, scope), volumes, mounts)
    _undocumented_fields(ctx, task)
    # OSMO pulls on every start (imagePullPolicy: Always), so a moved tag is always seen.
    container: model.Container = {"image": text.render(task.image, scope), "imagePullPolicy": "Always"}
    if task.command:
        container["command"] = [text.render(c, scope) for c in task.command]
    if task.args:
        container["args"] = [text.render(a, scope) for a in task.args]
    env = _environment(ctx, task, scope, text)
    if env:
        container["env"] = env
    container["resources"] = placement.resources(ctx, task)
    if task.privileged:
        container["securityContext"] = {"privileged": True}
    container["volumeMounts"] = mounts

    parameters: list[model.Parameter] = []
    if text.needs_brace_parameters:
        parameters = [{"name": key, "value": value} for key, value in BRACE_PARAMETERS]
    template_inputs: model.Inputs = {}
    if parameters:
        template_inputs["parameters"] = parameters
    if inputs or file_artifacts:
        template_inputs["artifacts"] = inputs + file_artifacts
    if template_inputs:
        template["inputs"] = template_inputs
    if outputs:
        template["outputs"] = {"artifacts": outputs}
    _deadlines(ctx, task, template)
    retry = exits.retry_strategy(ctx, task)
    if retry is not None:
        template["retryStrategy"] = retry
    placement.placement(ctx, task, platform, template)
    schedulers.schedule(ctx, template)
    schedulers.check_topology_keys(ctx, task)
    patch: dict[str, Any] = dict(pod_patch or {})
    placement.pod_spec_patch(ctx, task, platform, patch)
    if patch:
        template["podSpecPatch"] = placement.render_patch(patch)
        if text.has_expression_braces and ctx.target.at_least("3.7"):
            ctx.warn(
                "W426",
                f"task {task.name!r} has text with `{{{{=` and its pod needs a podSpecPatch; Argo "
                f"{ctx.target.argo_version} evaluates that patch with the task's text restored, so if what "
                "follows `{{=` up to `}}` is not a valid Argo expression, Argo cannot create the pod",
                task.span,
                hint="the text itself still reaches the container unchanged when the pod is created",
            )
    template["volumes"] = volumes
    if init_containers:
        template["initContainers"] = init_containers
    if checkpoint_sidecars:
        template["sidecars"] = checkpoint_sidecars
    template["container"] = container
    return template


def _metadata(
    ctx: Context, group: ir.Group, task: ir.Task, platform: Any, extra: model.ObjectMeta | None
) -> model.ObjectMeta:
    # OSMO puts the workflow's labels on task pods only (under its own labels).
    labels = {
        f"{ctx.target.pod_label_prefix}{key}": value
        for key, value in ctx.workflow.labels
        if not labels_module.key_problem(f"{ctx.target.pod_label_prefix}{key}")
    }
    labels[ctx.label("task")] = names.label_value(task.name)
    if not group.implicit:
        labels[ctx.label("group")] = names.label_value(group.name)
        if task.lead:
            labels[ctx.label("lead")] = "true"
    if platform is not None:
        labels.update(platform.labels)
    annotations: dict[str, str] = {}
    if labels[ctx.label("task")] != task.name:
        annotations[ctx.label("task-name")] = task.name
    if extra:
        labels.update(extra.get("labels", {}))
        annotations.update(extra.get("annotations", {}))
    meta: model.ObjectMeta = {"labels": dict(sorted(labels.items()))}
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return meta


def _environment(ctx: Context, task: ir.Task, scope: TaskScope, text: ArgoText) -> list[model.EnvVar]:
    env: list[model.EnvVar] = []
    no_gpu = not placement.uses_gpu(ctx, task)
    for variable in task.environment:
        if no_gpu and variable.name == "NVIDIA_VISIBLE_DEVICES":
            ctx.warn(
                "W411",
                f"task {task.name!r} sets NVIDIA_VISIBLE_DEVICES but requests no GPU; OSMO overrides it "
                "with an empty value, and so does osmo2argo",
                variable.span,
            )
            continue
        env.append({"name": variable.name, "value": text.render(variable.value, scope)})
    for secret in task.secret_env:
        credential = ctx.target.secret_for(secret.credential)
        if credential.keys is not None and secret.key not in credential.keys:
            # OSMO refuses this at submit; on Argo the pod would hang in CreateContainerConfigError.
            ctx.error(
                "E415",
                f"credential {secret.credential!r} has no key {secret.key!r}; the target profile lists "
                + ", ".join(map(repr, credential.keys)),
                secret.span,
                hint=f"use one of those keys, or add it under credentials.{secret.credential}.keys in the target",
            )
        env.append({"name": secret.name, "valueFrom": {"secretKeyRef": {"name": credential.secret, "key": secret.key}}})
    if no_gpu:
        # OSMO hides the node's GPUs from containers that requested none.
        env.append({"name": "NVIDIA_VISIBLE_DEVICES", "value": ""})
    return env


def _credential_volumes(
    ctx: Context, task: ir.Task, volumes: list[dict[str, Any]], mounts: list[model.VolumeMount]
) -> None:
    for index, directory in enumerate(task.secret_dirs):
        credential = ctx.target.secret_for(directory.credential)
        volume = f"credential-{index}"
        volumes.append({"name": volume, "secret": {"secretName": credential.secret}})
        if credential.keys is not None:
            # OSMO writes each key as a file into the directory, leaving the rest of it alone.
            for key in credential.keys:
                mounts.append(
                    {
                        "name": volume,
                        "mountPath": f"{directory.path.rstrip('/')}/{key}",
                        "subPath": key,
                        "readOnly": True,
                    }
                )
            continue
        ctx.warn(
            "W412",
            f"credential {directory.credential!r} is mounted over {directory.path}: the directory "
            "holds only the credential's files (OSMO adds them next to what the image has there)",
            directory.span,
            hint=f"list the Secret's keys under credentials.{directory.credential}.keys in the "
            "target profile to mount them file by file",
        )
        mounts.append({"name": volume, "mountPath": directory.path, "readOnly": True})


def _files(ctx: Context, task: ir.Task, scope: TaskScope, text: ArgoText) -> list[model.Artifact]:
    artifacts: list[model.Artifact] = []
    for index, file in enumerate(task.files):
        path = text.render(file.path, scope)
        if isinstance(file.contents, bytes):
            try:
                contents = file.contents.decode("utf-8")
            except UnicodeDecodeError:
                ctx.error(
                    "E430",
                    f"file {path} holds binary data (base64 that is not UTF-8 text), which Argo cannot place",
                    file.span,
                    hint="ship binary files in the image or as an input from storage",
                )
                continue
            data_text = text.literal(contents)
        else:
            data_text = text.render(file.contents, scope)
        artifacts.append({"name": f"file-{index}", "path": path, "raw": {"data": data_text}})
    return artifacts


def _inputs(
    ctx: Context, task: ir.Task, scope: TaskScope, text: ArgoText
) -> tuple[list[model.Artifact], list[model.Container]]:
    """Input artifacts, and the helper init container that places objects and applies regexes."""
    artifacts: list[model.Artifact] = []
    fixes: list[filters.InputFix] = []
    for item in task.inputs:
        name = f"input-{item.index}"
        path = data.input_path(item.index)
        if isinstance(item, ir.TaskInput):
            key = ctx.intermediate_key(item.task, item.workflow_id or "{{workflow.name}}")
            artifact = data.intermediate(ctx, key).artifact(name, path)
            if item.workflow_id is None:
                artifact["optional"] = True  # an empty {{output}} uploads nothing, as under OSMO
            else:
                ctx.warn(
                    "W423",
                    f"input {item.workflow_id}:{item.task} reads {key}: the output of task "
                    f"{item.task!r} of the Argo workflow named {item.workflow_id!r} (Argo names runs "
                    "<name>-<5 random characters>, not OSMO's <name>-<number>)",
                    item.span,
                    hint="use the name `argo list` shows; the input fails if that workflow has no such output",
                )
            fixes.append(filters.InputFix(path, None, item.regex))
        elif isinstance(item, ir.UrlInput):
            url = text.render(item.url, scope)
            location = data.url_location(ctx, url, item.span)
            if location is None:
                continue
            artifact = location.artifact(name, path)
            # OSMO puts an object's file under {{input:i}}/; Argo puts it at {{input:i}} itself.
            base = None if url.endswith("/") else url.rstrip("/").rsplit("/", 1)[-1]
            fixes.append(filters.InputFix(path, base, item.regex))
        else:
            location = data.dataset_location(ctx, item.dataset, dataset_version(ctx, task, item), item.span)
            if location is None:
                continue
            artifact = location.artifact(name, path)
            fixes.append(filters.InputFix(path, None, item.regex))
        artifacts.append(artifact)
    needed = [fix for fix in fixes if fix.basename or fix.regex]
    init = [filters.input_fix_container(ctx.target.helper_image, needed)] if needed else []
    return artifacts, init


def dataset_version(ctx: Context, task: ir.Task, item: ir.DatasetInput) -> str:
    """The version a dataset input reads: its tag, the version an upstream group wrote, or latest."""
    if item.dataset.tag and item.dataset.tag != "latest":
        return item.dataset.tag
    producer = ctx.dataset_producer(task, item.dataset)
    if producer is not None:
        return output_version(producer)
    ctx.warn(
        "W424",
        f"dataset {item.dataset} has no tag and no producer in this workflow: task {task.name!r} reads "
        "its 'latest' version, which osmo2argo's dataset outputs do not update (each writes a new version "
        "named after the workflow and task)",
        item.span,
        hint="give the version as a tag, e.g. name:my-workflow-abcde-producer",
    )
    return "latest"


def output_version(task: ir.Task) -> str:
    return "{{workflow.name}}-" + names.normal(task.name)


def _outputs(
    ctx: Context, group: ir.Group, task: ir.Task, scope: TaskScope, text: ArgoText, upload_intermediate: bool
) -> list[model.Artifact]:
    artifacts: list[model.Artifact] = []
    if upload_intermediate:
        key = ctx.intermediate_key(task.name)
        artifact = data.unarchived(data.intermediate(ctx, key).artifact("output", data.OUTPUT_PATH))
        artifact["optional"] = True
        artifacts.append(artifact)
    for index, output in enumerate(task.outputs):
        if output.regex:
            continue  # written by the group's filtering step (lower/groups.py)
        if isinstance(output, ir.UrlOutput):
            location = data.url_location(ctx, text.render(output.url, scope), output.span)
        else:
            location = data.dataset_location(ctx, output.dataset, output_version(task), output.span)
        if location is None:
            continue
        artifact = data.unarchived(location.artifact(f"output-{index}", data.OUTPUT_PATH))
        artifact["optional"] = True  # an empty {{output}} uploads nothing, as under OSMO
        artifacts.append(artifact)
    return artifacts


def _undocumented_fields(ctx: Context, task: ir.Task) -> None:
    """kpis and cacheSize drive OSMO's own services; Argo has nothing to give them to."""
    if task.kpis:
        ctx.warn(
            "W451",
            f"kpis of task {task.name!r} are OSMO UI metrics: the files stay in {{{{output}}}} and are "
            "uploaded with it, but nothing indexes them on Argo",
            task.kpis[0].span,
        )
    if task.cache_size is not None:
        ctx.warn(
            "W452",
            f"cacheSize of task {task.name!r} sizes OSMO's data cache; Argo downloads inputs into the pod "
            "and has no such cache, so it is ignored",
            task.span_of("cacheSize"),
        )


def _deadlines(ctx: Context, task: ir.Task, template: model.Template) -> None:
    timeout = ctx.workflow.timeout
    exec_timeout = timeout.exec_timeout or ctx.target.default_exec_timeout
    if exec_timeout:
        template["activeDeadlineSeconds"] = max(1, math.ceil(exec_timeout))
    queue_timeout = timeout.queue_timeout or ctx.target.default_queue_timeout
    if queue_timeout and ctx.target.at_least("4.1"):
        template["pendingTimeout"] = f"{max(1, math.ceil(queue_timeout))}s"
