"""Data in and out of a task: OSMO inputs, outputs and datasets as Argo artifacts.

- `{{input:i}}` is `/osmo/data/input/<i>`, filled by an input artifact before the command starts.
- `{{output}}` is `/osmo/data/output`, an emptyDir uploaded after the command ends, whatever its
  exit code (Argo's wait container saves outputs of failed pods too, as OSMO's ctrl does).
- A task's output also goes to intermediate storage at `<prefix>/<workflow>/<task>` when a later
  group may read it or when the task has no outputs of its own (OSMO's `convert_to_pod_spec`
  rule), as a key-only, unarchived artifact of the cluster's artifact repository. Task inputs
  read that key, so `<workflow-id>:<task>` inputs of a later workflow find it too.
- URLs map to S3, GCS and Azure artifacts with the target's endpoint and credentials.
- `regex` filters use Python's `re.match` on each file's path relative to the location, as OSMO's
  data client does: inputs are filtered in the pod by an init container after Argo downloads
  them; outputs with a regex go through a filtering step (lower/filters.py).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .. import ir, records
from . import model
from .context import Context

INPUT_ROOT = ir.INPUT_ROOT
OUTPUT_PATH = ir.OUTPUT_PATH
_URL_RE = re.compile(r"^(?P<scheme>[a-z0-9]+)://(?P<rest>.*)$")


@records.typed_equality
class Location(NamedTuple):
    """A storage location as an Argo artifact location (one of s3/gcs/azure)."""

    kind: str  # "s3", "gcs" or "azure"
    fields: dict[str, Any]

    def artifact(self, name: str, path: str) -> model.Artifact:
        artifact: model.Artifact = {"name": name, "path": path}
        artifact[self.kind] = dict(self.fields)  # type: ignore[literal-required]
        return artifact


input_path = ir.input_path


def intermediate(ctx: Context, key: str) -> Location:
    """A key-only location in the workflow's artifact repository."""
    kind = str(ctx.target.storage.get("intermediateKind", "s3"))
    field = "blob" if kind == "azure" else "key"
    return Location(kind, {field: key})


def url_location(ctx: Context, url: str, span: Any) -> Location | None:
    """An s3://, gs:// or azure:// URL (or tos/swift where the target maps them) as a location."""
    match = _URL_RE.match(url)
    if match is None:
        return None
    scheme, rest = match.group("scheme"), match.group("rest")
    storage = ctx.target.storage
    if scheme in ("s3", "tos", "swift"):
        return _s3_location(ctx, scheme, rest, storage.get(scheme) or {}, url, span)
    if scheme == "gs":
        bucket, _, key = rest.partition("/")
        if not _has_key(ctx, key, url, span):
            return None
        fields: dict[str, Any] = {"bucket": bucket, "key": key.strip("/")}
        secret = (storage.get("gs") or {}).get("serviceAccountKeySecret")
        if secret:
            fields["serviceAccountKeySecret"] = dict(secret)
        return Location("gcs", fields)
    if scheme == "azure":
        account, _, rest_path = rest.partition("/")
        container, _, blob = rest_path.partition("/")
        if not _has_key(ctx, blob, url, span):
            return None
        config = storage.get("azure") or {}
        template = str(config.get("endpointTemplate", "https://{account}.blob.core.windows.net"))
        fields = {"endpoint": template.replace("{account}", account), "container": container, "blob": blob.strip("/")}
        if config.get("accountKeySecret"):
            fields["accountKeySecret"] = dict(config["accountKeySecret"])
        if config.get("useSDKCreds"):
            fields["useSDKCreds"] = True
        return Location("azure", fields)
    ctx.error("E420", f"{scheme}:// URLs are not supported on Argo", span)
    return None


# Without an endpoint Argo takes an S3 artifact for a key in the default artifact repository
# (`S3Artifact.HasLocation`), which would silently move the data to another bucket.
DEFAULT_S3_ENDPOINT = "s3.amazonaws.com"


def _s3_location(ctx: Context, scheme: str, rest: str, config: dict[str, Any], url: str, span: Any) -> Location | None:
    if scheme != "s3" and not config:
        ctx.error(
            "E420",
            f"{scheme}:// URLs are not supported by this target ({ctx.target.source})",
            span,
            hint=f"set storage.{scheme} (its S3-compatible API: credentials, and endpoint for swift) in the "
            "target profile",
        )
        return None
    endpoint = config.get("endpoint")
    if scheme == "s3":
        bucket, _, key = rest.partition("/")
        endpoint = endpoint or DEFAULT_S3_ENDPOINT
    elif scheme == "tos":  # tos://<endpoint>/<bucket>/<key>: TOS speaks S3 at that endpoint
        host, _, tail = rest.partition("/")
        bucket, _, key = tail.partition("/")
        if endpoint and endpoint != host:
            ctx.warn("W422", f"{url} names the endpoint {host}, but the target sends tos:// data to {endpoint}", span)
        endpoint = endpoint or host
    else:  # swift://<endpoint>/<account>/<bucket>/<key>: the target's S3 endpoint serves the account
        parts = rest.split("/", 3)
        bucket, key = parts[2], (parts[3] if len(parts) > 3 else "")
        if not endpoint:
            ctx.error(
                "E420",
                "swift:// URLs need storage.swift.endpoint (the S3 API of the Swift account) in the "
                f"target ({ctx.target.source})",
                span,
            )
            return None
        ctx.warn(
            "W422",
            f"{url}: the Swift endpoint {parts[0]} and account {parts[1]} are reached through "
            f"the target's S3 endpoint {endpoint}",
            span,
        )
    if not _has_key(ctx, key, url, span):
        return None
    fields: dict[str, Any] = {"endpoint": endpoint}
    for name in ("region", "insecure", "roleARN", "useSDKCreds"):
        if name in config:
            fields[name] = config[name]
    fields["bucket"] = bucket
    fields["key"] = key.strip("/")
    for name in ("accessKeySecret", "secretKeySecret", "sessionTokenSecret"):
        if name in config:
            fields[name] = dict(config[name])
    return Location("s3", fields)


def _has_key(ctx: Context, key: str, url: str, span: Any) -> bool:
    if key.strip("/"):
        return True
    ctx.error(
        "E422",
        f"{url} is the root of a bucket; Argo artifacts need a key (a path inside the bucket)",
        span,
        hint="add a path, e.g. s3://bucket/data/",
    )
    return False


def dataset_location(ctx: Context, dataset: ir.DatasetRef, version: str, span: Any) -> Location | None:
    """`<datasets url>/<bucket>/<name>/<version>` in the target's dataset storage."""
    config = ctx.target.storage.get("datasets")
    if not config or not config.get("url"):
        ctx.error(
            "E421",
            f"dataset {dataset} needs dataset storage, and the target ({ctx.target.source}) has none",
            span,
            hint="set storage.datasets.url (e.g. s3://bucket/datasets) in the target profile",
        )
        return None
    bucket = dataset.bucket or str(config.get("defaultBucket", "default"))
    base = str(config["url"]).rstrip("/")
    return url_location(ctx, f"{base}/{bucket}/{dataset.name}/{version}", span)


def unarchived(artifact: model.Artifact) -> model.Artifact:
    """Directories move as their files (no tarball), as OSMO stores them."""
    artifact["archive"] = {"none": {}}
    return artifact
