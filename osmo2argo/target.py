"""The target profile: what OSMO keeps on its server, for an Argo cluster.

OSMO resolves platforms, resource defaults, storage, credentials, the scheduler and retry limits
from its pool configuration; an Argo cluster has no such server, so these facts live in a YAML
profile (`--target FILE`, schema `schema/target.schema.json`). The built-in profile below makes
`compile` work with no file at all and is printed by `osmo2argo target --default`.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, NamedTuple

from . import records, schema
from .errors import CompileError, Diagnostic
from .source import Document, load_yaml
from .units import UnitError, parse_duration, parse_quantity

DEFAULT_TARGET_YAML = """\
# osmo2argo target profile: the facts about your Argo cluster that OSMO keeps on its server.
# Every key is optional; this is the built-in profile. Schema: osmo2argo schema --target.

# The Argo Workflows line the cluster runs (3.6, 3.7, 4.0 or 4.1).
argoVersion: "4.0"
namespace: null                 # null: the namespace is chosen when submitting
serviceAccountName: null        # null: the namespace's default service account
labelPrefix: osmo2argo.nvidia.com
podLabelPrefix: ""              # OSMO's pod_label_prefix, prepended to workflow labels on pods
uiUrl: null                     # e.g. https://argo.example.com, for links printed by submit
podGC: null
ttlStrategy: null

# Resources a profile leaves unset (OSMO's built-in USER_* defaults).
defaults:
  cpu: 1
  gpu: 0
  memory: 1Gi
  storage: 1Gi
  execTimeout: null             # OSMO's pools default to 60d; null sets no deadline
  queueTimeout: null
gpuResource: nvidia.com/gpu

# Platforms: where a resource profile's pods run and what they may do.
defaultPlatform: default
platforms:
  default:
    nodeSelector: {}
    tolerations: []
    privileged: false
    hostNetwork: false
    allowedMounts: []
    defaultMounts: []
topologyKeys: []

storage:
  artifactRepositoryRef: null   # null: the namespace's default artifact repository
  intermediateKind: s3          # the kind of that repository
  intermediatePrefix: osmo      # task outputs go to <prefix>/<workflow name>/<task name>/
  s3: {}                        # endpoint, region, accessKeySecret, secretKeySecret, useSDKCreds, ...
  gs: {}                        # serviceAccountKeySecret
  azure:
    endpointTemplate: https://{account}.blob.core.windows.net
  datasets: null                # {url: s3://bucket/datasets, defaultBucket: default}

# OSMO credential name -> Kubernetes Secret (default: the name made DNS-safe).
credentials: {}

# Gang scheduling of multi-task groups: none, kai, volcano, kueue or coscheduling.
scheduler:
  name: none
  schedulerName: null
  queue: null
  priorityClassName: null
  scheduleTimeoutSeconds: null
  kaiVersion: "0.15"            # per-group stalenessGracePeriod needs KAI 0.17
barrierTimeoutSeconds: 1800     # how long a group member waits for its peers at the barrier

retries:
  reschedule: 0                 # OSMO's max_retry_per_task (its default is 0)

helperImage: python:3.12-alpine    # runs regex filters, exit-code verdicts and group barriers
helperPlacement: {}             # nodeSelector and tolerations for helper pods (setup, verdict, filters)
kubectlImage: registry.k8s.io/kubectl:v1.33.0   # creates the Service and gang objects of groups
checkpointImage: rclone/rclone:1.68.2

limits:
  maxTemplates: 200
  maxDagTasks: 200
  maxBytes: 1048576
  maxTasks: null
"""

ARGO_VERSIONS = ("3.6", "3.7", "4.0", "4.1")


@records.typed_equality
class Platform(NamedTuple):
    """Where a resource profile's pods run, and what they may do there."""

    name: str
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    affinity: dict[str, Any]
    runtime_class_name: str | None
    labels: dict[str, str]
    privileged: bool
    host_network: bool
    allowed_mounts: tuple[str, ...]
    default_mounts: tuple[str, ...]


@records.typed_equality
class Credential(NamedTuple):
    """The Secret that holds an OSMO credential, and its keys when the profile lists them."""

    secret: str
    keys: tuple[str, ...] | None


@records.typed_equality
class Target(NamedTuple):
    """A validated target profile."""

    argo_version: str
    namespace: str | None
    service_account: str | None
    label_prefix: str
    pod_label_prefix: str
    ui_url: str | None
    pod_gc: dict[str, Any] | None
    ttl_strategy: dict[str, Any] | None
    default_cpu: int
    default_gpu: int
    default_memory: Fraction
    default_storage: Fraction
    default_exec_timeout: Fraction | None
    default_queue_timeout: Fraction | None
    gpu_resource: str
    default_platform: str | None
    platforms: dict[str, Platform]
    topology_labels: dict[str, str]
    topology_order: tuple[str, ...]
    storage: dict[str, Any]
    credentials: dict[str, Credential]
    scheduler: dict[str, Any]
    reschedule_limit: int
    helper_image: str
    helper_placement: dict[str, Any]
    kubectl_image: str
    checkpoint_image: str
    max_templates: int
    max_dag_tasks: int
    max_bytes: int
    max_tasks: int | None
    barrier_timeout: int = 1800
    source: str = "<built-in>"

    def at_least(self, version: str) -> bool:
        return ARGO_VERSIONS.index(self.argo_version) >= ARGO_VERSIONS.index(version)

    def label(self, name: str) -> str:
        return f"{self.label_prefix}/{name}"

    def secret_for(self, credential: str) -> Credential:
        found = self.credentials.get(credential)
        if found is not None:
            return found
        return Credential(dns_safe(credential), None)


def dns_safe(name: str) -> str:
    """A DNS-1123 subdomain for an OSMO credential name (lower case; `_` and other characters → `-`)."""
    lowered = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")
    return lowered[:253] or "credential"


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override


_DEFAULT_DATA: dict[str, Any] | None = None


def default_data() -> dict[str, Any]:
    global _DEFAULT_DATA  # noqa: PLW0603 - parsed once per process
    if _DEFAULT_DATA is None:
        document, _ = load_yaml(DEFAULT_TARGET_YAML, "<built-in target>")
        _DEFAULT_DATA = document.data
    return _DEFAULT_DATA


def default_target() -> Target:
    return build_target(default_data(), None, "<built-in>")


def load_target(text: str, file: str) -> Target:
    """Parse and validate a target profile file; CompileError (E5xx) with every problem."""
    document, _ = load_yaml(text, file)
    if document.data is None:
        document = document.with_data({})
    if not isinstance(document.data, dict):
        raise CompileError([Diagnostic("E501", "a target profile is a YAML mapping", document.span(()))])
    problems = schema.check(document, "target", code_prefix="E5")
    if problems:
        raise CompileError(problems)
    merged = _merge(default_data(), document.data)
    return build_target(merged, document, file)


def build_target(data: dict[str, Any], document: Document | None, file: str) -> Target:
    problems: list[Diagnostic] = []

    def fail(message: str, path: tuple[str | int, ...], hint: str | None = None) -> None:
        span = document.span(path) if document is not None else None
        problems.append(Diagnostic("E510", message, span, "$." + ".".join(str(p) for p in path), hint))

    defaults = data.get("defaults") or {}
    memory = _quantity(defaults.get("memory", "1Gi"), "memory", fail)
    storage = _quantity(defaults.get("storage", "1Gi"), "storage", fail)
    exec_timeout = _duration(defaults.get("execTimeout"), ("defaults", "execTimeout"), fail)
    queue_timeout = _duration(defaults.get("queueTimeout"), ("defaults", "queueTimeout"), fail)
    platforms = {}
    for name, given in (data.get("platforms") or {}).items():
        spec = given or {}
        platforms[name] = Platform(
            name=name,
            node_selector=dict(spec.get("nodeSelector") or {}),
            tolerations=list(spec.get("tolerations") or []),
            affinity=dict(spec.get("affinity") or {}),
            runtime_class_name=spec.get("runtimeClassName"),
            labels=dict(spec.get("labels") or {}),
            privileged=bool(spec.get("privileged", False)),
            host_network=bool(spec.get("hostNetwork", False)),
            allowed_mounts=tuple(spec.get("allowedMounts") or ()),
            default_mounts=tuple(spec.get("defaultMounts") or ()),
        )
    default_platform = data.get("defaultPlatform")
    if default_platform is not None and default_platform not in platforms:
        fail(
            f"defaultPlatform {default_platform!r} is not one of the platforms ({', '.join(sorted(platforms))})",
            ("defaultPlatform",),
        )
    credentials = {}
    for name, spec in (data.get("credentials") or {}).items():
        if isinstance(spec, str):
            credentials[name] = Credential(spec, None)
        else:
            keys = spec.get("keys")
            credentials[name] = Credential(spec["secret"], tuple(keys) if keys is not None else None)
    topology = data.get("topologyKeys") or []
    limits = data.get("limits") or {}
    if problems:
        raise CompileError(problems)
    assert memory is not None and storage is not None
    return Target(
        argo_version=str(data.get("argoVersion", "4.0")),
        namespace=data.get("namespace"),
        service_account=data.get("serviceAccountName"),
        label_prefix=data.get("labelPrefix", "osmo2argo.nvidia.com"),
        pod_label_prefix=data.get("podLabelPrefix") or "",
        ui_url=data.get("uiUrl"),
        pod_gc=data.get("podGC"),
        ttl_strategy=data.get("ttlStrategy"),
        default_cpu=int(defaults.get("cpu", 1)),
        default_gpu=int(defaults.get("gpu", 0)),
        default_memory=memory,
        default_storage=storage,
        default_exec_timeout=exec_timeout,
        default_queue_timeout=queue_timeout,
        gpu_resource=data.get("gpuResource", "nvidia.com/gpu"),
        default_platform=default_platform,
        platforms=platforms,
        topology_labels={item["key"]: item["label"] for item in topology},
        topology_order=tuple(item["key"] for item in topology),
        storage=dict(data.get("storage") or {}),
        credentials=credentials,
        scheduler=dict(data.get("scheduler") or {"name": "none"}),
        reschedule_limit=int((data.get("retries") or {}).get("reschedule", 0)),
        helper_image=data.get("helperImage", "python:3.12-alpine"),
        kubectl_image=data.get("kubectlImage", "registry.k8s.io/kubectl:v1.33.0"),
        helper_placement=dict(data.get("helperPlacement") or {}),
        checkpoint_image=data.get("checkpointImage", "rclone/rclone:1.68.2"),
        max_templates=int(limits.get("maxTemplates", 200)),
        max_dag_tasks=int(limits.get("maxDagTasks", 200)),
        max_bytes=int(limits.get("maxBytes", 1048576)),
        max_tasks=limits.get("maxTasks"),
        barrier_timeout=int(data.get("barrierTimeoutSeconds", 1800)),
        source=file,
    )


def _quantity(value: Any, field: str, fail: Any) -> Fraction | None:
    try:
        return parse_quantity(str(value), field)
    except UnitError as exc:
        fail(str(exc), ("defaults", field))
        return None


def _duration(value: Any, path: tuple[str, ...], fail: Any) -> Fraction | None:
    if value is None:
        return None
    try:
        return parse_duration(str(value)) if not isinstance(value, (int, float)) else Fraction(value)
    except UnitError as exc:
        fail(str(exc), path)
        return None
