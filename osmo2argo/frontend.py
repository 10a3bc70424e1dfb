"""From schema-valid data to `ir.Workflow`: OSMO's semantic rules, with OSMO's wording.

The rules and messages follow OSMO's models (src/utils/job/task.py, workflow.py, common.py,
src/lib/utils/workflow_labels.py), including their lax coercions: a number where text is expected
becomes text, "yes" where a boolean is expected becomes true. Where a coercion changes what the
user wrote (`1.10` becomes "1.1"), a warning says so.

Every problem found is reported; the IR is only returned when there are none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import Any, NamedTuple

from . import ir, labels, records
from .errors import Diagnostic, Severity, Span, raise_if_errors
from .source import Document, PathKey, json_path
from .tokens import split_tokens
from .units import UnitError, parse_duration, parse_quantity

MAX_NAME_LENGTH = 64  # OSMO's workflow_config.workflow_info.max_name_length default
MAX_LABELS = 16
EXIT_CODES_RE = re.compile(r"^(\d+(-\d+)?)+(,\d+(-\d+)?)*$")
URI_COMPONENT = r"[^/,;*]+"
URL_RES = {
    "s3": re.compile(rf"^s3://{URI_COMPONENT}(/{URI_COMPONENT})*/*$"),
    "gs": re.compile(rf"^gs://{URI_COMPONENT}(/{URI_COMPONENT})*/*$"),
    "azure": re.compile(rf"^azure://{URI_COMPONENT}(/{URI_COMPONENT})+/*$"),
    "tos": re.compile(rf"^tos://{URI_COMPONENT}(/{URI_COMPONENT})+/*$"),
    "swift": re.compile(rf"^swift://{URI_COMPONENT}(/{URI_COMPONENT}){{2,}}/*$"),
}
DATASET_RE = re.compile(
    r"^(?:(?P<bucket>[A-Za-z0-9][A-Za-z0-9._-]*)/)?(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?::(?P<tag>[A-Za-z0-9._-]+))?$"
)
LAX_TRUE = {"1", "on", "t", "true", "y", "yes"}
# The task fields whose own position the lowering may report (ir.Task.span_of).
_SPANNED_TASK_FIELDS = ("cacheSize",)
LAX_FALSE = {"0", "off", "f", "false", "n", "no"}


@records.typed_equality
class Options(NamedTuple):
    """What the command line adds to the spec: `--set-env` variables."""

    set_env: Mapping[str, str] = MappingProxyType({})  # read-only, so one empty default can be shared


def k8s_name(name: str) -> str:
    """OSMO's name normalisation (`kb_objects.k8s_name`): lower case, `_` is `-`."""
    return name.lower().replace("_", "-")


def build(document: Document, options: Options | None = None) -> tuple[ir.Workflow, list[Diagnostic]]:
    """The IR of a schema-valid document, or CompileError with every semantic problem."""
    builder = _Builder(document, options or Options())
    workflow = builder.workflow()
    raise_if_errors(builder.diagnostics)
    assert workflow is not None
    return workflow, builder.diagnostics


class _Builder:
    def __init__(self, document: Document, options: Options) -> None:
        self.doc = document
        self.options = options
        self.diagnostics: list[Diagnostic] = []

    # -- reporting ----------------------------------------------------------------------------

    def span(self, path: PathKey) -> Span | None:
        return self.doc.span(path)

    def error(self, code: str, message: str, path: PathKey, hint: str | None = None, *, key: bool = False) -> None:
        self.diagnostics.append(Diagnostic(code, message, self._where(path, key), json_path(path), hint))

    def warn(self, code: str, message: str, path: PathKey, hint: str | None = None, *, key: bool = False) -> None:
        self.diagnostics.append(
            Diagnostic(code, message, self._where(path, key), json_path(path), hint, Severity.WARNING)
        )

    def _where(self, path: PathKey, key: bool) -> Span | None:
        info = self.doc.info(path)
        if info is None:
            return None
        if key and info.key_span is not None:
            return info.key_span
        return info.span

    # -- coercions (pydantic's lax mode, as OSMO's models use it) -----------------------------

    def text(self, value: Any, path: PathKey, what: str) -> str:
        """`coerce_numbers_to_str`: numbers become text; warn when that changes what was written."""
        if isinstance(value, str):
            return value
        if not isinstance(value, (bool, int, float)):
            return str(value)
        converted = str(value)
        raw = self.doc.raw(path)
        if raw is not None and raw != converted:
            self.warn(
                "W201",
                f"{what} `{raw}` was read as {'a boolean' if isinstance(value, bool) else 'the number ' + converted}"
                f" and becomes the text {converted!r}",
                path,
                hint=f'quote it to keep it as written: "{raw}"',
            )
        return converted

    def flag(self, value: Any, path: PathKey, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        return str(value).strip().lower() in LAX_TRUE

    def count(self, value: Any, path: PathKey, field: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool):
            self.warn("W202", f"{field} `{value}` is a boolean; OSMO reads it as {int(value)}", path)
            return int(value)
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            if not value.is_integer():
                self.error("E301", f"{field} must be a whole number, not {value}", path, hint="OSMO counts whole units")
                return None
            number = int(value)
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.error("E301", f"{field} must be a whole number, not {value!r}", path)
                return None
        if number < 0:
            self.error("E301", f"{field} must not be negative ({number})", path)
            return None
        return number

    # -- tokens --------------------------------------------------------------------------------

    def user_text(self, raw: str, path: PathKey, task: _TaskContext | None) -> ir.Text:
        if "{{" not in raw:  # no token can be in it: most text
            return ir.Text((raw,) if raw else (), self.span(path))
        parts: list[ir.Part] = []
        for piece, key in split_tokens(raw):
            if key is None or task is None:
                parts.append(piece)
                continue
            token = self._token(piece, key, path, task)
            parts.append(token if token is not None else piece)
        merged: list[ir.Part] = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            else:
                merged.append(part)
        return ir.Text(tuple(merged), self.span(path))

    def item_text(self, path: PathKey, field: str, index: int, value: Any, what: str, task: _TaskContext) -> ir.Text:
        """User text of one item of a list field (command, args)."""
        where = path + (field, index)
        return self.user_text(self.text(value, where, what), where, task)

    def static_path(self, raw: str, path: PathKey, task: _TaskContext) -> str | None:
        """A path with OSMO's path tokens ({{output}}, {{input:i}}) replaced, as OSMO substitutes
        tokens in every field of a task; None (after an E332) when it holds any other `{{`."""
        if "{{" not in raw:
            return raw
        out = []
        for part in self.user_text(raw, path, task).parts:
            if isinstance(part, str) and "{{" in part:
                # No OSMO token, yet Argo would read it as a variable, and a path has no quoting.
                self._path_token_error(raw, path)
                return None
            elif isinstance(part, str):
                out.append(part)
            elif part.kind is ir.TokenKind.OUTPUT:
                out.append(ir.OUTPUT_PATH)
            elif part.kind is ir.TokenKind.INPUT:
                out.append(ir.input_path(part.index))
            else:
                self._path_token_error(raw, path)
                return None
        return "".join(out)

    def _path_token_error(self, raw: str, path: PathKey) -> None:
        self.error(
            "E332",
            f"{raw!r}: only {{{{output}}}} and {{{{input:...}}}} can be part of this path",
            path,
            hint="a path here is fixed when the pod starts, and Argo would read any other {{...}} as its own variable",
        )

    def _token(self, raw: str, key: str, path: PathKey, task: _TaskContext) -> ir.Token | None:
        if key == "output":
            return ir.Token(ir.TokenKind.OUTPUT)
        if key == "workflow_id":
            return ir.Token(ir.TokenKind.WORKFLOW_ID)
        kind, _, arg = key.partition(":")
        if kind == "input":
            index = task.input_keys.get(arg)
            if index is None:
                count = task.input_count
                known = ", ".join(sorted(task.input_keys, key=lambda k: (not k.isdigit(), k.zfill(8))))
                self.warn(
                    "W330",
                    f"{raw} names no input of task {task.name!r}"
                    + (f" (it has {count} input{'s' if count != 1 else ''})" if count else " (it has no inputs)")
                    + "; OSMO leaves it in the text as written, and so does osmo2argo",
                    path,
                    hint=f"use one of: {known}" if known else "add an inputs entry, or remove the token",
                )
                return None
            return ir.Token(ir.TokenKind.INPUT, index=index)
        # host
        if arg not in task.group_tasks:
            elsewhere = arg in task.all_tasks
            problem = f"task {arg!r} is in another group" if elsewhere else f"there is no task {arg!r}"
            self.warn(
                "W331",
                f"{raw}: {problem}"
                f"; {{{{host:...}}}} only names tasks of the same group ({', '.join(task.group_tasks)}), so OSMO "
                "leaves it in the text as written, and so does osmo2argo",
                path,
                hint="tasks of different groups do not run at the same time; pass data through inputs and outputs"
                if elsewhere
                else _close_hint(arg, dict.fromkeys(task.group_tasks)),
            )
            return None
        task.names_hosts = True
        return ir.Token(ir.TokenKind.HOST, task=arg)

    # -- the workflow --------------------------------------------------------------------------

    def workflow(self) -> ir.Workflow | None:
        root = self.doc.data
        data = root.get("workflow") if isinstance(root, dict) else None
        base: PathKey = ("workflow",)
        if not isinstance(data, dict):
            self.error("E302", "the workflow section is empty", base)
            return None
        name = data["name"]
        self.name_length(name, base + ("name",), "Workflow")
        workflow_labels = self.workflow_labels(data.get("labels"), base + ("labels",))
        for ignored, why in (
            ("pool", "the pool comes from the submit request in OSMO; osmo2argo uses the target profile"),
            ("backend", "it is set by OSMO's service"),
        ):
            if ignored in data:
                self.warn("W203", f"workflow.{ignored} is ignored: {why}", base + (ignored,), key=True)
        resources = self.resource_profiles(data.get("resources"), base + ("resources",), "resources" in data)
        timeout = self.timeout(data.get("timeout"), base + ("timeout",))
        tasks_data = data.get("tasks") or []
        groups_data = data.get("groups") or []
        if tasks_data and groups_data:
            self.error(
                "E303",
                "Cannot use both groups and tasks in the same workflow.",
                base + ("groups",),
                key=True,
                hint="move every task into a group, or turn the groups into tasks",
            )
            return None
        if not tasks_data and not groups_data:
            self.error("E303", "Workflows need to have at least one group or one task.", base)
            return None
        mode: Any = "tasks" if tasks_data else "groups"
        raw_groups = self.group_shapes(tasks_data, groups_data, mode)
        self.unique_names(raw_groups, mode)
        groups = self.groups(raw_groups, resources, mode)
        if groups is None:
            return None
        self.topology_keys(groups)
        return ir.Workflow(name, workflow_labels, timeout, groups, mode, self.doc.file, self.span(base + ("name",)))

    def name_length(self, name: str, path: PathKey, what: str) -> None:
        if len(name) > MAX_NAME_LENGTH:
            self.error(
                "E304",
                f"Name {name} is too long. It must be {MAX_NAME_LENGTH} characters or less.",
                path,
                hint=f"{what} names are at most {MAX_NAME_LENGTH} characters ({len(name)} given)",
            )

    def workflow_labels(self, value: Any, path: PathKey) -> tuple[tuple[str, str], ...]:
        if not value:
            return ()
        if len(value) > MAX_LABELS:
            self.error("E305", f"Workflows can have at most {MAX_LABELS} labels.", path, hint=f"{len(value)} are given")
        out: list[tuple[str, str]] = []
        for key, label in value.items():
            where = path + (key,)
            problem = labels.key_problem(key)
            if problem is not None:
                hint = (
                    "a prefix is a lower-case DNS name such as example.com"
                    if "prefix" in problem
                    else "at most 63 of A-Z a-z 0-9 - _ . , starting and ending with a letter or digit"
                )
                self.error("E305", problem, where, key=True, hint=hint)
                continue
            if not labels.value_ok(label):
                self.error(
                    "E305",
                    f'Workflow label value "{label}" is not a valid non-empty Kubernetes label value.',
                    where,
                    hint="at most 63 of A-Z a-z 0-9 - _ . , starting and ending with a letter or digit",
                )
                continue
            out.append((key, label))
        return tuple(out)

    # -- resources -----------------------------------------------------------------------------

    def resource_profiles(self, value: Any, path: PathKey, given: bool) -> dict[str, ir.Resources]:
        if not given:
            return {"default": ir.Resources("default")}  # OSMO's default when the field is omitted
        profiles: dict[str, ir.Resources] = {}
        for name, spec in (value or {}).items():
            profiles[name] = self.resource_profile(name, spec or {}, path + (name,))
        return profiles

    def resource_profile(self, name: str, spec: Mapping[str, Any], path: PathKey) -> ir.Resources:
        memory = self.quantity(spec.get("memory"), path + ("memory",), "memory")
        storage = self.quantity(spec.get("storage"), path + ("storage",), "storage")
        topology = []
        for index, item in enumerate(spec.get("topology") or []):
            topology.append(
                ir.Topology(
                    item["key"],
                    item.get("group", "default"),
                    item.get("requirementType", "required") == "required",
                    self.span(path + ("topology", index)),
                )
            )
        platform = spec.get("platform")
        cpu = self.count(spec.get("cpu"), path + ("cpu",), "cpu")
        if cpu == 0:
            self.error(
                "E301",
                f"Resource {name} asks for 0 cpu; OSMO needs at least 1 (its resource assertions require 0 < cpu)",
                path + ("cpu",),
            )
        return ir.Resources(
            name=name,
            spans=tuple((key, self.span(path + (key,))) for key in spec),
            cpu=cpu,
            gpu=self.count(spec.get("gpu"), path + ("gpu",), "gpu"),
            memory=memory,
            storage=storage,
            platform=platform if platform else None,
            nodes_excluded=tuple(spec.get("nodesExcluded") or ()),
            topology=tuple(topology),
            span=self.span(path),
        )

    def quantity(self, value: Any, path: PathKey, field: str) -> Fraction | None:
        if value is None:
            return None
        text = self.text(value, path, field)
        try:
            amount = parse_quantity(text, field)
        except UnitError as exc:
            self.error("E306", str(exc), path, hint="use a number and a binary unit such as 512Mi or 16Gi")
            return None
        if amount <= 0:
            self.error("E306", f"Resource {field} must be greater than zero ({text})", path)
            return None
        return amount

    def timeout(self, value: Any, path: PathKey) -> ir.Timeout:
        if not value:
            return ir.Timeout(None, None, self.span(path))
        return ir.Timeout(
            self.whole_seconds(value.get("exec_timeout"), path + ("exec_timeout",), "exec_timeout"),
            self.whole_seconds(value.get("queue_timeout"), path + ("queue_timeout",), "queue_timeout"),
            self.span(path),
            exec_span=self.span(path + ("exec_timeout",)) if "exec_timeout" in value else None,
            queue_span=self.span(path + ("queue_timeout",)) if "queue_timeout" in value else None,
        )

    def whole_seconds(self, value: Any, path: PathKey, field: str) -> Fraction | None:
        """A timeout: Argo's deadlines count whole seconds, so a fraction is rounded up, and said."""
        seconds = self.duration(value, path, field)
        if seconds is not None and seconds.denominator != 1:
            rounded = max(1, math.ceil(seconds))
            self.warn(
                "W205",
                f"{field}: {value} is not a whole number of seconds; Argo's deadline will be {rounded} s",
                path,
                hint=f"write {rounded}s",
            )
        return seconds

    def duration(self, value: Any, path: PathKey, field: str, *, allow_bool: bool = True) -> Fraction | None:
        """OSMO's TimeoutSpec/CheckpointSpec durations; 0 and unset mean "not given"."""
        if value is None:
            return None
        if isinstance(value, bool):
            if not allow_bool:
                self.error("E307", "Checkpoint frequency must be a duration, not a boolean", path)
                return None
            self.warn(
                "W204",
                f"{field}: `{value}` is a boolean; OSMO reads it as {int(value)} second(s)",
                path,
                hint="write a duration such as 30m",
            )
            seconds = Fraction(int(value))
        elif isinstance(value, (int, float)):
            seconds = Fraction(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except UnitError as exc:
                self.error("E307", str(exc), path, hint="for example 90s, 30m, 2h, 1d or PT1H30M")
                return None
        if seconds < 0:
            self.error("E307", f"{field} must not be negative ({value})", path)
            return None
        return seconds or None

    # -- groups and names ----------------------------------------------------------------------

    def group_shapes(self, tasks: Sequence[Any], groups: Sequence[Any], mode: str) -> list[_GroupShape]:
        shapes: list[_GroupShape] = []
        if mode == "tasks":
            for index, task in enumerate(tasks):
                path: PathKey = ("workflow", "tasks", index)
                shapes.append(_GroupShape(f"{task['name']}-group", path, {}, [(task, path)], implicit=True))
            return shapes
        for index, group in enumerate(groups):
            path = ("workflow", "groups", index)
            members = [(task, path + ("tasks", i)) for i, task in enumerate(group.get("tasks") or [])]
            shapes.append(_GroupShape(group["name"], path, group, members, implicit=False))
        return shapes

    def unique_names(self, shapes: Sequence[_GroupShape], mode: str) -> None:
        seen: dict[str, PathKey] = {}

        def check(name: str, path: PathKey) -> None:
            normal = k8s_name(name)
            if normal in seen:
                first = self.span(seen[normal])
                self.error(
                    "E308",
                    f'Multiple tasks/groups have the same name: "{normal}". Note that names are not case sensitive '
                    'and we consider "-" and "_" the same. For example, "Group_1" and "group-1" are considered the '
                    "same name.",
                    path,
                    hint=f"the other one is at line {first.line}" if first else None,
                )
                return
            seen[normal] = path

        for shape in shapes:
            if not shape.implicit:
                check(shape.name, shape.path + ("name",))
            for task, path in shape.members:
                check(task["name"], path + ("name",))

    def groups(
        self, shapes: Sequence[_GroupShape], profiles: Mapping[str, ir.Resources], mode: str
    ) -> tuple[ir.Group, ...] | None:
        all_tasks = frozenset(task["name"] for shape in shapes for task, _ in shape.members)
        built: list[ir.Group] = []
        for shape in shapes:
            if not shape.implicit:
                self.name_length(shape.name, shape.path + ("name",), "Group")
            if not shape.members:
                self.error("E309", f'Group "{shape.name}" needs to have at least one task.', shape.path + ("tasks",))
                continue
            leads = [self.flag(task.get("lead"), path + ("lead",), False) for task, path in shape.members]
            if len(shape.members) == 1:
                leads = [True]
            elif sum(leads) != 1:
                self.error(
                    "E310",
                    f'Group "{shape.name}" has {sum(leads)} leader(s) but must have exactly one.',
                    shape.path + ("name",),
                    hint="mark exactly one task with `lead: true`; the group ends when that task ends",
                )
            names = tuple(task["name"] for task, _ in shape.members)
            tasks = []
            for (task, path), lead in zip(shape.members, leads, strict=True):
                context = _TaskContext(task["name"], names, all_tasks, {}, 0)
                built_task = self.task(task, path, shape, lead, profiles, context, mode)
                if built_task is not None:
                    tasks.append(built_task)
            barrier = self.flag(shape.data.get("barrier"), shape.path + ("barrier",), True)
            ignore = self.flag(shape.data.get("ignoreNonleadStatus"), shape.path + ("ignoreNonleadStatus",), True)
            built.append(ir.Group(shape.name, tuple(tasks), barrier, ignore, shape.implicit, (), self.span(shape.path)))
        if any(d.is_error for d in self.diagnostics):
            return None
        return self.edges(built, shapes, mode)

    def edges(self, groups: list[ir.Group], shapes: Sequence[_GroupShape], mode: str) -> tuple[ir.Group, ...]:
        """OSMO's group DAG: task inputs (and in-workflow datasets) of any task order the whole group."""
        group_of = {task.name: group.name for group in groups for task in group.tasks}
        declared: dict[str, int] = {}  # group name -> declaration order
        producers: dict[tuple[str | None, str], list[str]] = {}
        result: list[ir.Group] = []
        for group, shape in zip(groups, shapes, strict=True):
            upstream: list[str] = []
            for task, (_, task_path) in zip(group.tasks, shape.members, strict=True):
                for position, item in enumerate(task.inputs):
                    path = task_path + ("inputs", position)
                    if isinstance(item, ir.TaskInput) and item.workflow_id is None:
                        source = group_of.get(item.task)
                        if source is None:
                            self.error(
                                "E311",
                                f"Task input {item.task} does not exist.",
                                path + ("task",),
                                hint=_close_hint(item.task, group_of),
                            )
                            continue
                        if source not in declared:
                            self._order_error(group, source, item.task, task.name, path, mode)
                            continue
                        if source not in upstream:
                            upstream.append(source)
                    elif isinstance(item, ir.DatasetInput) and item.dataset.tag in (None, "latest"):
                        for producer in producers.get(item.dataset.key, []):
                            if producer not in upstream:
                                upstream.append(producer)
                        if item.dataset.key not in producers and self._produced_later(item.dataset, groups, group):
                            self.warn(
                                "W301",
                                f"dataset {item.dataset} is written by a group declared after {group.name!r}; "
                                "this group reads the version that exists when it starts",
                                path,
                                hint="declare the producing group first to make this group wait for it",
                            )
            for task in group.tasks:
                for output in task.outputs:
                    if isinstance(output, ir.DatasetOutput):
                        producers.setdefault(output.dataset.key, [])
                        if group.name not in producers[output.dataset.key]:
                            producers[output.dataset.key].append(group.name)
            declared[group.name] = len(declared)
            ordered = tuple(sorted(upstream, key=declared.__getitem__))
            result.append(group._replace(upstream=ordered))
        return tuple(result)

    def _produced_later(self, dataset: ir.DatasetRef, groups: Sequence[ir.Group], consumer: ir.Group) -> bool:
        after = False
        for group in groups:
            if group is consumer:
                after = True
                continue
            if after and any(
                isinstance(o, ir.DatasetOutput) and o.dataset.key == dataset.key for t in group.tasks for o in t.outputs
            ):
                return True
        return False

    def _order_error(self, group: ir.Group, source: str, input_task: str, task: str, path: PathKey, mode: str) -> None:
        if mode == "tasks":
            if input_task == task:
                self.error("E312", f'Task "{task}" cannot take its own output as an input.', path + ("task",))
            else:
                self.error(
                    "E312",
                    f'Task "{task}" requires input task "{input_task}" to be declared before itself.',
                    path + ("task",),
                    hint=f"move task {input_task!r} above task {task!r}",
                )
            return
        if source == group.name:
            self.error(
                "E312",
                f'Group "{group.name}" requires input group "{source}" exists before itself.',
                path + ("task",),
                hint=f"task {input_task!r} is in the same group; tasks of a group run at the same time, so they "
                "cannot pass outputs to each other",
            )
            return
        self.error(
            "E312",
            f'Group "{group.name}" requires input group "{source}" exists before itself.',
            path + ("task",),
            hint=f"move group {source!r} above group {group.name!r}",
        )

    def topology_keys(self, groups: Sequence[ir.Group]) -> None:
        first: tuple[str, frozenset[str]] | None = None
        for group in groups:
            for task in group.tasks:
                keys = frozenset(t.key for t in task.resources.topology)
                if not keys:
                    continue
                if first is None:
                    first = (task.name, keys)
                elif keys != first[1]:
                    self.diagnostics.append(
                        Diagnostic(
                            "E313",
                            f"task {task.name!r} uses topology keys {sorted(keys)} but task {first[0]!r} uses "
                            f"{sorted(first[1])}; every task with topology requirements must use the same keys",
                            task.resources.span,
                            "$.workflow.resources",
                        )
                    )

    # -- tasks ---------------------------------------------------------------------------------

    def task(
        self,
        data: Mapping[str, Any],
        path: PathKey,
        shape: _GroupShape,
        lead: bool,
        profiles: Mapping[str, ir.Resources],
        context: _TaskContext,
        mode: str,
    ) -> ir.Task | None:
        name = data["name"]
        self.name_length(name, path + ("name",), "Task")
        if mode == "tasks" and len(name) + len("-group") > MAX_NAME_LENGTH >= len(name):
            self.error(
                "E304",
                f"Name {name}-group is too long. It must be {MAX_NAME_LENGTH} characters or less.",
                path + ("name",),
                hint=f"in a tasks workflow OSMO wraps each task in a group named <task>-group, so task names are at "
                f"most {MAX_NAME_LENGTH - len('-group')} characters",
            )
        if k8s_name(name[:63].rstrip("-_") if len(name) > 63 else name) == "osmo-ctrl":
            self.error(
                "E314", f'Container {name} cannot be named "osmo-ctrl". This is a restricted name.', path + ("name",)
            )
        for ignored in ("resources", "backend"):
            if ignored in data:
                self.warn(
                    "W203",
                    f"{ignored} in a task is ignored: OSMO overwrites it",
                    path + (ignored,),
                    key=True,
                    hint="use `resource: <profile name>` and workflow.resources" if ignored == "resources" else None,
                )

        inputs = self.inputs(data.get("inputs") or [], path + ("inputs",), context)
        context.input_count = len(inputs)
        command_data = data.get("command") or []
        if not command_data:
            self.error("E315", f"Container {name} should have at least one command.", path + ("command",))
        command = tuple(self.item_text(path, "command", i, c, "command", context) for i, c in enumerate(command_data))
        args = tuple(
            self.item_text(path, "args", i, a, "argument", context) for i, a in enumerate(data.get("args") or [])
        )
        image_path = path + ("image",)
        image = self.user_text(self.text(data["image"], image_path, "image"), image_path, context)
        literal_image = image.literal
        if literal_image is not None and not literal_image.strip():
            self.error("E316", f"task {name!r} has an empty image", image_path)
        environment = self.environment(data.get("environment") or {}, path + ("environment",), context)
        secret_env, secret_dirs = self.credentials(data.get("credentials") or {}, path + ("credentials",), context)
        outputs = self.outputs(data.get("outputs") or [], path + ("outputs",), context)
        files = self.files(name, data.get("files") or [], path + ("files",), context)
        resource_name = self.text(data.get("resource", "default"), path + ("resource",), "resource")
        resources = profiles.get(resource_name)
        if resources is None:
            if resource_name == "default":
                self.error(
                    "E317",
                    f"Task {name} has no specified resource. Specify a default resource in the resources section.",
                    path,
                    hint="add workflow.resources.default, or give the task `resource: <profile>`",
                )
            else:
                self.error(
                    "E317",
                    f"Requesting undefined resource {resource_name}.",
                    path + ("resource",),
                    hint=_close_hint(resource_name, profiles),
                )
            resources = ir.Resources(resource_name)
        mounts = self.host_mounts(data.get("volumeMounts") or [], path + ("volumeMounts",), context)
        exit_rules = self.exit_rules(name, data.get("exitActions") or {}, path + ("exitActions",))
        checkpoints = self.checkpoints(data.get("checkpoint") or [], path + ("checkpoint",), context)
        kpis = tuple(
            ir.Kpi(
                self.text(k["index"], path + ("kpis", i, "index"), "kpi index"),
                self.text(k["path"], path + ("kpis", i, "path"), "kpi path"),
                self.span(path + ("kpis", i)),
            )
            for i, k in enumerate(data.get("kpis") or [])
        )
        cache_size = data.get("cacheSize")
        return ir.Task(
            name=name,
            group=shape.name,
            image=image,
            command=command,
            args=args,
            lead=lead,
            environment=environment,
            secret_env=secret_env,
            secret_dirs=secret_dirs,
            inputs=inputs,
            outputs=outputs,
            files=files,
            resources=resources,
            host_mounts=mounts,
            exit_rules=exit_rules,
            checkpoints=checkpoints,
            privileged=self.flag(data.get("privileged"), path + ("privileged",), False),
            host_network=self.flag(data.get("hostNetwork"), path + ("hostNetwork",), False),
            kpis=kpis,
            download_type=data.get("downloadType"),
            cache_size=self.text(cache_size, path + ("cacheSize",), "cacheSize") if cache_size is not None else None,
            spans=tuple((key, self.span(path + (key,))) for key in _SPANNED_TASK_FIELDS if key in data),
            span=self.span(path),
            names_hosts=context.names_hosts,
        )

    def environment(self, value: Mapping[str, Any], path: PathKey, context: _TaskContext) -> tuple[ir.EnvVar, ...]:
        merged: dict[str, tuple[str, PathKey]] = {}
        for key, raw in value.items():
            where = path + (key,)
            if raw is None or isinstance(raw, (dict, list)):
                self.error("E201", f"environment.{key} must be text, a number or a boolean", where)
                continue
            merged[key] = (self.text(raw, where, f"environment {key}"), where)
        for key, raw in self.options.set_env.items():
            merged[key] = (raw, path)
        out = []
        for key, (text, where) in merged.items():
            if not self._env_name_ok(key, where):
                continue
            out.append(ir.EnvVar(key, self.user_text(text, where, context), self.span(where)))
        return tuple(out)

    def _env_name_ok(self, name: str, where: PathKey) -> bool:
        if not name or "=" in name:
            self.error("E318", f"environment variable name {name!r} is not valid", where, key=True)
            return False
        if "{{" in name:
            self.error(
                "E318",
                f"environment variable name {name!r} holds '{{{{', which Argo would read as a variable",
                where,
                key=True,
            )
            return False
        return True

    def credentials(
        self, value: Mapping[str, Any], path: PathKey, context: _TaskContext
    ) -> tuple[tuple[ir.SecretEnv, ...], tuple[ir.SecretDir, ...]]:
        envs: list[ir.SecretEnv] = []
        dirs: list[ir.SecretDir] = []
        for credential, spec in value.items():
            where = path + (credential,)
            if isinstance(spec, dict):
                for env_name, key in spec.items():
                    if not self._env_name_ok(str(env_name), where + (env_name,)):
                        continue
                    envs.append(
                        ir.SecretEnv(
                            env_name,
                            credential,
                            self.text(key, where + (env_name,), "credential key"),
                            self.span(where + (env_name,)),
                        )
                    )
            else:
                directory = self.static_path(self.text(spec, where, "credential directory"), where, context)
                if directory is None:
                    continue
                if not directory.startswith("/"):
                    self.error(
                        "E319",
                        f"credential {credential!r} is mounted at {directory!r}, which is not an absolute path",
                        where,
                        hint="give an absolute directory such as /tmp/creds",
                    )
                    continue
                dirs.append(ir.SecretDir(credential, directory, self.span(where)))
        return tuple(envs), tuple(dirs)

    def inputs(self, items: Sequence[Mapping[str, Any]], path: PathKey, context: _TaskContext) -> tuple[ir.Input, ...]:
        out: list[ir.Input] = []
        for index, item in enumerate(items):
            where = path + (index,)
            regex = self.regex(item, where)
            context.input_keys[str(index)] = index
            if "task" in item:
                first, _, second = item["task"].partition(":")
                task_name = second or first
                # OSMO maps {{input:<task name>}} to the last input from that task.
                context.input_keys[task_name] = index
                out.append(ir.TaskInput(index, task_name, first if second else None, regex, self.span(where)))
            elif "url" in item:
                url = self.url(item["url"], where + ("url",), context)
                out.append(ir.UrlInput(index, url, regex, self.span(where)))
            else:
                dataset = item["dataset"]
                if "localpath" in dataset:
                    self.error(
                        "E401",
                        "uploading local files as a dataset input (`localpath`) is not supported on Argo",
                        where + ("dataset", "localpath"),
                        key=True,
                        hint="upload the files to storage first and use a url input, "
                        "or a dataset input without localpath",
                    )
                ref = self.dataset(dataset["name"], where + ("dataset", "name"), allow_tag=True)
                if ref is not None:
                    out.append(
                        ir.DatasetInput(
                            index, ref, self.regex(dataset, where + ("dataset",)) or regex, self.span(where)
                        )
                    )
        return tuple(out)

    def outputs(
        self, items: Sequence[Mapping[str, Any]], path: PathKey, context: _TaskContext
    ) -> tuple[ir.Output, ...]:
        out: list[ir.Output] = []
        for index, item in enumerate(items):
            where = path + (index,)
            if "url" in item:
                out.append(
                    ir.UrlOutput(
                        self.url(item["url"], where + ("url",), context), self.regex(item, where), self.span(where)
                    )
                )
            else:
                ref = self.dataset(item["dataset"]["name"], where + ("dataset", "name"), allow_tag=False)
                if ref is not None:
                    out.append(
                        ir.DatasetOutput(ref, self.regex(item["dataset"], where + ("dataset",)), self.span(where))
                    )
        return tuple(out)

    def regex(self, item: Mapping[str, Any], path: PathKey) -> str | None:
        raw = item.get("regex")
        if raw is None or raw == "":
            return None
        text = self.text(raw, path + ("regex",), "regex")
        try:
            re.compile(text)
        except re.error as exc:
            self.error("E320", f"Invalid regex: {text}", path + ("regex",), hint=f"Python's re module says: {exc}")
            return None
        return text

    def url(self, raw: str, path: PathKey, context: _TaskContext | None) -> ir.Text:
        text = self.user_text(raw, path, context)
        probe = "".join(p if isinstance(p, str) else "x" for p in text.parts)
        scheme = probe.split("://", 1)[0] if "://" in probe else ""
        pattern = URL_RES.get(scheme)
        if pattern is None or not pattern.fullmatch(probe):
            self.error(
                "E321",
                f"{raw!r} is not a storage URL OSMO accepts",
                path,
                hint="use s3://bucket/path, gs://bucket/path, azure://account/container/path, tos://endpoint/bucket "
                "or swift://endpoint/account/bucket; path parts may not contain , ; or *",
            )
        return text

    def dataset(self, raw: str, path: PathKey, allow_tag: bool) -> ir.DatasetRef | None:
        match = DATASET_RE.fullmatch(raw)
        if not match:
            self.error("E322", f"dataset name {raw!r} is not of the form [bucket/]name[:tag]", path)
            return None
        if match.group("tag") and not allow_tag:
            self.error(
                "E322",
                f"dataset output {raw!r} has a tag; an output creates a new version and takes no tag",
                path,
                hint=f"write {raw.rsplit(':', 1)[0]!r}",
            )
            return None
        return ir.DatasetRef(match.group("bucket"), match.group("name"), match.group("tag"))

    def files(
        self, task: str, items: Sequence[Mapping[str, Any]], path: PathKey, context: _TaskContext
    ) -> tuple[ir.File, ...]:
        out: list[ir.File] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            where = path + (index,)
            raw_path = self.text(item["path"], where + ("path",), "file path")
            parts = [p for p in raw_path.split("/") if p]
            if not raw_path.startswith("/osmo/data/output/") and (not parts or parts[0] == "osmo"):
                self.error(
                    "E323", f'Empty path or adding file to "/osmo" is forbidden for file: {raw_path}', where + ("path",)
                )
                continue
            if raw_path in seen:
                self.error(
                    "E324",
                    f'Task "{task}" has multiple files at the same path "{raw_path}". Each file path must be unique.',
                    where + ("path",),
                )
                continue
            seen.add(raw_path)
            file_path = self.user_text(raw_path, where + ("path",), context)
            head = file_path.parts[0] if file_path.parts else ""
            absolute = (isinstance(head, str) and head.startswith("/")) or (
                isinstance(head, ir.Token) and head.kind in (ir.TokenKind.OUTPUT, ir.TokenKind.INPUT)
            )
            if not absolute:
                self.error(
                    "E323",
                    f"file path {raw_path!r} is not an absolute path",
                    where + ("path",),
                    hint="Kubernetes mounts files only at absolute paths",
                )
                continue
            if "contents" not in item:
                self.error("E202", f"workflow file {raw_path!r} has neither contents nor localpath", where)
                continue
            contents_raw = self.text(item["contents"], where + ("contents",), "file contents")
            contents: ir.Text | bytes
            if self.flag(item.get("base64"), where + ("base64",), False):
                decoded = _b64decode(contents_raw)
                if decoded is None:
                    self.error("E325", f"the contents of {raw_path!r} are not valid base64", where + ("contents",))
                    continue
                contents = decoded
            else:
                contents = self.user_text(contents_raw, where + ("contents",), context)
            out.append(ir.File(file_path, contents, self.span(where)))
        return tuple(out)

    def host_mounts(self, items: Sequence[Any], path: PathKey, context: _TaskContext) -> tuple[ir.HostMount, ...]:
        out = []
        for index, raw in enumerate(items):
            where = path + (index,)
            text = self.static_path(self.text(raw, where, "volume mount"), where, context)
            if text is None:
                continue
            pieces = text.split(":")
            if len(pieces) > 2 or (len(pieces) == 2 and pieces[1] == ""):
                self.error(
                    "E326",
                    f"Invalid task volume mount: {text}.",
                    where,
                    hint='write "/host/path" or "/host/path:/container/path"',
                )
                continue
            source = pieces[0]
            destination = pieces[1] if len(pieces) == 2 else source
            if not source.startswith("/") or not destination.startswith("/"):
                self.error("E326", f"Invalid task volume mount: {text}.", where, hint="both paths must be absolute")
                continue
            out.append(ir.HostMount(source, destination, self.span(where)))
        return tuple(out)

    def exit_rules(self, task: str, value: Mapping[str, Any], path: PathKey) -> tuple[ir.ExitRule, ...]:
        rules = []
        for key, raw in value.items():
            where = path + (key,)
            codes = self.text(raw, where, f"exit codes of {key}")
            if not EXIT_CODES_RE.fullmatch(codes):
                self.error(
                    "E327",
                    f"Invalid exit codes {codes} for action {key} for task {task}.",
                    where,
                    hint='write codes and ranges such as "1,3-5,10" (no spaces)',
                )
                continue
            ranges: list[tuple[int, int]] = []
            for piece in codes.split(","):
                first, _, last = piece.partition("-")
                ranges.append((int(first), int(last or first)))
            for low, high in ranges:
                if low > high:
                    self.warn("W302", f"the range {low}-{high} of {key} is empty", where)
            service = [
                f"{low}" if low == high else f"{low}-{high}" for low, high in ranges if high > 255 and low <= high
            ]
            if service:
                self.warn(
                    "W303",
                    f"{key} lists {', '.join(service)}: containers exit with 0-255, codes above that are OSMO "
                    "service codes (e.g. 3006 preempted) that Argo never reports",
                    where,
                )
            rules.append(ir.ExitRule(key.upper(), tuple(ranges), self.span(where)))  # type: ignore[arg-type]
        return tuple(rules)

    def checkpoints(
        self, items: Sequence[Mapping[str, Any]], path: PathKey, context: _TaskContext
    ) -> tuple[ir.Checkpoint, ...]:
        out = []
        for index, item in enumerate(items):
            where = path + (index,)
            local = self.static_path(item["path"], where + ("path",), context)
            if local is None:
                continue
            if not local.startswith("/"):
                local = "/" + local  # OSMO's runtime prepends the slash
            frequency = self.duration(item["frequency"], where + ("frequency",), "frequency", allow_bool=False)
            if frequency is None:
                if not any(d.is_error and d.path == json_path(where + ("frequency",)) for d in self.diagnostics):
                    self.error("E307", "checkpoint frequency must be greater than zero", where + ("frequency",))
                continue
            url = self.url(item["url"], where + ("url",), context)
            out.append(ir.Checkpoint(local, url, frequency, self.regex(item, where), self.span(where)))
        return tuple(out)


class _GroupShape:
    __slots__ = ("data", "implicit", "members", "name", "path")

    def __init__(
        self,
        name: str,
        path: PathKey,
        data: Mapping[str, Any],
        members: Sequence[tuple[Mapping[str, Any], PathKey]],
        implicit: bool,
    ) -> None:
        self.name = name
        self.path = path
        self.data = data
        self.members = members
        self.implicit = implicit


class _TaskContext:
    """What token resolution needs to know about the task being built."""

    __slots__ = ("all_tasks", "group_tasks", "input_count", "input_keys", "name", "names_hosts")

    def __init__(
        self,
        name: str,
        group_tasks: tuple[str, ...],
        all_tasks: frozenset[str],
        input_keys: dict[str, int],
        input_count: int,
    ) -> None:
        self.name = name
        self.group_tasks = group_tasks
        self.all_tasks = all_tasks
        self.input_keys = input_keys
        self.input_count = input_count
        self.names_hosts = False  # set when any text of the task holds a {{host:...}} token


def _b64decode(text: str) -> bytes | None:
    import base64
    import binascii

    # Kubernetes decodes Secret data strictly, ignoring only line breaks (Go's base64 decoder).
    try:
        return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None


def _close_hint(name: str, known: Mapping[str, Any]) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None
