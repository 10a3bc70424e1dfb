"""Multi-task OSMO groups on Argo: co-scheduling, peer addressing, barrier and lead semantics.

A group of several tasks is a nested DAG template (docs/semantics.md cites the Argo source for
each point):
- the lead is an ordinary task and the others are `daemon: true`: the DAG completes when the lead
  completes, and Argo then terminates the daemons (`killDaemonedChildren`), as OSMO deletes the
  group's pods when its lead ends;
- `ignoreNonleadStatus: true` (OSMO's default): non-leads also carry `continueOn`, so the group
  takes its lead's result;
- `ignoreNonleadStatus: false`: the non-leads are ordinary tasks (Argo 3.7+ reports a daemon that
  exits 0 as failed, which OSMO does not); a lifecycle hook on each non-lead stops the group
  (deletes its pods) when that non-lead fails, so the lead fails and so does the group, and an exit
  hook on the lead deletes the non-leads still running when the lead ends. Argo rejects
  `continueOn` next to `depends`, so the group DAG uses the `dependencies` list form;
- peers reach each other as `<host>.<service>.<namespace>.svc.cluster.local`: every member pod
  gets a hostname and the subdomain of one headless Service per workflow
  (`publishNotReadyAddresses`), set through `podSpecPatch`;
- co-start comes from the target's gang scheduler (lower/schedulers.py);
- the barrier (default on) is an init container that runs after Argo has downloaded the pod's
  inputs and returns only when every member has reached it, as OSMO's ctrl waits after its
  downloads;
- one setup step per workflow creates the Service and the gang objects (PodGroups), owned by the
  Workflow so that they are deleted with it. Helper pods never carry gang metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import ir
from . import exits, model, names, schedulers, tasks
from .context import Context
from .groups import LoweredGroup
from .text import ArgoVar

SETUP_TASK = "osmo-setup"
SETUP_TEMPLATE = "osmo-setup"
STOP_TEMPLATE = "osmo-stop-group"
BARRIER_PORT = 24601
SERVICE = "osmo-{{workflow.uid}}"


def host_name(task: ir.Task) -> str:
    """The pod hostname of a group member: unique in the workflow, a DNS label."""
    return names.dns_label(names.normal(task.name))


def host_pieces(task: ir.Task) -> Sequence[str]:
    """`{{host:task}}`: the member's DNS name, as pieces of literal text and Argo variables."""
    return [
        f"{host_name(task)}.osmo-",
        ArgoVar("{{workflow.uid}}"),
        ".",
        ArgoVar("{{workflow.namespace}}"),
        ".svc.cluster.local",
    ]


def lower_group(ctx: Context, group: ir.Group, has_downstream: bool) -> LoweredGroup:
    backend = schedulers.backend(ctx)
    if backend.name == "none":
        ctx.warn(
            "W440",
            f"group {group.name!r}: the target has no gang scheduler, so its {len(group.tasks)} tasks "
            "start when each is scheduled (co-start is best effort); its barrier still holds every command "
            "until all have started",
            group.span,
            hint="set scheduler.name (kai, volcano, kueue or coscheduling) in the target profile",
        )
    if backend.name == "kueue":
        ctx.warn(
            "W442",
            f"group {group.name!r}: Kueue admits its {len(group.tasks)} pods together but does not place "
            "them; they all run at once only if Kueue waits for pods to be ready",
            group.span,
            hint="enable waitForPodsReady in Kueue's configuration for all-or-nothing starts",
        )
    if backend.name == "kai" and group.ignore_nonlead_status and backend.kai_version < (0, 17):
        ctx.warn(
            "W448",
            f"group {group.name!r}: KAI before 0.17 evicts a gang 60 s after one of its pods stops, so a "
            "failed non-lead takes its lead down; OSMO keeps the group while its lead runs",
            group.span,
            hint="with KAI 0.17 or later set scheduler.kaiVersion in the target profile",
        )
    hosts = {task.name: host_pieces(task) for task in group.tasks}
    gang_name = schedulers.gang_name(group)
    lead = group.lead
    templates: list[model.Template] = []
    steps: list[model.DAGTask] = []
    uses_verdict = by_affinity = False
    for task in group.tasks:
        template_name = ctx.task_template(task)
        upload = has_downstream or not task.outputs
        pod_patch = {"hostname": host_name(task), "subdomain": SERVICE}
        metadata = backend.pod_metadata(ctx, group, gang_name)
        labels = dict(metadata.get("labels", {}))
        labels[ctx.label("peer")] = "true"
        metadata["labels"] = labels
        template = tasks.task_template(
            ctx,
            group,
            task,
            template_name,
            upload_intermediate=upload,
            hosts=hosts,
            pod_patch=pod_patch,
            metadata=metadata,
        )
        retried = "retryStrategy" in template
        if retried:
            ctx.warn(
                "W446",
                f"task {task.name!r} of group {group.name!r} has RESCHEDULE exit codes: Argo retries "
                "only its own pod, while OSMO also restarts the group's other tasks",
                task.span,
            )
            if backend.name == "kueue":
                ctx.warn(
                    "W447",
                    f"group {group.name!r} is a Kueue pod group with retries: Kueue admits a "
                    "replacement pod only if the group's quota allows it",
                    task.span,
                )
        if group.has_barrier:
            template.setdefault("initContainers", []).append(_barrier(ctx, group, task, retried))
        if task.resources.topology and schedulers.topology_affinity(ctx, group, task, template):
            by_affinity = True
        step: model.DAGTask = {"name": names.normal(task.name), "template": template_name}
        if task is not lead and group.ignore_nonlead_status:
            template["daemon"] = True
            step["continueOn"] = {"failed": True, "error": True}
        elif task is not lead:
            if any(rule.action in ("COMPLETE", "FAIL") for rule in task.exit_rules):
                ctx.warn(
                    "W449",
                    f"task {task.name!r}: under ignoreNonleadStatus: false a non-lead stops its group "
                    "when Argo marks it failed; its COMPLETE and FAIL exit actions are not consulted for that",
                    task.span,
                )
            # Stopped by the lead's exit hook when the lead ends (Failed or Error): that must not
            # count. A failure of its own stops the lead instead, which fails the group.
            step["continueOn"] = {"failed": True, "error": True}
            step["hooks"] = {"stop-group": _stop_hook(ctx, group, _failed(names.normal(task.name)), lead=True)}
        elif not group.ignore_nonlead_status:
            step["hooks"] = {"exit": _stop_hook(ctx, group, None, lead=False)}
        templates.append(template)
        steps.append(step)
        if task is lead and exits.plan(task, ctx.target.reschedule_limit).needs_verdict:
            steps[-1]["continueOn"] = {"failed": True}
            steps.append(
                {
                    "name": names.free_name("verdict", {names.normal(t.name) for t in group.tasks}),
                    "template": exits.VERDICT_TEMPLATE,
                    "dependencies": [names.normal(task.name)],
                    "arguments": {
                        "parameters": [
                            {"name": "task", "value": task.name},
                            {"name": "code", "value": f"{{{{tasks.{names.normal(task.name)}.exitCode}}}}"},
                            {
                                "name": "succeed",
                                "value": exits.codes_text(exits.plan(task, ctx.target.reschedule_limit).succeed),
                            },
                        ]
                    },
                }
            )
            uses_verdict = True
        if task is not lead and task.outputs and any(o.regex for o in task.outputs):
            ctx.error(
                "E441",
                f"task {task.name!r} is not its group's lead and has an output with a regex; filtered "
                "outputs are supported on leads and single-task groups",
                task.span,
            )
        elif task is lead and any(o.regex for o in task.outputs):
            ctx.error(
                "E441",
                f"task {task.name!r} leads a group and has an output with a regex; filtered outputs "
                "are supported on single-task groups",
                task.span,
            )
    if by_affinity:
        ctx.warn(
            "W441",
            f"group {group.name!r}: its topology requirements become pod affinity, which is greedy: the "
            "first member placed picks the domain (rack, block...), and the others wait if it has no room; "
            "OSMO's scheduler picks a domain that fits the whole group",
            group.span,
            hint="keep the domains' free capacity in mind, or use `preferred` requirements",
        )
    ctx.gangs.append((group, gang_name, backend))
    group_template: model.Template = {"name": ctx.group_template(group), "dag": {"tasks": steps}}
    retry = _group_retry(ctx, group)
    if retry is not None:
        group_template["retryStrategy"] = retry
    dag_task: model.DAGTask = {"name": ctx.dag_task_name(group), "template": group_template["name"]}
    return LoweredGroup(dag_task, [group_template, *templates], uses_verdict=uses_verdict)


def _group_retry(ctx: Context, group: ir.Group) -> model.RetryStrategy | None:
    """OSMO restarts the whole group when the lead (or, with ignoreNonleadStatus false, any task) is
    rescheduled; on Argo the member's own retry restarts only that pod, which is what OSMO does
    for a rescheduled non-lead under ignoreNonleadStatus true."""
    return None


def _failed(member: str) -> str:
    return f"tasks['{member}'].status == 'Failed' || tasks['{member}'].status == 'Error'"


def _stop_hook(ctx: Context, group: ir.Group, expression: str | None, *, lead: bool) -> model.LifecycleHook:
    """A hook that deletes the group's unfinished (Pending or Running) lead pod, or its unfinished non-lead pods."""
    hook: model.LifecycleHook = {"template": STOP_TEMPLATE}
    if expression is not None:
        hook["expression"] = expression
    hook["arguments"] = {
        "parameters": [
            {"name": "group", "value": names.label_value(group.name)},
            {"name": "which", "value": f",{ctx.label('lead')}" if lead else f",!{ctx.label('lead')}"},
        ]
    }
    ctx.needs_stop_template = True
    return hook


def _barrier(ctx: Context, group: ir.Group, task: ir.Task, retried: bool) -> model.Container:
    peers = [host_name(other) for other in group.tasks if other is not task]
    domain = "osmo-{{workflow.uid}}.{{workflow.namespace}}.svc.cluster.local"
    # A retried pod finds no peers at the barrier (they passed it long ago): it goes straight on.
    attempt = "{{retries}}" if retried else "0"
    return {
        "name": "osmo-barrier",
        "image": ctx.target.helper_image,
        "command": [
            "python3",
            "-c",
            _BARRIER_SCRIPT,
            attempt,
            str(ctx.target.barrier_timeout),
            host_name(task),
            str(BARRIER_PORT),
            domain,
            *peers,
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
    }


# Every member listens, connects to every peer until each accepts, and leaves once every peer
# has connected to it: no member starts its command before all members finished their
# downloads and reached the barrier. Peers are found under the group's DNS names, which exist
# from when their pods have an address (publishNotReadyAddresses).
_BARRIER_SCRIPT = """\
import socket, sys, threading, time
attempt, limit, me, port, domain = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
peers = sys.argv[6:]
give_up = time.monotonic() + limit
if attempt != '0':
    print('barrier: attempt', attempt, 'of a retried task: not waiting', flush=True)
    sys.exit(0)
seen = set()
done = threading.Event()
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('', port))
server.listen(64)
def accept():
    while len(seen) < len(peers):
        conn, _ = server.accept()
        name = conn.recv(256).decode('utf-8', 'replace').strip()
        conn.sendall(b'ok')
        conn.close()
        if name in peers:
            seen.add(name)
    done.set()
threading.Thread(target=accept, daemon=True).start()
pending = set(peers)
print('barrier: waiting for', ', '.join(sorted(pending)), flush=True)
while pending and time.monotonic() < give_up:
    for peer in sorted(pending):
        try:
            with socket.create_connection((peer + '.' + domain, port), timeout=2) as conn:
                conn.sendall(me.encode('utf-8'))
                if conn.recv(8) == b'ok':
                    pending.discard(peer)
        except OSError:
            pass
    if pending:
        time.sleep(1)
if pending or not done.wait(max(0.0, give_up - time.monotonic())):
    # OSMO stops waiting for tasks that ended; a peer that never comes cannot be told from one
    # that ended, so after the target's barrierTimeoutSeconds the command starts anyway.
    missing = ', '.join(sorted(pending)) or 'peers to connect'
    print('barrier: gave up waiting after', limit, 's for', missing, flush=True)
    sys.exit(0)
print('barrier: all peers arrived', flush=True)
"""


def shared_templates(ctx: Context) -> list[model.Template]:
    """The setup step's and the stop-group hook's templates, when a group needs them."""
    if not ctx.gangs and not ctx.peers:
        return []
    out = [_setup_template(ctx)]
    if ctx.needs_stop_template:
        out.append(_stop_template(ctx))
    return out


def _owner() -> str:
    return (
        "  ownerReferences:\n"
        "  - apiVersion: argoproj.io/v1alpha1\n"
        "    kind: Workflow\n"
        "    name: '{{workflow.name}}'\n"
        "    uid: '{{workflow.uid}}'\n"
    )


def _setup_objects(ctx: Context) -> str:
    documents = [
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata:\n"
        f"  name: {SERVICE}\n" + _owner() + "spec:\n"
        "  clusterIP: None\n"
        "  publishNotReadyAddresses: true\n"
        "  selector:\n"
        "    workflows.argoproj.io/workflow: '{{workflow.name}}'\n"
        f"    {ctx.label('peer')}: 'true'\n"
    ]
    for group, gang_name, backend in ctx.gangs:
        document = backend.gang_object(ctx, group, gang_name, _owner())
        if document:
            documents.append(document)
    return "---\n".join(documents)


def _setup_template(ctx: Context) -> model.Template:
    return {
        "name": SETUP_TEMPLATE,
        "inputs": {
            "artifacts": [{"name": "objects", "path": "/osmo/setup/objects.yaml", "raw": {"data": _setup_objects(ctx)}}]
        },
        "container": {
            "image": ctx.target.kubectl_image,
            "command": ["kubectl", "apply", "--namespace={{workflow.namespace}}", "-f", "/osmo/setup/objects.yaml"],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        },
    }


def _stop_template(ctx: Context) -> model.Template:
    selector = (
        f"workflows.argoproj.io/workflow={{{{workflow.name}}}},{ctx.label('group')}={{{{inputs.parameters.group}}}}"
        "{{inputs.parameters.which}}"
    )
    return {
        "name": STOP_TEMPLATE,
        "inputs": {"parameters": [{"name": "group"}, {"name": "which"}]},
        "container": {
            "image": ctx.target.kubectl_image,
            "command": [
                "kubectl",
                "delete",
                "pods",
                # Pending pods too (a lead still in its init containers); finished ones keep their logs.
                "--field-selector=status.phase!=Succeeded,status.phase!=Failed",
                "--namespace={{workflow.namespace}}",
                "--selector",
                selector,
                "--wait=false",
                "--ignore-not-found",
            ],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        },
    }
