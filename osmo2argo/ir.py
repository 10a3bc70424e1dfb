"""The OSMO workflow after validation: frozen, resolved, with a span on every node.

Everything here is OSMO's model with its defaults applied and its references resolved (a task's
resource profile, input indices, group edges); nothing here knows Argo. Tasks-mode workflows are
represented as groups too (one implicit group per task), exactly as OSMO's `WorkflowSpec.parse`
does, so the lowering has one shape to handle.

User text keeps OSMO's tokens as structured parts (`Token`), so a later stage can turn
`{{output}}` into a path and `{{workflow_id}}` into an Argo variable while every other byte stays
literal.
"""

from __future__ import annotations

import enum
from fractions import Fraction
from typing import Literal, NamedTuple

from . import records
from .errors import Span

# Where OSMO puts a task's data (src/utils/job/kb_objects.py DATA_LOCATION = /osmo/data).
OUTPUT_PATH = "/osmo/data/output"
INPUT_ROOT = "/osmo/data/input"


def input_path(index: int) -> str:
    return f"{INPUT_ROOT}/{index}"


class TokenKind(str, enum.Enum):
    """Which OSMO token a `Token` is."""

    OUTPUT = "output"
    INPUT = "input"
    WORKFLOW_ID = "workflow_id"
    HOST = "host"


@records.typed_equality
class Token(NamedTuple):
    """An OSMO special token: `{{output}}`, `{{input:i}}`, `{{workflow_id}}`, `{{host:task}}`.

    `index` is the resolved input index for INPUT; `task` the task name for HOST.
    """

    kind: TokenKind
    index: int = -1  # type: ignore[assignment]  # a field, not tuple.index
    task: str = ""


Part = str | Token


@records.typed_equality
class Text(NamedTuple):
    """User text: literal strings and tokens, in order."""

    parts: tuple[Part, ...]
    span: Span | None = None

    @property
    def literal(self) -> str | None:
        """The text if it holds no tokens, else None."""
        if all(isinstance(p, str) for p in self.parts):
            return "".join(p for p in self.parts if isinstance(p, str))
        return None

    def tokens(self) -> tuple[Token, ...]:
        return tuple(p for p in self.parts if isinstance(p, Token))

    def osmo_form(self) -> str:
        """The text as OSMO shows it, tokens written back as `{{...}}` (for messages and labels)."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif part.kind is TokenKind.INPUT:
                out.append(f"{{{{input:{part.index}}}}}")
            elif part.kind is TokenKind.HOST:
                out.append(f"{{{{host:{part.task}}}}}")
            else:
                out.append(f"{{{{{part.kind.value}}}}}")
        return "".join(out)


@records.typed_equality
class Topology(NamedTuple):
    """One `topology` requirement: tasks sharing `group` share one value of the `key` label."""

    key: str
    group: str
    required: bool
    span: Span | None = None


@records.typed_equality
class Resources(NamedTuple):
    """A resource profile; None means "not set" (the target profile's default applies)."""

    name: str
    cpu: int | None = None
    gpu: int | None = None
    memory: Fraction | None = None  # bytes
    storage: Fraction | None = None  # bytes
    platform: str | None = None
    nodes_excluded: tuple[str, ...] = ()
    topology: tuple[Topology, ...] = ()
    span: Span | None = None
    spans: tuple[tuple[str, Span | None], ...] = ()  # where each field was given

    def span_of(self, field: str) -> Span | None:
        return dict(self.spans).get(field) or self.span


@records.typed_equality
class EnvVar(NamedTuple):
    """An environment variable with a literal (token-bearing) value."""

    name: str
    value: Text
    span: Span | None = None


@records.typed_equality
class SecretEnv(NamedTuple):
    """`credentials: {cred: {ENV: key}}`: ENV comes from key `key` of credential `credential`."""

    name: str
    credential: str
    key: str
    span: Span | None = None


@records.typed_equality
class SecretDir(NamedTuple):
    """`credentials: {cred: /dir}`: every key of the credential becomes a file in /dir."""

    credential: str
    path: str
    span: Span | None = None


@records.typed_equality
class TaskInput(NamedTuple):
    """Another task's output: of this workflow (`workflow_id` None) or of an earlier one."""

    index: int  # type: ignore[assignment]  # a field, not tuple.index
    task: str
    workflow_id: str | None
    regex: str | None
    span: Span | None = None


@records.typed_equality
class UrlInput(NamedTuple):
    """Data at a storage URL, downloaded to `{{input:index}}`."""

    index: int  # type: ignore[assignment]  # a field, not tuple.index
    url: Text
    regex: str | None
    span: Span | None = None


@records.typed_equality
class DatasetRef(NamedTuple):
    """`[bucket/]name[:tag]`; bucket None means the target's default dataset bucket."""

    bucket: str | None
    name: str
    tag: str | None

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.bucket, self.name)

    def __str__(self) -> str:
        text = f"{self.bucket}/{self.name}" if self.bucket else self.name
        return f"{text}:{self.tag}" if self.tag else text


@records.typed_equality
class DatasetInput(NamedTuple):
    """A dataset version, downloaded to `{{input:index}}`."""

    index: int  # type: ignore[assignment]  # a field, not tuple.index
    dataset: DatasetRef
    regex: str | None
    span: Span | None = None


Input = TaskInput | UrlInput | DatasetInput


@records.typed_equality
class UrlOutput(NamedTuple):
    """`{{output}}` uploaded to a storage URL."""

    url: Text
    regex: str | None
    span: Span | None = None


@records.typed_equality
class DatasetOutput(NamedTuple):
    """`{{output}}` uploaded as a new version of a dataset."""

    dataset: DatasetRef
    regex: str | None
    span: Span | None = None


Output = UrlOutput | DatasetOutput


@records.typed_equality
class File(NamedTuple):
    """A file placed at `path`: text with tokens, or exact bytes (base64 contents)."""

    path: Text
    contents: Text | bytes
    span: Span | None = None


@records.typed_equality
class HostMount(NamedTuple):
    """A host path mounted into the container (`volumeMounts`)."""

    source: str
    destination: str
    span: Span | None = None


ExitActionName = Literal["COMPLETE", "FAIL", "RESCHEDULE"]


@records.typed_equality
class ExitRule(NamedTuple):
    """One `exitActions` entry; rules are tried in order, the first whose ranges hold the code wins."""

    action: ExitActionName
    ranges: tuple[tuple[int, int], ...]
    span: Span | None = None

    def matches(self, code: int) -> bool:
        return any(low <= code <= high for low, high in self.ranges)


@records.typed_equality
class Checkpoint(NamedTuple):
    """Periodic upload of a local directory while the task runs, plus a final one."""

    path: str
    url: Text
    frequency: Fraction  # seconds between the end of one upload and the start of the next
    regex: str | None
    span: Span | None = None


@records.typed_equality
class Kpi(NamedTuple):
    """An undocumented OSMO KPI: a file under `{{output}}` reported under `index`."""

    index: str  # type: ignore[assignment]  # a field, not tuple.index
    path: str
    span: Span | None = None


@records.typed_equality
class Task(NamedTuple):
    """One container, with every OSMO field resolved."""

    name: str
    group: str
    image: Text
    command: tuple[Text, ...]
    args: tuple[Text, ...]
    lead: bool
    environment: tuple[EnvVar, ...]
    secret_env: tuple[SecretEnv, ...]
    secret_dirs: tuple[SecretDir, ...]
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    files: tuple[File, ...]
    resources: Resources
    host_mounts: tuple[HostMount, ...]
    exit_rules: tuple[ExitRule, ...]
    checkpoints: tuple[Checkpoint, ...]
    privileged: bool
    host_network: bool
    kpis: tuple[Kpi, ...]
    download_type: str | None
    cache_size: str | None
    span: Span | None = None
    spans: tuple[tuple[str, Span | None], ...] = ()  # where the fields span_of is asked about were given
    names_hosts: bool = False  # some text of the task (command, file, URL, path...) holds {{host:...}}

    def span_of(self, field: str) -> Span | None:
        return dict(self.spans).get(field) or self.span


@records.typed_equality
class Group(NamedTuple):
    """Tasks that start together; `implicit` for the one-task group of a tasks-mode workflow."""

    name: str
    tasks: tuple[Task, ...]
    barrier: bool
    ignore_nonlead_status: bool
    implicit: bool
    upstream: tuple[str, ...]  # names of groups this one waits for, in declaration order
    span: Span | None = None

    @property
    def lead(self) -> Task:
        return next(t for t in self.tasks if t.lead)

    @property
    def has_barrier(self) -> bool:
        """OSMO: `len(tasks) > 1 and barrier`."""
        return len(self.tasks) > 1 and self.barrier


@records.typed_equality
class Timeout(NamedTuple):
    """Per-group timeouts in seconds; None means the target's default."""

    exec_timeout: Fraction | None  # seconds; None: the target's default
    queue_timeout: Fraction | None
    span: Span | None = None
    exec_span: Span | None = None
    queue_span: Span | None = None


@records.typed_equality
class Workflow(NamedTuple):
    """A whole validated workflow; tasks-mode workflows hold one implicit group per task."""

    name: str
    labels: tuple[tuple[str, str], ...]
    timeout: Timeout
    groups: tuple[Group, ...]
    mode: Literal["tasks", "groups"]
    file: str
    span: Span | None = None

    def tasks(self) -> tuple[Task, ...]:
        return tuple(task for group in self.groups for task in group.tasks)

    def group_of(self, task_name: str) -> Group:
        for group in self.groups:
            if any(t.name == task_name for t in group.tasks):
                return group
        raise KeyError(task_name)
