"""OSMO checkpoints: upload a directory periodically while the task runs, and once at the end.

OSMO's runtime (`user.go`) waits `frequency` between the end of one upload and the start of the
next and uploads a last time when the command ends. On Argo a sidecar does the same with rclone:
the checkpoint directory is an emptyDir shared with the task's container; the sidecar copies it
to the URL every `frequency`, and once more when Argo stops it after the task's container ends
(SIGTERM, within the pod's termination grace period). A `regex` becomes an rclone include rule
`/{{(?:regex).*}}`, the prefix match of Python's `re.match` on the relative path, which needs a
regex that Go's RE2 understands (no look-arounds or back-references).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from .. import ir
from . import data, model
from .context import Context

_RE2_UNSUPPORTED = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]|\(\?P=|\(\?\(")

# $1 seconds between uploads, $2 local directory, $3 rclone destination, $4 base64 include rule.
_SCRIPT = """\
set -u
seconds=$1; source=$2; target=$3; include=$(printf %s "$4" | base64 -d)
upload() {
  if [ -n "$include" ]; then
    rclone copy "$source" "$target" --include "$include"
  else
    rclone copy "$source" "$target"
  fi
}
trap 'upload; exit 0' TERM INT
while true; do
  sleep "$seconds" & wait $!
  upload
done
"""


def sidecars(
    ctx: Context, task: ir.Task, render: Any, volumes: list[dict[str, Any]], mounts: list[model.VolumeMount]
) -> list[model.Container]:
    """A checkpoint sidecar per checkpoint entry; adds the shared volumes."""
    out: list[model.Container] = []
    for index, checkpoint in enumerate(task.checkpoints):
        url = render(checkpoint.url)
        remote = _remote(ctx, url, checkpoint.span)
        if remote is None:
            continue
        env, destination = remote
        include = ""
        if checkpoint.regex:
            if _RE2_UNSUPPORTED.search(checkpoint.regex):
                ctx.error(
                    "E453",
                    f"checkpoint regex {checkpoint.regex!r} uses look-arounds or back-references, "
                    "which the checkpoint uploader (rclone, Go RE2) cannot apply",
                    checkpoint.span,
                )
                continue
            include = "/{{(?:" + checkpoint.regex + ").*}}"
        volume = f"osmo-checkpoint-{index}"
        volumes.append({"name": volume, "emptyDir": {}})
        mounts.append({"name": volume, "mountPath": checkpoint.path})
        seconds = max(1, int(checkpoint.frequency))
        out.append(
            {
                "name": f"osmo-checkpoint-{index}",
                "image": ctx.target.checkpoint_image,
                "command": [
                    "sh",
                    "-c",
                    _SCRIPT,
                    "checkpoint",
                    str(seconds),
                    checkpoint.path,
                    destination,
                    base64.b64encode(include.encode("utf-8")).decode("ascii"),
                ],
                "env": env,
                "volumeMounts": [{"name": volume, "mountPath": checkpoint.path}],
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
            }
        )
        ctx.warn(
            "W450",
            f"checkpoint {index} of task {task.name!r}: {checkpoint.path} becomes an empty shared "
            "directory, and the final upload must finish within the pod's termination grace period",
            checkpoint.span,
            hint="write checkpoints into a fresh directory; keep the last one small",
        )
    return out


def _remote(ctx: Context, url: str, span: Any) -> tuple[list[model.EnvVar], str] | None:
    location = data.url_location(ctx, url, span)
    if location is None:
        return None
    fields = location.fields
    env: list[model.EnvVar] = []

    def secret(name: str, ref: dict[str, str]) -> None:
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": ref["name"], "key": ref["key"]}}})

    if location.kind == "s3":
        env.append({"name": "RCLONE_CONFIG_OSMO_TYPE", "value": "s3"})
        provider = "AWS" if str(fields.get("endpoint", "")).endswith("amazonaws.com") else "Other"
        env.append({"name": "RCLONE_CONFIG_OSMO_PROVIDER", "value": provider})
        if "endpoint" in fields:
            scheme = "http" if fields.get("insecure") else "https"
            env.append({"name": "RCLONE_CONFIG_OSMO_ENDPOINT", "value": f"{scheme}://{fields['endpoint']}"})
        if "region" in fields:
            env.append({"name": "RCLONE_CONFIG_OSMO_REGION", "value": str(fields["region"])})
        if "accessKeySecret" in fields:
            secret("RCLONE_CONFIG_OSMO_ACCESS_KEY_ID", fields["accessKeySecret"])
            secret("RCLONE_CONFIG_OSMO_SECRET_ACCESS_KEY", fields["secretKeySecret"])
        else:
            env.append({"name": "RCLONE_CONFIG_OSMO_ENV_AUTH", "value": "true"})
        return env, f"osmo:{fields['bucket']}/{fields['key']}"
    if location.kind == "gcs":
        env.append({"name": "RCLONE_CONFIG_OSMO_TYPE", "value": "google cloud storage"})
        if "serviceAccountKeySecret" in fields:
            secret("RCLONE_CONFIG_OSMO_SERVICE_ACCOUNT_CREDENTIALS", fields["serviceAccountKeySecret"])
        else:
            env.append({"name": "RCLONE_CONFIG_OSMO_ENV_AUTH", "value": "true"})
        return env, f"osmo:{fields['bucket']}/{fields['key']}"
    env.append({"name": "RCLONE_CONFIG_OSMO_TYPE", "value": "azureblob"})
    account = str(fields["endpoint"]).split("//", 1)[-1].split(".", 1)[0]
    env.append({"name": "RCLONE_CONFIG_OSMO_ACCOUNT", "value": account})
    if "accountKeySecret" in fields:
        secret("RCLONE_CONFIG_OSMO_KEY", fields["accountKeySecret"])
    else:
        env.append({"name": "RCLONE_CONFIG_OSMO_ENV_AUTH", "value": "true"})
    return env, f"osmo:{fields['container']}/{fields['blob']}"
