"""Argo's hard limits: 200 templates, 200 tasks per DAG, 1 MiB of workflow JSON."""

from __future__ import annotations

import json

from . import model
from .context import Context


def fit(ctx: Context, manifest: model.Workflow) -> model.Workflow:
    size = len(json.dumps(manifest, separators=(",", ":")).encode("utf-8"))
    if size > ctx.target.max_bytes:
        ctx.error(
            "E450",
            f"the manifest is {size:,} bytes of JSON; Argo refuses workflows over {ctx.target.max_bytes:,} bytes",
            ctx.workflow.span,
        )
    return manifest
