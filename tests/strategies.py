"""Hypothesis strategies: valid OSMO specs with the facts their manifests must show, and breakage.

`osmo_specs()` draws a random *valid* OSMO workflow (docs/osmo-spec.md, /work/shared/docs) as YAML
text, together with `SpecFacts`: what the compiled manifest must reflect. The spec is built as
data and emitted by PyYAML's safe dumper, so quoting is YAML's business, never ours. It covers:

- tasks mode (1..30 tasks) and groups mode (groups of 1..4 tasks, exactly one `lead: true` in a
  group of several), at most 30 tasks in all;
- names that match OSMO's pattern, unique after OSMO's normalisation (lower case, `_` is `-`), drawn
  as case and `_`/`-` variants of a few shared stems (some of them names the compiler itself uses,
  such as `osmo-setup` or `verdict`), and now and then long (up to 58 characters in tasks mode, 64
  in groups mode);
- a random DAG: task inputs (`- task: name`) only name tasks of earlier groups;
- url inputs and outputs (s3:// and gs:// with a path; regexes on outputs only in one-task groups,
  because filtered outputs of group members are an E441 on Argo);
- tokens in args, environment values and file contents: `{{output}}`, `{{input:i}}` for a valid i,
  `{{input:<task>}}` for task inputs, `{{workflow_id}}`, and `{{host:<task>}}` naming a task of the
  same group (the task itself, in a one-task group); `{{workflow_id}}` in output URLs;
- resource profiles with OSMO units (`512Mi`, `2G`, `1.5Gi`, bare bytes), environment variables,
  files, exitActions, credentials, checkpoints, labels and timeouts;
- now and then a Jinja template (images from `default-values`), so OSMO's tokens go through the
  renderer's shielding.

Some specs are *uniform* (every task has the same shape and differs only in text), so that the
compiler's template sharing runs too.

`mutated_specs()` breaks a valid spec in one of `MUTATIONS`' ways; `json_documents()` draws
arbitrary YAML-like data under `workflow:`. Those must end in diagnostics, never in another
exception. Generation avoids building strategies inside draws (see `_int`): a spec takes hundreds
of draws, and a fresh strategy costs more than the draw itself.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import yaml
from hypothesis import strategies as st

NAME_RE = re.compile(r"^[a-zA-Z]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$")
MAX_TASKS = 30
MAX_GROUPS = 12
# libyaml's emitter where PyYAML has it: the pure-Python one costs more than the rest of a draw.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
OUTPUT_PATH = "/osmo/data/output"
INPUT_ROOT = "/osmo/data/input"


def osmo_normal(name: str) -> str:
    """OSMO's `k8s_name` normalisation: lower case, `_` → `-`."""
    return name.lower().replace("_", "-")


# -- facts -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tok:
    """An OSMO token in user text, as written (`raw`) and what it stands for."""

    kind: str  # "output", "input", "workflow_id" or "host"
    raw: str
    index: int = -1  # the input index, for "input"
    peer: str = ""  # the task, for "host"


Part = str | Tok
Parts = tuple[Part, ...]


def raw_text(parts: Parts) -> str:
    """The text as it is written in the spec."""
    return "".join(p if isinstance(p, str) else p.raw for p in parts)


@dataclasses.dataclass
class TaskFacts:
    """What the spec says about one task; text fields keep their tokens as `Tok`."""

    name: str
    unit: str  # its entry-DAG unit: the group's name, or the task's own in tasks mode
    lead: bool
    image: str
    command: list[str]
    args: list[Parts]
    env: dict[str, Parts]
    files: dict[str, Parts]
    task_inputs: dict[int, str]  # input index → upstream task
    url_inputs: dict[int, str]  # input index → URL
    outputs: list[tuple[str, bool]]  # (URL, has a regex)
    cpu: int | None
    gpu: int | None
    memory: int | None  # bytes
    storage: int | None  # bytes


@dataclasses.dataclass
class SpecFacts:
    """What a compiled manifest must reflect."""

    mode: str  # "tasks" or "groups"
    workflow: str
    units: dict[str, tuple[str, ...]]  # entry-DAG unit (group, or task in tasks mode) → its tasks
    edges: dict[str, frozenset[str]]  # unit → the units it waits for
    tasks: dict[str, TaskFacts]
    exec_timeout: int | None  # whole seconds


# -- names -----------------------------------------------------------------------------------------

# Stems shared by several names, some of them names the compiler uses for its own templates/tasks.
_STEMS = (
    "train",
    "Eval_Step",
    "prep-data",
    "osmo-setup",
    "osmo_verdict",
    "verdict",
    "run",
    "main",
    "part-1",
    "group",
    "task-x",
    "shared",
    "a",
    "b2",
)
_NAME_CHARS = string.ascii_letters + string.digits + "_-"


_STEM = st.sampled_from(_STEMS) | st.builds(
    str.__add__, st.sampled_from(string.ascii_letters), st.text(alphabet=_NAME_CHARS, max_size=8)
)
_SUFFIX = st.sampled_from(["", "", "-", "_", "-x", "_1", "2"])
_SEPARATOR = st.sampled_from("-_")


# Drawing from a strategy built in the draw costs far more than the draw itself (validation on
# first use), and a spec takes hundreds of draws: the helpers below reuse cached strategies.
_BOOL = st.booleans()


@functools.cache
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def _int(draw: st.DrawFn, low: int, high: int) -> int:
    return draw(_ints(low, high))


def _pick(draw: st.DrawFn, items: Sequence[Any]) -> Any:
    """One of `items`; shrinks towards the first."""
    return items[_int(draw, 0, len(items) - 1)]


def _variant(draw: st.DrawFn, stem: str) -> str:
    """`stem` with some letters in the other case and some separators swapped."""
    mask = _int(draw, 0, (1 << len(stem)) - 1)
    out = []
    for i, char in enumerate(stem):
        flip = bool(mask >> i & 1)
        if char in "-_":
            out.append(("_" if char == "-" else "-") if flip else char)
        else:
            out.append(char.swapcase() if flip else char)
    return "".join(out)


def _fix(name: str, max_len: int) -> str:
    name = name[:max_len].rstrip("-_")
    if not name or not name[0].isalpha():
        name = ("n" + name)[:max_len].rstrip("-_")
    return name


@st.composite
def _names(draw: st.DrawFn, count: int, max_len: int, taken: set[str], stems: list[str]) -> list[str]:
    """`count` OSMO names, unique after normalisation among themselves and `taken` (updated)."""
    out: list[str] = []
    for _ in range(count):
        name = _variant(draw, _pick(draw, stems)) + draw(_SUFFIX)
        if _int(draw, 0, 7) == 0:  # a long name, up to the limit
            length = _int(draw, 40, max_len)
            filler = _variant(draw, "Long_name-segment_")
            while len(name) < length:
                name += filler
            name = name[:length]
        name = _fix(name, max_len)
        number = 1
        while osmo_normal(name) in taken or osmo_normal(name) == "osmo-ctrl":
            tail = f"{draw(_SEPARATOR)}{number}"
            name = _fix(name[: max_len - len(tail)], max_len - len(tail)) + tail
            number += 1
        assert NAME_RE.fullmatch(name) and len(name) <= max_len, name
        taken.add(osmo_normal(name))
        out.append(name)
    return out


# -- values ----------------------------------------------------------------------------------------

# Literal text around tokens: no braces (a literal `{` next to a token is a different test), but
# YAML's and the shell's special characters, words YAML would read as other types, non-ASCII
# letters and newlines. Mostly fragments from a list (cheap to draw), sometimes random text.
_FRAGMENTS = (
    " ",
    "a",
    "x y",
    "/data/",
    "a=b",
    "'",
    '"',
    " #",
    ": ",
    "- ",
    "$HOME",
    "$(V_MODE)",
    "\\",
    "\u00e9",
    "\u65e5\u672c",
    "%",
    "&*",
    "|",
    ">",
    "? ",
    "@!",
    ",;",
    "\n",
    "..",
    "--x",
    "0",
    "1.5",
    "true",
    "null",
    "~",
    "}",
)
_LITERAL_TEXT = st.text(alphabet=" abcxyzAB019/._-=:,;$'\"#&*%@!|>?\\\u00e9\u65e5", min_size=1, max_size=6)
_IMAGES = (
    "ubuntu:24.04",
    "python:3.12",
    "nvcr.io/nvidia/pytorch:24.01-py3",
    "busybox",
    "ghcr.io/a/b@sha256:" + "0" * 64,
)
_COMMANDS = (["bash", "-c"], ["sh", "-c"], ["python3"], ["/bin/run-it", "--flag"])
_ENV_KEYS = ("V_MODE", "DATA_DIR", "OUT", "V_PEER", "HOME_X", "v_lower")
_REGEXES = (".*", r".*\.txt$", "data/.*", "^a", "[0-9]+")
_URL_CHARS = string.ascii_lowercase + string.digits + "_-"

# OSMO quantity units: every one is a binary power (`G` is `Gi`); no unit means bytes.
_UNITS: dict[str, int] = {
    "": 0,
    "B": 0,
    "Ki": 10,
    "K": 10,
    "KiB": 10,
    "Mi": 20,
    "M": 20,
    "MiB": 20,
    "Gi": 30,
    "G": 30,
    "GiB": 30,
    "Ti": 40,
    "T": 40,
}
_UNIT_NAMES = tuple(_UNITS)


@st.composite
def quantities(draw: st.DrawFn) -> tuple[str | int, int]:
    """An OSMO memory/storage value and its bytes (always a whole number of bytes)."""
    unit = _pick(draw, _UNIT_NAMES)
    shift = _UNITS[unit]
    if shift == 0:
        number = _int(draw, 1, 1 << 36)
        return (number if unit == "" and draw(_BOOL) else f"{number}{unit}"), number
    fraction = draw(_BOOL)  # x.5, x.25, ...: whole bytes, since the unit is at least Ki
    text = f"{_int(draw, 0, 64)}.{_pick(draw, ['5', '25', '75', '125'])}" if fraction else str(_int(draw, 1, 4096))
    value = Fraction(text) * (1 << shift)
    assert value.denominator == 1
    return f"{text}{unit}", int(value)


@st.composite
def durations(draw: st.DrawFn) -> tuple[str | int, int]:
    """An OSMO duration and its seconds: an int, `<int><unit>` or ISO 8601."""
    form = _int(draw, 0, 2)
    if form == 0:
        seconds = _int(draw, 1, 10**6)
        return seconds, seconds
    if form == 1:
        number = _int(draw, 1, 1000)
        unit, size = _pick(draw, [("s", 1), ("m", 60), ("h", 3600), ("d", 86400)])
        return f"{number}{unit}", number * size
    days, hours, minutes = _int(draw, 0, 3), _int(draw, 0, 23), _int(draw, 0, 59)
    if not (days or hours or minutes):
        minutes = 5
    text = "P" + (f"{days}D" if days else "")
    if hours or minutes:
        text += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text, days * 86400 + hours * 3600 + minutes * 60


_URL = st.builds(
    "{}://{}{}/{}{}".format,
    st.sampled_from(["s3", "gs"]),
    st.sampled_from(string.ascii_lowercase),
    st.text(alphabet=_URL_CHARS, min_size=2, max_size=8),
    st.lists(st.text(alphabet=_URL_CHARS, min_size=1, max_size=6), min_size=1, max_size=3).map("/".join),
    st.sampled_from(["", "", "/"]),
)


def urls() -> st.SearchStrategy[str]:
    """s3:// and gs:// URLs with a path (OSMO: no `/ , ; *` in a component)."""
    return _URL


_ACTIONS = st.lists(st.sampled_from(["COMPLETE", "FAIL", "RESCHEDULE"]), min_size=1, max_size=3, unique=True)


@st.composite
def _exit_actions(draw: st.DrawFn) -> dict[str, str | int]:
    actions = draw(_ACTIONS)
    out: dict[str, str | int] = {}
    for action in actions:
        key = _pick(draw, [action, action.lower(), action.title()])
        ranges = [(_int(draw, 0, 255), _int(draw, 0, 20)) for _ in range(_int(draw, 1, 3))]
        text = ",".join(f"{low}" if span == 0 else f"{low}-{min(255, low + span)}" for low, span in ranges)
        out[key] = int(text) if text.isdigit() and draw(_BOOL) else text
    return out


_EXIT_ACTIONS = st.none() | _exit_actions()
_ENV_KEY_LISTS = st.lists(st.sampled_from(_ENV_KEYS), max_size=2, unique=True)
_QUANTITY = quantities()
_EXTRA_PROFILES = st.lists(st.sampled_from(["gpu_big", "Small-1", "cpu"]), max_size=2, unique=True)
_LABELS = st.dictionaries(
    st.sampled_from(["team", "project", "app.kubernetes.io/name", "Stage"]),
    st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10),
    max_size=3,
)


def _text(draw: st.DrawFn, tokens: list[Tok], max_parts: int = 3) -> Parts:
    parts: list[Part] = []
    for _ in range(_int(draw, 0, max_parts)):
        kind = _int(draw, 0, 3)
        if kind == 0 and tokens:
            parts.append(_pick(draw, tokens))
        elif kind == 3:
            parts.append(draw(_LITERAL_TEXT))
        else:
            parts.append(_pick(draw, _FRAGMENTS))
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return tuple(merged)


# -- the spec --------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Shape:
    """What the tasks of a uniform spec share."""

    image: str
    command: list[str]
    arg_count: int
    env_keys: list[str]
    file_paths: list[str]
    resource: str | None
    exit_actions: dict[str, str | int] | None
    task_inputs: int  # when there are earlier groups
    url_inputs: int
    input_order: int  # 0: task inputs first, 1: URLs first, 2: shuffled
    input_regex: int  # one in n inputs has a regex (0: none)
    outputs: int
    output_regex: int  # one in n outputs of a one-task group has a regex (0: none)


@st.composite
def _shape(draw: st.DrawFn, profiles: list[str]) -> _Shape:
    return _Shape(
        image=_pick(draw, _IMAGES),
        command=list(_pick(draw, _COMMANDS)),
        arg_count=_int(draw, 0, 3),
        env_keys=draw(_ENV_KEY_LISTS),
        file_paths=[f"/etc/osmo-test/file-{i}.txt" for i in range(_int(draw, 0, 2))],
        resource=_pick(draw, [None, *profiles]),
        exit_actions=draw(_EXIT_ACTIONS),
        task_inputs=_int(draw, 0, 3),
        url_inputs=_int(draw, 0, 2),
        input_order=_int(draw, 0, 2),
        input_regex=_pick(draw, [0, 1, 5]),
        outputs=_int(draw, 0, 2),
        output_regex=_pick(draw, [0, 1, 4]),
    )


@st.composite
def osmo_specs(draw: st.DrawFn, max_tasks: int = MAX_TASKS, min_units: int = 1) -> tuple[str, SpecFacts]:
    """(spec YAML text, facts): a random valid OSMO workflow of at most `max_tasks` tasks and at
    least `min_units` entry-DAG units (groups, or tasks in tasks mode)."""
    assert 1 <= min_units <= min(max_tasks, MAX_GROUPS)
    mode = _pick(draw, ["tasks", "groups"])
    # Small, medium or large: a third of the specs may have up to `max_tasks` tasks, so the
    # examples stay quick on average.
    tier = max(min_units, min(max_tasks, _pick(draw, [4, 12, max_tasks])))
    if mode == "tasks":
        sizes = [1] * _int(draw, min_units, tier)
    else:
        sizes = [_int(draw, 1, 4) for _ in range(_int(draw, min_units, max(min_units, min(tier, MAX_GROUPS))))]
        while sum(sizes) > max_tasks:  # keep every group; make the largest smaller
            sizes[sizes.index(max(sizes))] -= 1
    max_len = 58 if mode == "tasks" else 64
    stems = [draw(_STEM) for _ in range(_int(draw, 1, 4))]
    taken: set[str] = set()
    group_names = draw(_names(len(sizes), max_len, taken, stems)) if mode == "groups" else []
    task_names = draw(_names(sum(sizes), max_len, taken, stems))
    workflow_name = draw(_names(1, 64, set(), stems))[0]

    # Resource profiles: `default` always, and up to two more.
    profile_names = ["default", *draw(_EXTRA_PROFILES)]
    profiles: dict[str, dict[str, Any]] = {}
    amounts: dict[str, tuple[int | None, int | None, int | None, int | None]] = {}
    for profile in profile_names:
        spec: dict[str, Any] = {}
        cpu = _int(draw, 1, 64) if draw(_BOOL) else None
        gpu = _int(draw, 0, 8) if draw(_BOOL) else None
        memory = draw(_QUANTITY) if draw(_BOOL) else None
        storage = draw(_QUANTITY) if draw(_BOOL) else None
        if cpu is not None:
            spec["cpu"] = cpu
        if gpu is not None:
            spec["gpu"] = gpu
        if memory is not None:
            spec["memory"] = memory[0]
        if storage is not None:
            spec["storage"] = storage[0]
        if _int(draw, 0, 5) == 0:
            spec["platform"] = "default"
        if _int(draw, 0, 5) == 0:
            spec["nodesExcluded"] = ["node-a", "node-b", "gpu-07"][: _int(draw, 1, 3)]
        profiles[profile] = spec
        amounts[profile] = (
            cpu,
            gpu,
            memory[1] if memory is not None else None,
            storage[1] if storage is not None else None,
        )

    uniform = draw(_BOOL)
    shape = draw(_shape(profile_names))

    facts_tasks: dict[str, TaskFacts] = {}
    units: dict[str, tuple[str, ...]] = {}
    edges: dict[str, frozenset[str]] = {}
    unit_of: dict[str, str] = {}
    groups_out: list[dict[str, Any]] = []
    tasks_out: list[dict[str, Any]] = []
    position = 0
    for group_index, size in enumerate(sizes):
        members = task_names[position : position + size]
        position += size
        unit = group_names[group_index] if mode == "groups" else members[0]
        earlier = task_names[: position - size]
        lead_index = _int(draw, 0, size - 1)
        upstream: set[str] = set()
        built: list[dict[str, Any]] = []
        for member_index, name in enumerate(members):
            task_shape = shape if uniform else draw(_shape(profile_names))
            task, facts = draw(_task(name, unit, member_index == lead_index, members, earlier, task_shape, size))
            facts.cpu, facts.gpu, facts.memory, facts.storage = amounts[task_shape.resource or "default"]
            built.append(task)
            facts_tasks[name] = facts
            unit_of[name] = unit
            upstream.update(unit_of[t] for t in facts.task_inputs.values())
        units[unit] = tuple(members)
        edges[unit] = frozenset(upstream)
        if mode == "tasks":
            tasks_out.extend(built)
        else:
            group: dict[str, Any] = {"name": unit}
            if size > 1 and _int(draw, 0, 3) == 0:
                group["barrier"] = draw(_BOOL)
            if size > 1 and _int(draw, 0, 3) == 0:
                group["ignoreNonleadStatus"] = draw(_BOOL)
            group["tasks"] = built
            groups_out.append(group)

    workflow: dict[str, Any] = {"name": workflow_name}
    if _int(draw, 0, 4) == 0:
        workflow["labels"] = draw(_LABELS)
    workflow["resources"] = profiles
    exec_seconds: int | None = None
    if _int(draw, 0, 3) == 0:
        timeout: dict[str, Any] = {}
        if draw(_BOOL):
            timeout["exec_timeout"], exec_seconds = draw(durations())
        if draw(_BOOL):
            timeout["queue_timeout"] = draw(durations())[0]
        workflow["timeout"] = timeout
    if mode == "tasks":
        workflow["tasks"] = tasks_out
    else:
        workflow["groups"] = groups_out
    document: dict[str, Any] = {}
    if _int(draw, 0, 5) == 0:
        document["version"] = 2
    if _int(draw, 0, 5) == 0:
        # A Jinja template: images come from default-values, so the spec is rendered (with OSMO's
        # tokens shielded from Jinja) before it is read.
        images = sorted({task["image"] for task in _all_tasks(workflow)})
        document["default-values"] = {f"image_{i}": image for i, image in enumerate(images)}
        for task in _all_tasks(workflow):
            task["image"] = f"{{{{ image_{images.index(task['image'])} }}}}"
    document["workflow"] = workflow
    text = yaml.dump(document, Dumper=_DUMPER, sort_keys=False, allow_unicode=draw(_BOOL))
    if "default-values" in document:
        # Jinja drops the text's last newline, and with it the final line break of a block scalar
        # that ends the file: OSMO's behaviour (tests/test_template_fast_path.py pins it), but not
        # what these facts describe. A blank last line, as editors leave one, keeps every value.
        text += "\n"
    return text, SpecFacts(mode, workflow_name, units, edges, facts_tasks, exec_seconds)


def _all_tasks(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    if "tasks" in workflow:
        return list(workflow["tasks"])
    return [task for group in workflow["groups"] for task in group["tasks"]]


@st.composite
def _task(
    draw: st.DrawFn,
    name: str,
    unit: str,
    lead: bool,
    members: list[str],
    earlier: list[str],
    shape: _Shape,
    group_size: int,
) -> tuple[dict[str, Any], TaskFacts]:
    # Inputs: tasks of earlier groups (possibly the same one twice) and URLs.
    upstream = [_pick(draw, earlier) for _ in range(shape.task_inputs)] if earlier else []
    url_items = [draw(_URL) for _ in range(shape.url_inputs)]
    items: list[tuple[str, str]] = [("task", t) for t in upstream] + [("url", u) for u in url_items]
    if shape.input_order == 1:
        items.reverse()
    elif shape.input_order == 2 and len(items) > 1:
        items = draw(st.permutations(items))
    inputs: list[dict[str, Any]] = []
    task_inputs: dict[int, str] = {}
    url_inputs: dict[int, str] = {}
    by_task: dict[str, int] = {}
    for index, (kind, value) in enumerate(items):
        item: dict[str, Any] = {kind: value}
        if shape.input_regex and _int(draw, 1, shape.input_regex) == 1:
            item["regex"] = _pick(draw, _REGEXES)
        inputs.append(item)
        if kind == "task":
            task_inputs[index] = value
            by_task[value] = index  # {{input:<task>}} is the last input from that task
        else:
            url_inputs[index] = value

    tokens = [Tok("output", "{{output}}"), Tok("workflow_id", "{{workflow_id}}")]
    tokens += [Tok("input", f"{{{{input:{i}}}}}", index=i) for i in range(len(inputs))]
    tokens += [Tok("input", f"{{{{input:{t}}}}}", index=i) for t, i in by_task.items()]
    # {{host:<task>}} names a task of the same group: a peer, or (in any group) the task itself.
    if group_size > 1 or _int(draw, 0, 3) == 0:
        tokens += [Tok("host", f"{{{{host:{peer}}}}}", peer=peer) for peer in members]

    args = [_text(draw, tokens) for _ in range(shape.arg_count)]
    env = {key: _text(draw, tokens) for key in shape.env_keys}
    files: dict[str, Parts] = {}
    for path in shape.file_paths:
        parts: list[Part] = []
        for number in range(_int(draw, 1, 3)):
            if number:
                parts.append("\n")
            parts.extend(_text(draw, tokens))
        files[path] = tuple(parts)

    task: dict[str, Any] = {"name": name}
    if group_size > 1 and lead:
        task["lead"] = True
    elif _int(draw, 0, 5) == 0:  # OSMO's default, or a one-task group's lead, said outright
        task["lead"] = lead
    task["image"] = shape.image
    task["command"] = list(shape.command)
    if args or _int(draw, 0, 5) == 0:
        task["args"] = [raw_text(a) for a in args]
    if env:
        task["environment"] = {key: raw_text(value) for key, value in env.items()}
    if _int(draw, 0, 9) == 0:
        task["credentials"] = _pick(
            draw,
            [
                {"my-cred": {"CRED_TOKEN": "token"}},
                {"Registry_Cred": "/etc/creds/registry"},
                {"c1": {"CRED_A": "a"}},
            ],
        )
    if inputs:
        task["inputs"] = inputs
    outputs: list[tuple[str, bool]] = []
    for drawn in [draw(_URL) for _ in range(shape.outputs)]:
        url = drawn
        if _int(draw, 0, 3) == 0:  # s3://bucket/{{workflow_id}}/path: one place per run
            scheme, _, rest = drawn.partition("://")
            bucket, _, path = rest.partition("/")
            url = f"{scheme}://{bucket}/{{{{workflow_id}}}}/{path}"
        item = {"url": url}
        # Filtered outputs of group members are E441 on Argo: regexes only in one-task groups.
        if group_size == 1 and shape.output_regex and _int(draw, 1, shape.output_regex) == 1:
            item["regex"] = _pick(draw, _REGEXES)
        task.setdefault("outputs", []).append(item)
        outputs.append((url, "regex" in item))
    if files:
        task["files"] = [{"path": path, "contents": raw_text(parts)} for path, parts in files.items()]
    if shape.resource is not None:
        task["resource"] = shape.resource
    if shape.exit_actions is not None:
        task["exitActions"] = dict(shape.exit_actions)
    if _int(draw, 0, 11) == 0:
        frequency = _pick(draw, [60, 300, "30m", "PT5M"])
        task["checkpoint"] = [{"path": "/ckpt", "url": draw(_URL), "frequency": frequency}]
    facts = TaskFacts(
        name=name,
        unit=unit,
        lead=lead,
        image=shape.image,
        command=list(shape.command),
        args=args,
        env=env,
        files=files,
        task_inputs=task_inputs,
        url_inputs=url_inputs,
        outputs=outputs,
        cpu=None,
        gpu=None,
        memory=None,
        storage=None,
    )
    return task, facts


# -- breakage --------------------------------------------------------------------------------------

MUTATIONS = (
    "delete-required",
    "retype",
    "subtree",
    "unknown-key",
    "missing-input",
    "duplicate-name",
    "indent",
    "syntax",
    "tab",
    "huge",
    "jinja",
    "truncate",
    "yaml-special",
    "bytes",
)
# YAML forms PyYAML's safe loader turns into other types, or refuses.
_YAML_SPECIAL = (
    "2024-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!python/name:os.system",
    "!!str 5",
    "!!int '5'",
    "0x1F",
    "0o17",
    "1_000",
    ".inf",
    ".NaN",
    "=",
    "~",
    "&anchor value",
    "*undefined",
    "{a: 1, a: 2}",
    "[a, [b, {c: d}]]",
    "? complex\n  : key",
    "|\n  block\n  text",
    ">-\n  folded",
    "'unterminated",
    '"\\x"',
    "yes",
    "Off",
    "1e3",
    "-0",
)
_SCALAR_LINE = re.compile(r"^(\s*(?:- )?[A-Za-z_]+: )(\S.*)$")
_JINJA = (
    "{{ undefined }}",
    "{% for x in y %}",
    "{% if true %}",
    "{{",
    "{%",
    "{#",
    "{% endfor %}",
    "{{ 1/0 }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ output }}",
    "{{input:99}}",
    "{{host:nobody}}",
)
_SYNTAX = ("[", "]", "{", "}", ": ", "- ", "&a ", "*a ", "!!python/object ", "'", '"', "|", ">", "---\n", "? ", "\x00")
OSMO_KEYS = (
    "workflow",
    "version",
    "default-values",
    "name",
    "tasks",
    "groups",
    "image",
    "command",
    "args",
    "inputs",
    "outputs",
    "task",
    "url",
    "dataset",
    "regex",
    "resources",
    "resource",
    "default",
    "cpu",
    "gpu",
    "memory",
    "storage",
    "platform",
    "nodesExcluded",
    "topology",
    "lead",
    "barrier",
    "ignoreNonleadStatus",
    "files",
    "path",
    "contents",
    "base64",
    "localpath",
    "environment",
    "credentials",
    "timeout",
    "exec_timeout",
    "queue_timeout",
    "exitActions",
    "checkpoint",
    "frequency",
    "labels",
    "volumeMounts",
    "privileged",
    "hostNetwork",
    "kpis",
    "cacheSize",
    "downloadType",
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["{{output}}", "{{input:0}}", "s3://b/k", "512Mi", "true", "1.5", "-1", "~", ""])
)
_KEYS = st.sampled_from(OSMO_KEYS) | st.text(max_size=10) | st.integers(-2, 2) | st.booleans()


def json_values(max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """Arbitrary YAML-like data: scalars, lists and mappings (keys mostly OSMO's)."""
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
        max_leaves=max_leaves,
    )


@st.composite
def json_documents(draw: st.DrawFn) -> str:
    """YAML text of arbitrary data under a `workflow:` key (and sometimes other top-level keys)."""
    document: dict[Any, Any] = {"workflow": draw(json_values())}
    if _int(draw, 0, 3) == 0:
        document.update(draw(st.dictionaries(st.sampled_from(["version", "default-values", "extra"]), scalars)))
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in loaded YAML data."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, path + (index,))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@dataclasses.dataclass(frozen=True)
class Mutated:
    """A broken spec: the bytes of the file, and what was done to it (for failure messages)."""

    data: bytes
    kind: str
    detail: str


@st.composite
def mutated_specs(draw: st.DrawFn, kind: str | None = None) -> Mutated:
    """A valid spec with one random mutation (of the given kind, one of MUTATIONS)."""
    text, _ = draw(osmo_specs(max_tasks=6))
    if kind is None:
        kind = _pick(draw, MUTATIONS)
    document = yaml.safe_load(text)
    detail = ""
    if kind == "delete-required":
        required: list[tuple[Any, ...]] = [("workflow", "name")]
        workflow = document["workflow"]
        for index in range(len(workflow.get("groups", []))):
            required += [("workflow", "groups", index, "name"), ("workflow", "groups", index, "tasks")]
        required += [p for p in _paths(document) if p and p[-1] in ("name", "image", "command", "task", "url")]
        path = draw(st.sampled_from(required))
        del _get(document, path[:-1])[path[-1]]
        detail = f"deleted {path}"
        text = yaml.safe_dump(document, sort_keys=False)
    elif kind in ("retype", "subtree"):
        path = draw(st.sampled_from([p for p in _paths(document) if p]))
        value = draw(scalars if kind == "retype" else json_values(10))
        _get(document, path[:-1])[path[-1]] = value
        detail = f"{path} = {value!r}"
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    elif kind == "unknown-key":
        mappings = [p for p in _paths(document) if isinstance(_get(document, p), dict)]
        path = draw(st.sampled_from(mappings))
        key = draw(st.sampled_from(["bogus", "Name", "leads", "dependencies", "inputs", "tasks"]) | _KEYS)
        _get(document, path)[key] = draw(scalars)
        detail = f"{path}[{key!r}]"
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    elif kind == "missing-input":
        tasks = _all_tasks(document["workflow"])
        task = draw(st.sampled_from(tasks))
        items = [i for i in task.get("inputs", []) if "task" in i]
        name = draw(st.sampled_from(["no-such-task", task["name"], task["name"].upper(), task["name"] + "_"]))
        if items:
            draw(st.sampled_from(items))["task"] = name
        else:
            task.setdefault("inputs", []).append({"task": name})
        detail = f"input of {task['name']} → {name}"
        text = yaml.safe_dump(document, sort_keys=False)
    elif kind == "duplicate-name":
        named = [p for p in _paths(document) if p and p[-1] == "name" and len(p) > 2]
        if len(named) >= 2:
            first, second = draw(st.permutations(named))[:2]
            other = _get(document, second)
            _get(document, first[:-1])["name"] = draw(
                st.sampled_from([other, str(other).upper(), str(other).replace("-", "_"), str(other).replace("_", "-")])
            )
            detail = f"{first} = name of {second}"
        else:  # one task: a copy of it
            tasks = document["workflow"].get("tasks") or document["workflow"]["groups"][0]["tasks"]
            tasks.append(dict(tasks[0]))
            detail = f"a copy of task {tasks[0]['name']}"
        text = yaml.safe_dump(document, sort_keys=False)
    elif kind in ("indent", "tab"):
        lines = text.split("\n")
        number = _int(draw, 0, len(lines) - 1)
        line = lines[number]
        if kind == "indent":
            shift = _int(draw, -3, 3)
            lines[number] = line[-shift:] if shift < 0 and line.startswith(" " * -shift) else " " * shift + line
        else:
            column = _int(draw, 0, len(line))
            lines[number] = line[:column] + "\t" + line[column:]
        detail = f"line {number + 1}"
        text = "\n".join(lines)
    elif kind in ("syntax", "jinja"):
        snippet = draw(st.sampled_from(_SYNTAX if kind == "syntax" else _JINJA))
        at = _int(draw, 0, len(text))
        text = text[:at] + snippet + text[at:]
        detail = f"{snippet!r} at {at}"
    elif kind == "huge":
        scalar_paths = [p for p in _paths(document) if p and not isinstance(_get(document, p), (dict, list))]
        path = draw(st.sampled_from(scalar_paths))
        size = draw(st.sampled_from([10_000, 200_000, 1_100_000]))
        _get(document, path[:-1])[path[-1]] = draw(st.sampled_from("x{ \u00e9")) * size
        detail = f"{path}: {size} characters"
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=size * 2)
    elif kind == "yaml-special":
        lines = text.split("\n")
        scalars_at = [i for i, line in enumerate(lines) if _SCALAR_LINE.match(line)]
        number = _pick(draw, scalars_at)
        special = _pick(draw, _YAML_SPECIAL)
        lines[number] = _SCALAR_LINE.sub(lambda m: m.group(1) + special, lines[number])
        detail = f"line {number + 1}: {special!r}"
        text = "\n".join(lines)
    elif kind == "truncate":
        at = _int(draw, 0, len(text))
        text = text[:at]
        detail = f"at {at}"
    data = text.encode("utf-8")
    if kind == "bytes":
        raw = bytearray(data)
        flips = draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)), min_size=1, max_size=8))
        for at, bits in flips:
            raw[at] ^= bits
        data = bytes(raw)
        detail = str(flips)
    return Mutated(data, kind, detail)
