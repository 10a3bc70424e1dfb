"""The workflow as a picture: Mermaid (renders in GitHub pull requests) or Graphviz DOT.

Groups become subgraphs, tasks nodes (the lead of a multi-task group a hexagon marked ★), and
every input an edge labelled with what flows into it: another task's output, an in-workflow
dataset, or a data node (storage URL, external dataset, earlier workflow's output). Group edges
need no drawing of their own: OSMO orders a whole group after every group one of its tasks reads
from (the "peer rule"), so a task edge already shows each of them. Only an upstream group that no
task edge covers gets a dashed group edge, so the picture never hides an ordering.

The layout is built once (`_layout`) and written by two small writers, so both formats show the
same nodes, labels and shapes. Output is deterministic: declaration order throughout.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Literal

from . import ir

FORMATS = ("mermaid", "dot")

NodeKind = Literal["task", "lead", "data"]

LEAD_MARK = "★"
URL_LIMIT = 56  # a longer URL is shortened in its node label
SEGMENT_LIMIT = 40  # a longer single path segment is cut
_TOKENS_ONLY = re.compile(r"(?:\{\{[^{}]*\}\})+")  # a path segment that is only OSMO tokens
# How many components after the scheme name the bucket: azure://account/container,
# tos://endpoint/bucket, swift://endpoint/account/bucket (frontend.URL_RES accepts these shapes).
BUCKET_PARTS = {"s3": 1, "gs": 1, "azure": 2, "tos": 2, "swift": 3}


@dataclasses.dataclass(frozen=True, slots=True)
class _Node:
    id: str
    label: str
    kind: NodeKind
    tooltip: str | None = None  # the full text when the label shortens it (DOT only)


@dataclasses.dataclass(frozen=True, slots=True)
class _Cluster:
    id: str
    title: str
    nodes: tuple[_Node, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Edge:
    source: str
    target: str
    label: str
    dashed: bool = False
    # For a group edge between clusters (DOT draws it lead to lead, clipped at the clusters).
    source_cluster: str | None = None
    target_cluster: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Layout:
    name: str
    items: tuple[_Cluster | _Node, ...]  # groups in declaration order; data nodes last
    edges: tuple[_Edge, ...]


def render(workflow: ir.Workflow, fmt: str) -> str:
    """The workflow as a Mermaid flowchart (`mermaid`) or a Graphviz digraph (`dot`)."""
    layout = _layout(workflow)
    if fmt == "mermaid":
        return _mermaid(layout)
    if fmt == "dot":
        return _dot(layout)
    raise ValueError(f"unknown graph format {fmt!r}; expected one of {', '.join(FORMATS)}")


# --- ids and labels ---------------------------------------------------------------------------


def safe_ids(names: Iterable[str], prefix: str) -> dict[str, str]:
    """A collision-free id for each name: `prefix` + the name lowercased, other characters `_`.

    Lowercased because OSMO names differ in case and `_`/`-` only across workflows, never within
    one, but a renderer must not be trusted to keep `A` and `a` apart; clashes get `_2`, `_3`, …
    in the order the names come. The prefix keeps ids off Mermaid keywords (`end`, `graph`) and
    off the `o`/`x` edge endings.
    """
    ids: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        if name in ids:
            continue
        base = prefix + re.sub(r"[^a-z0-9]", "_", name.lower())
        candidate, suffix = base, 1
        while candidate in used:
            suffix += 1
            candidate = f"{base}_{suffix}"
        used.add(candidate)
        ids[name] = candidate
    return ids


# Characters Mermaid reads as syntax even inside a quoted label (`"` ends it, `#…;` is an entity,
# backticks make a Markdown string, `<`/`>`/`&` are HTML) or that some versions lex inside
# `|…|` edge text and shape brackets. Written as numeric entities, which Mermaid decodes.
_MERMAID_SPECIAL = frozenset('"#&<>|[](){}`')


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: specials as `#NN;` entities, newlines as `<br>`."""
    out = []
    for char in text.replace("\r\n", "\n").replace("\r", "\n"):
        if char == "\n":
            out.append("<br>")
        elif char in _MERMAID_SPECIAL or ord(char) < 32 or ord(char) == 127:
            out.append(f"#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def dot_text(text: str) -> str:
    """Text for inside a DOT double-quoted string: `\\` and `"` escaped, newlines as `\\n`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A backslash starts DOT's label escapes (\n, \l, \N, …), so a literal one is doubled first.
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def short_url(url: str) -> str:
    """The URL as a node label: whole when short, else scheme, bucket, `…` and the last segments."""
    if len(url) <= URL_LIMIT:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url[: URL_LIMIT - 1] + "…"
    trailing = "/" if rest.endswith("/") else ""
    parts = [p for p in rest.split("/") if p]
    keep = BUCKET_PARTS.get(scheme, 1)
    head, tail = parts[:keep], parts[keep:]
    if not tail:
        return url  # nothing but the bucket, which is always kept
    tail = [p if len(p) <= SEGMENT_LIMIT else p[: SEGMENT_LIMIT - 1] + "…" for p in tail]
    prefix = f"{scheme}://{'/'.join(head)}/"
    # The last segments down to one with text of its own: `…/{{workflow_id}}/` alone would make
    # every run-scoped URL of a workflow look the same.
    count = 1
    while count < len(tail) and _TOKENS_ONLY.fullmatch(tail[-count]):
        count += 1
    shown = tail[-count:]
    for part in reversed(tail[:-count]):  # then as many more as fit
        if len(prefix) + len("…/") + len("/".join([part, *shown])) + len(trailing) > URL_LIMIT:
            break
        shown.insert(0, part)
    elided = "…/" if len(shown) < len(tail) else ""
    return prefix + elided + "/".join(shown) + trailing


# --- layout -----------------------------------------------------------------------------------


class _DataNodes:
    """Data nodes, one per distinct URL/dataset/earlier output, numbered in order of first use."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[str, str], _Node] = {}

    def get(self, kind: str, key: str, label: str, tooltip: str | None = None) -> str:
        node = self.nodes.get((kind, key))
        if node is None:
            node = _Node(f"d_{len(self.nodes) + 1}", label, "data", tooltip)
            self.nodes[(kind, key)] = node
        return node.id

    def url(self, url: ir.Text) -> str:
        full = url.osmo_form()
        short = short_url(full)
        return self.get("url", full, short, full if short != full else None)


def _layout(workflow: ir.Workflow) -> _Layout:
    tasks = workflow.tasks()
    task_ids = safe_ids((t.name for t in tasks), "t_")
    group_ids = safe_ids((g.name for g in workflow.groups), "g_")
    group_of = {task.name: group for group in workflow.groups for task in group.tasks}
    items: list[_Cluster | _Node] = []
    for group in workflow.groups:
        nodes = tuple(_task_node(task, task_ids[task.name], len(group.tasks) > 1) for task in group.tasks)
        # An implicit group (tasks mode) is just its task; an explicit one is drawn as a group even
        # with one task, because its name is the user's and the Argo DAG is built from it.
        if not group.implicit:
            items.append(_Cluster(group_ids[group.name], group.name, nodes))
        else:
            items.extend(nodes)

    writers, consumed = _dataset_writers(workflow)
    data = _DataNodes()
    edges: list[_Edge] = []
    covered: set[tuple[str, str]] = set()  # (upstream group, group) pairs a task edge shows
    for group in workflow.groups:
        for task in group.tasks:
            node_id = task_ids[task.name]
            for item in task.inputs:
                slot = f"input:{item.index}"
                if isinstance(item, ir.TaskInput) and item.workflow_id is None:
                    edges.append(_Edge(task_ids[item.task], node_id, f"output as {slot}"))
                    covered.add((group_of[item.task].name, group.name))
                elif isinstance(item, ir.TaskInput):
                    earlier = f"{item.workflow_id}:{item.task}"
                    edges.append(_Edge(data.get("earlier", earlier, f"output of {earlier}"), node_id, slot))
                elif isinstance(item, ir.UrlInput):
                    edges.append(_Edge(data.url(item.url), node_id, slot))
                elif writers.get((task.name, item.index)):
                    for writer in writers[(task.name, item.index)]:
                        edges.append(_Edge(task_ids[writer], node_id, f"dataset {item.dataset} as {slot}"))
                        covered.add((group_of[writer].name, group.name))
                else:
                    node = data.get("dataset", str(item.dataset), f"dataset {item.dataset}")
                    edges.append(_Edge(node, node_id, slot))
            for output in task.outputs:
                if isinstance(output, ir.UrlOutput):
                    edges.append(_Edge(node_id, data.url(output.url), "output"))
                elif (task.name, output.dataset.key) not in consumed:
                    # A dataset read in the workflow is drawn as its task edges; an unread one
                    # still leaves the workflow, so it gets a data node like a URL.
                    node = data.get("dataset", str(output.dataset), f"dataset {output.dataset}")
                    edges.append(_Edge(node_id, node, "output"))
            for checkpoint in task.checkpoints:
                edges.append(_Edge(node_id, data.url(checkpoint.url), f"checkpoint {checkpoint.path}"))

    by_name = {group.name: group for group in workflow.groups}
    for group in workflow.groups:
        for upstream in group.upstream:
            if (upstream, group.name) not in covered:
                edges.append(_group_edge(by_name[upstream], group, task_ids, group_ids))
    return _Layout(workflow.name, (*items, *data.nodes.values()), tuple(edges))


def _dataset_writers(
    workflow: ir.Workflow,
) -> tuple[dict[tuple[str, int], list[str]], set[tuple[str, tuple[str | None, str]]]]:
    """Which tasks write the dataset each input reads, and which (task, dataset) outputs are read.

    As OSMO counts producers (frontend `edges`): an untagged or `latest` dataset input reads what
    tasks of groups declared before its own group write; a pinned tag, or a writer in the same or
    a later group, is a version from outside the run.
    """
    producers: dict[tuple[str | None, str], list[str]] = {}
    writers: dict[tuple[str, int], list[str]] = {}
    consumed: set[tuple[str, tuple[str | None, str]]] = set()
    for group in workflow.groups:
        for task in group.tasks:
            for item in task.inputs:
                if isinstance(item, ir.DatasetInput) and item.dataset.tag in (None, "latest"):
                    found = producers.get(item.dataset.key, [])
                    if found:
                        writers[(task.name, item.index)] = list(found)
                        consumed.update((name, item.dataset.key) for name in found)
        for task in group.tasks:
            for output in task.outputs:
                if isinstance(output, ir.DatasetOutput):
                    names = producers.setdefault(output.dataset.key, [])
                    if task.name not in names:
                        names.append(task.name)
    return writers, consumed


def _task_node(task: ir.Task, node_id: str, shared: bool) -> _Node:
    # Only a group of several tasks has a lead worth marking: a lone task always leads.
    if task.lead and shared:
        return _Node(node_id, f"{LEAD_MARK} {task.name}", "lead")
    return _Node(node_id, task.name, "task")


def _group_edge(upstream: ir.Group, group: ir.Group, task_ids: dict[str, str], group_ids: dict[str, str]) -> _Edge:
    """A dashed "after" edge between two groups, for an ordering no task edge shows."""
    # Mermaid joins subgraph ids directly; DOT needs node ends, so it uses the leads and clips.
    up_cluster = None if upstream.implicit else group_ids[upstream.name]
    down_cluster = None if group.implicit else group_ids[group.name]
    return _Edge(task_ids[upstream.lead.name], task_ids[group.lead.name], "after", True, up_cluster, down_cluster)


# --- writers ----------------------------------------------------------------------------------


def _mermaid(layout: _Layout) -> str:
    shapes = {"task": ('["', '"]'), "lead": ('{{"', '"}}'), "data": ('(["', '"])')}

    def node(n: _Node) -> str:
        left, right = shapes[n.kind]
        return f"{n.id}{left}{mermaid_text(n.label)}{right}"

    lines = ["flowchart TD"]
    for item in layout.items:
        if isinstance(item, _Cluster):
            lines.append(f'    subgraph {item.id}["{mermaid_text(item.title)}"]')
            lines.extend(f"        {node(n)}" for n in item.nodes)
            lines.append("    end")
        else:
            lines.append(f"    {node(item)}")
    for edge in layout.edges:
        arrow = "-.->" if edge.dashed else "-->"
        source = edge.source_cluster or edge.source
        target = edge.target_cluster or edge.target
        lines.append(f'    {source} {arrow}|"{mermaid_text(edge.label)}"| {target}')
    return "\n".join(lines) + "\n"


def _dot(layout: _Layout) -> str:
    def node(n: _Node) -> str:
        attrs = [f'label="{dot_text(n.label)}"']
        if n.kind == "lead":
            attrs.append("shape=hexagon")
        elif n.kind == "data":
            attrs.append('style="rounded"')
        if n.tooltip:
            attrs.append(f'tooltip="{dot_text(n.tooltip)}"')
        return f'"{n.id}" [{", ".join(attrs)}];'

    lines = [f'digraph "{dot_text(layout.name)}" {{', "    compound=true;", "    node [shape=box];"]
    for item in layout.items:
        if isinstance(item, _Cluster):
            lines.append(f'    subgraph "cluster_{item.id}" {{')
            lines.append(f'        label="{dot_text(item.title)}";')
            lines.extend(f"        {node(n)}" for n in item.nodes)
            lines.append("    }")
        else:
            lines.append(f"    {node(item)}")
    for edge in layout.edges:
        attrs = [f'label="{dot_text(edge.label)}"']
        if edge.dashed:
            attrs.append("style=dashed")
        if edge.source_cluster:
            attrs.append(f'ltail="cluster_{edge.source_cluster}"')
        if edge.target_cluster:
            attrs.append(f'lhead="cluster_{edge.target_cluster}"')
        lines.append(f'    "{edge.source}" -> "{edge.target}" [{", ".join(attrs)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"
