"""Argo's hard limits: 200 templates, 200 tasks per DAG, 1 MiB of workflow JSON.

Three passes over the lowered manifest, each exact:
1. **Sharing.** Task templates that differ only in text leaves (labels, keys, arguments, file
   contents) become one template with input parameters; each DAG task passes its own values.
   A leaf that differs only by the task's name becomes `...{{inputs.parameters.task}}...`, so a
   homogeneous fan-out passes one short parameter per task. Leaves holding user `{{` (deferred
   brace expressions) are never parameters: they stay in the template, unchanged.
2. **Nesting.** An entry DAG of more than 200 tasks is cut into nested DAG templates of at most
   200 tasks. A part waits only for parts made entirely of its members' ancestors, so no task
   waits for anything it did not wait for before (chains, fan-outs, fan-ins and repeated diamonds
   nest exactly). Where no exact cut exists, parts wait for whole parts and a warning counts the
   waits added.
3. **Checking.** Templates, DAG sizes and the JSON size are counted; what still does not fit is an
   error naming the limit and the figure, before any cluster sees the manifest.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

from . import model, names
from .context import Context
from .text import DEFERRED_BRACE, DEFERRED_SINGLE_BRACE

SHARE_AT = 3  # identical tasks needed before they share one template
_MARK = "\x00osmo-param\x00"

# Where a task template holds text that Argo substitutes and the CRD does not constrain: the
# only leaves in which the members of a shared template may differ. `_TEXT` is such a leaf, a
# tuple applies its spec to every item of a list, and `_ANY` to every value of a mapping.
_TEXT = "text"
_ANY = "any"
_EACH_TEXT = (_TEXT,)
_ARTIFACT = {
    "s3": {"key": _TEXT, "bucket": _TEXT},
    "gcs": {"key": _TEXT, "bucket": _TEXT},
    "azure": {"blob": _TEXT, "container": _TEXT},
    "raw": {"data": _TEXT},
}
_PARAMETRIZABLE: dict[str, Any] = {
    "metadata": {"labels": _ANY, "annotations": _ANY},
    "container": {"image": _TEXT, "command": _EACH_TEXT, "args": _EACH_TEXT, "env": ({"value": _TEXT},)},
    "inputs": {"artifacts": (_ARTIFACT,)},
    "outputs": {"artifacts": (_ARTIFACT,)},
    "podSpecPatch": _TEXT,
    "initContainers": ({"command": _EACH_TEXT},),
    "sidecars": ({"command": _EACH_TEXT},),
}


def fit(ctx: Context, manifest: model.Workflow, sharing: Sharing) -> model.Workflow:
    share_templates(ctx, manifest, sharing)
    nest_entry_dag(ctx, manifest)
    check(ctx, manifest)
    return manifest


# -- 1. sharing -----------------------------------------------------------------------------------


class _Member:
    """A task template of a class (templates equal but for their parametrizable text): the
    template itself for the class's first member, else only its texts and the class's masked body."""

    __slots__ = ("masked", "name", "osmo_name", "template", "texts")

    def __init__(
        self, masked: dict[str, Any], template: model.Template, texts: dict[str, str], osmo_name: str | None, keep: bool
    ) -> None:
        self.masked = masked
        self.name = template["name"]
        self.texts = texts
        self.osmo_name = osmo_name
        self.template = template if keep else None

    def restored(self) -> model.Template:
        """The template as the lowering made it: the class's body with this member's texts."""
        if self.template is not None:
            return self.template
        body = _replace_leaves(self.masked, self.texts.get)  # every masked path is in `texts`
        return {"name": self.name, **body}  # type: ignore[typeddict-item]


class Sharing:
    """Task templates classified for sharing as the lowering makes them.

    A class's first member is kept whole; each later one is kept as its parametrizable texts and
    leaves a stand-in (`{"name": ...}`) in the template list, so a 5,000-task fan-out never holds
    5,000 full templates at once. `share_templates` replaces every stand-in: by its class's shared
    template, or by the member restored exactly (a body in which only its masked texts differ).
    """

    __slots__ = ("classes", "members")

    def __init__(self) -> None:
        self.classes: dict[bytes, list[_Member]] = {}  # class key -> its members, in order
        self.members: dict[str, _Member] = {}

    def add(self, ctx: Context, template: model.Template) -> model.Template:
        """Classify one template; returns it, or the stand-in that takes its place for now."""
        if "container" not in template or not template["name"].startswith("task-"):
            return template
        texts: dict[str, str] = {}
        masked = _MASK_TEMPLATE({k: v for k, v in template.items() if k != "name"}, "", texts)
        key = _canonical(masked)  # members of a class differ in nothing but their parametrizable text
        members = self.classes.setdefault(key, [])
        # A stand-in is restored with `name` first, so only a template that starts with it may leave one.
        keep = not members or next(iter(template)) != "name"
        member = _Member(members[0].masked if members else masked, template, texts, _osmo_name(template, ctx), keep)
        members.append(member)
        self.members[member.name] = member
        return template if keep else {"name": member.name}


def share_templates(ctx: Context, manifest: model.Workflow, sharing: Sharing) -> None:
    templates = manifest["spec"]["templates"]
    callers = _callers(templates)
    replaced: dict[str, model.Template] = {}
    for class_members in sharing.classes.values():
        members = [member for member in class_members if member.name in callers]
        if len(members) < SHARE_AT:
            continue
        built = _share(ctx, members, callers)
        if built is None:
            continue
        for member in members:
            replaced[member.name] = built
    # A shared template takes the place of its first member; the other members disappear.
    out: list[model.Template] = []
    emitted: set[str] = set()
    for template in templates:
        name = template["name"]
        share = replaced.get(name)
        if share is None:
            own = sharing.members.get(name)
            out.append(template if own is None else own.restored())
        elif share["name"] not in emitted:
            out.append(share)
            emitted.add(share["name"])
    manifest["spec"]["templates"] = out


def _callers(templates: list[model.Template]) -> dict[str, model.DAGTask]:
    """Template name → the DAG task that calls it (task templates have exactly one caller)."""
    callers: dict[str, model.DAGTask] = {}
    counts: dict[str, int] = {}
    for template in templates:
        for task in template.get("dag", {}).get("tasks", []):
            callers[task["template"]] = task
            counts[task["template"]] = counts.get(task["template"], 0) + 1
    return {name: task for name, task in callers.items() if counts[name] == 1 and "arguments" not in task}


def _canonical(value: Any) -> bytes:
    """Bytes that are equal exactly when two manifest values are: pickle without its memo
    ("fast" mode) writes every value by type and content, in order, however objects are shared,
    so key order matters and 1, 1.0 and true differ; three times as fast as json.dumps."""
    import io
    import pickle

    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    pickler.fast = True
    pickler.dump(value)
    return out.getvalue()


Masker = Callable[[Any, str, dict[str, str]], Any]


def _masker(spec: Any) -> Masker:
    """The function that masks a value under `spec` (see `_PARAMETRIZABLE`): it returns the value
    with each parametrizable text replaced by a mark, put into `texts` by dotted path. Only the
    containers on the way to such text are copied, and keys keep their order (the class key
    depends on it). Built once: the walk then does no spec lookups of its own."""
    if spec is _TEXT:
        return _masked_text
    if type(spec) is tuple:
        item = _masker(spec[0])

        def each(value: Any, path: str, texts: dict[str, str]) -> Any:
            if type(value) is not list:
                return value
            return [item(child, f"{path}.{i}", texts) for i, child in enumerate(value)]

        return each
    if spec is _ANY:

        def every(value: Any, path: str, texts: dict[str, str]) -> Any:
            if type(value) is not dict:
                return value
            return {key: _masked_text(child, f"{path}.{key}", texts) for key, child in value.items()}

        return every
    children = {key: _masker(child) for key, child in spec.items()}

    def mapping(value: Any, path: str, texts: dict[str, str]) -> Any:
        if type(value) is not dict:
            return value
        out = dict(value)
        prefix = f"{path}." if path else ""
        for key, child in value.items():  # the value's order, not the spec's: `texts` keeps it
            mask = children.get(key)
            if mask is not None:
                out[key] = mask(child, prefix + key, texts)
        return out

    return mapping


def _masked_text(value: Any, path: str, texts: dict[str, str]) -> Any:
    if _parametrizable(value):
        texts[path] = value
        return _MARK
    return value


_MASK_TEMPLATE = _masker(_PARAMETRIZABLE)


def _parametrizable(value: Any) -> bool:
    return (
        isinstance(value, str)
        and DEFERRED_BRACE not in value
        and DEFERRED_SINGLE_BRACE not in value
        and _insertable(value)
    )


def _insertable(value: str) -> bool:
    """Argo inserts a parameter's value with Go's strconv.Quote, whose escapes for control and
    non-printable characters are not JSON: such text stays in the template, never a parameter."""
    return value.isprintable() or all(c.isprintable() or c in "\t\n" for c in value)


def _replace_leaves(value: Any, fn: Callable[[str, Any], Any], path: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _replace_leaves(v, fn, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_leaves(v, fn, f"{path}.{i}") for i, v in enumerate(value)]
    return fn(path, value)


def _share(ctx: Context, members: list[_Member], callers: dict[str, model.DAGTask]) -> model.Template | None:
    leaves = [candidate.texts for candidate in members]  # a class's members differ only in these
    tasks = [callers[candidate.name] for candidate in members]
    task_names: list[str] = []
    for candidate in members:
        if candidate.osmo_name is None:
            return None  # not a task template the lowering labelled: leave it alone
        task_names.append(candidate.osmo_name)
    first_leaves = leaves[0]
    differing = [path for path, value in first_leaves.items() if any(leaf[path] != value for leaf in leaves)]
    substitutions: dict[str, str] = {}
    parameters: list[str] = []
    per_member: list[dict[str, str]] = [{} for _ in members]
    uses_task = False
    for path in differing:
        values = [str(leaf[path]) for leaf in leaves]
        by_name = {v.replace(n, _MARK) for v, n in zip(values, task_names, strict=True)}
        if len(by_name) == 1 and all(n in v for v, n in zip(values, task_names, strict=True)):
            substitutions[path] = by_name.pop().replace(_MARK, "{{inputs.parameters.task}}")
            uses_task = True
            continue
        parameter = _parameter_name(path, parameters)
        parameters.append(parameter)
        prefix, suffix = _affixes(values)
        substitutions[path] = f"{prefix}{{{{inputs.parameters.{parameter}}}}}{suffix}"
        for member, value in zip(per_member, values, strict=True):
            member[parameter] = value[len(prefix) : len(value) - len(suffix)]
    if any("{{inputs.parameters." in str(leaf[p]) for leaf in leaves for p in differing):
        return None  # a member already uses template parameters in a differing leaf: keep them apart
    first = members[0].restored()
    body: dict[str, Any] = _replace_leaves({k: v for k, v in first.items() if k != "name"}, substitutions.get)
    declared: list[model.Parameter] = [{"name": "task"}] if uses_task else []
    declared += [{"name": p} for p in parameters]
    inputs = body.get("inputs", {})  # _replace_leaves built the body afresh: no copy needed
    inputs["parameters"] = declared + list(inputs.get("parameters", []))
    body["inputs"] = inputs
    template: dict[str, Any] = {"name": f"osmo-shared-{first['name'].removeprefix('task-')}"}
    for key in _ORDER[1:]:
        if key in body:
            template[key] = body.pop(key)
    template.update(body)
    for task, member, name in zip(tasks, per_member, task_names, strict=True):
        task["template"] = template["name"]
        arguments: list[model.Parameter] = [{"name": "task", "value": name}] if uses_task else []
        arguments += [{"name": p, "value": member[p]} for p in parameters]
        task["arguments"] = {"parameters": arguments}
    return template  # type: ignore[return-value]


def _osmo_name(template: model.Template, ctx: Context) -> str | None:
    labels = template.get("metadata", {}).get("labels", {})
    annotations = template.get("metadata", {}).get("annotations", {})
    return annotations.get(ctx.label("task-name")) or labels.get(ctx.label("task"))


_SHORT = (
    (re.compile(r"^container\.args\.(\d+)$"), "arg{}"),
    (re.compile(r"^container\.command\.(\d+)$"), "cmd{}"),
    (re.compile(r"^container\.env\.(\d+)\.value$"), "env{}"),
    (re.compile(r"^inputs\.artifacts\.(\d+)\.raw\.data$"), "file{}"),
    (re.compile(r"^inputs\.artifacts\.(\d+)\."), "in{}"),
    (re.compile(r"^outputs\.artifacts\.(\d+)\."), "out{}"),
    (re.compile(r"^container\.image$"), "image"),
    (re.compile(r"^metadata\."), "meta"),
    (re.compile(r"^podSpecPatch$"), "patch"),
    (re.compile(r"^(initContainers|sidecars)\.(\d+)\."), "helper{}"),
)


def _parameter_name(path: str, taken: list[str]) -> str:
    """A short parameter name for a template path (it is repeated once per task)."""
    for pattern, form in _SHORT:
        match = pattern.match(path)
        if match:
            base = form.format(match.groups()[-1] if match.groups() else "")
            break
    else:
        base = "p"
    return names.free_name(base, set(taken) | {"task", "osmo_f", "osmo_g"})


def _affixes(values: list[str]) -> tuple[str, str]:
    """The longest common prefix and suffix of `values` that cut no `{{...}}` tag and leave no `{`
    before the parameter's tag (Argo would read `{` + `{{` as the start of another tag)."""
    prefix = os.path.commonprefix(values)  # noqa: RUF071 - character-wise is what is wanted
    suffix = os.path.commonprefix([v[::-1] for v in values])[::-1]  # noqa: RUF071
    shortest = min(len(v) for v in values)
    if len(prefix) + len(suffix) > shortest:
        suffix = suffix[len(prefix) + len(suffix) - shortest :]
    if prefix.rfind("{{") > prefix.rfind("}}"):  # the prefix ends inside a tag
        prefix = prefix[: prefix.rfind("{{")]
    prefix = prefix.rstrip("{")
    close = suffix.find("}}")
    if close != -1 and (suffix.find("{{") == -1 or close < suffix.find("{{")):  # starts inside a tag
        suffix = suffix[close + 2 :]
    return prefix, suffix


_ORDER = ("name", "metadata", "inputs", "outputs")


# -- 2. nesting -----------------------------------------------------------------------------------


def nest_entry_dag(ctx: Context, manifest: model.Workflow) -> None:
    templates = manifest["spec"]["templates"]
    entry = next(t for t in templates if t["name"] == manifest["spec"]["entrypoint"])
    tasks = entry["dag"]["tasks"]
    limit = ctx.target.max_dag_tasks
    if len(tasks) <= limit:
        return
    parts, added = _partition([t["name"] for t in tasks], {t["name"]: _deps(t) for t in tasks}, limit)
    by_name = {t["name"]: t for t in tasks}
    level = 0
    current: list[list[str]] = parts
    new_templates: list[model.Template] = []
    # Each level turns parts into DAG templates; their calling tasks form the next level's nodes.
    nodes = {name: by_name[name] for name in by_name}
    node_deps = {name: _deps(by_name[name]) for name in by_name}
    while True:
        level += 1
        part_of = {name: index for index, part in enumerate(current) for name in part}
        callers: list[model.DAGTask] = []
        for index, part in enumerate(current):
            template_name = f"osmo-part-{level}-{index + 1}"
            inner = []
            for name in part:
                task = nodes[name]  # each task moves into exactly one part: no copy needed
                internal = [d for d in node_deps[name] if part_of[d] == index]
                _set_deps(task, internal)
                inner.append(task)
            new_templates.append({"name": template_name, "dag": {"tasks": inner}})
            external = sorted({part_of[d] for name in part for d in node_deps[name] if part_of[d] != index})
            call: model.DAGTask = {"name": f"part-{index + 1}", "template": template_name}
            _set_deps(call, [f"part-{i + 1}" for i in external])
            callers.append(call)
        if len(callers) <= limit:
            entry["dag"]["tasks"] = callers
            break
        nodes = {c["name"]: c for c in callers}
        node_deps = {c["name"]: _deps(c) for c in callers}
        current, more = _partition([c["name"] for c in callers], node_deps, limit)
        added += more
    templates[templates.index(entry) + 1 : templates.index(entry) + 1] = new_templates
    if added:
        ctx.warn(
            "W470",
            f"the workflow's {len(tasks)} groups exceed Argo's {limit} tasks per DAG and their "
            f"dependencies admit no exact nesting: {added} waits between groups that do not depend on each "
            "other were added",
            ctx.workflow.span,
            hint="chains, fan-outs, fan-ins and repeated diamonds nest exactly; other shapes may wait longer",
        )


def _deps(task: model.DAGTask) -> list[str]:
    if "depends" in task:
        return [part.strip() for part in task["depends"].split("&&")]
    return list(task.get("dependencies", []))


def _set_deps(task: model.DAGTask, deps: list[str]) -> None:
    task.pop("depends", None)
    if deps:
        task["depends"] = " && ".join(deps)
        # keep `depends` right after `template`, where the lowering puts it
        rest = {k: task.pop(k) for k in list(task) if k not in ("name", "template", "depends")}  # type: ignore[misc]
        task.update(rest)  # type: ignore[typeddict-item]


def _partition(order: list[str], deps: dict[str, list[str]], limit: int) -> tuple[list[list[str]], int]:
    """Cut a topologically ordered DAG into parts of at most `limit` nodes, exactly where possible.

    A part is exact when the parts it waits for hold only ancestors of every member; a part that
    others already wait for is closed. A node joins the part of its parents when all of its
    parent's children can follow it there (so a fan-out's root stays small), else the open part
    of the nodes with the same parent parts, else a new part. Returns the parts (in order) and
    the number of nodes whose part waits for more than their ancestors.
    """
    index = {name: i for i, name in enumerate(order)}
    ancestors: list[int] = [0] * len(order)
    children: dict[str, int] = dict.fromkeys(order, 0)
    placed: dict[str, int] = dict.fromkeys(order, 0)  # children already in their parent's part
    for name in order:
        bits = 0
        for dep in deps[name]:
            bits |= ancestors[index[dep]] | (1 << index[dep])
            children[dep] += 1
        ancestors[index[name]] = bits
    parts: list[list[str]] = []
    bits_of: list[int] = []  # members of each part
    common: list[int] = []  # ancestors common to every member
    keys: list[frozenset[int]] = []  # the parts each part waits for
    part_of: dict[str, int] = {}
    sibling_part: dict[frozenset[int], int] = {}
    closed: set[int] = set()
    added = 0

    def exact(p: int | None, key: frozenset[int], node_ancestors: int) -> bool:
        required = 0
        for q in key:
            required |= bits_of[q]
        shared = node_ancestors if p is None else common[p] & node_ancestors
        return required & ~shared == 0

    for name in order:
        i = index[name]
        parents = deps[name]
        candidates: list[int] = []
        if parents:
            home = part_of[parents[-1]]
            room = limit - len(parts[home])
            if room > 0 and all(children[d] - placed[d] <= room for d in parents if part_of[d] == home):
                candidates.append(home)
        own_key = frozenset(part_of[d] for d in parents)
        sibling = sibling_part.get(own_key)
        if sibling is not None:
            candidates.append(sibling)
        chosen = None
        for p in candidates:
            if p in closed or len(parts[p]) >= limit:
                continue
            key = keys[p] | frozenset(part_of[d] for d in parents if part_of[d] != p)
            if exact(p, key, ancestors[i]):
                chosen, keys[p] = p, key
                break
        if chosen is None:
            chosen = len(parts)
            parts.append([])
            bits_of.append(0)
            common.append(ancestors[i])
            keys.append(own_key)
            sibling_part[own_key] = chosen
            if not exact(None, own_key, ancestors[i]):
                added += 1
        parts[chosen].append(name)
        for d in parents:
            if part_of[d] == chosen:
                placed[d] += 1
        bits_of[chosen] |= 1 << i
        common[chosen] &= ancestors[i]
        part_of[name] = chosen
        closed.update(keys[chosen])
    return parts, added


# -- 3. checking ----------------------------------------------------------------------------------


def check(ctx: Context, manifest: model.Workflow) -> None:
    templates = manifest["spec"]["templates"]
    target = ctx.target
    if len(templates) > target.max_templates:
        ctx.error(
            "E451",
            f"the manifest has {len(templates)} templates; Argo accepts at most {target.max_templates} "
            "(its CRD's maxItems)",
            ctx.workflow.span,
            hint="tasks that differ in more than text (resources, platform, files' paths, volumes) each "
            "need a template; make more tasks alike, or split the workflow",
        )
    for template in templates:
        count = len(template.get("dag", {}).get("tasks", []))
        if count > target.max_dag_tasks:
            ctx.error(
                "E452",
                f"DAG template {template['name']} has {count} tasks; Argo accepts at most "
                f"{target.max_dag_tasks} per DAG",
                ctx.workflow.span,
                hint="a group with this many tasks cannot be split without changing when its tasks start",
            )
    size = len(json.dumps(manifest, separators=(",", ":")).encode("utf-8"))
    if size > target.max_bytes:
        ctx.error(
            "E450",
            f"the manifest is {size:,} bytes of JSON; Argo refuses workflows over "
            f"{target.max_bytes:,} bytes (its controller's MAX_WORKFLOW_SIZE)",
            ctx.workflow.span,
            hint="large file contents and many distinct tasks cost the most; move files into the image or "
            "storage, or split the workflow",
        )
