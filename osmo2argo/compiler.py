"""The whole pipeline: spec text → validated IR → Argo manifest → YAML text."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from . import emit, gc_pause, records
from .errors import CompileError, Diagnostic, promote_warnings
from .lower import lower
from .pipeline import check_spec
from .target import Target, default_target
from .template import FileReader, Variables, read_local_file


@records.typed_equality
class Compiled(NamedTuple):
    """A compiled spec: the manifest as data and as YAML text, and the warnings."""

    manifest: dict[str, Any]
    text: str
    warnings: list[Diagnostic]


@gc_pause.paused()
def compile_spec(
    text: str,
    file: str,
    *,
    target: Target | None = None,
    variables: Variables | None = None,
    kind: str = "workflow",
    strict: bool = False,
    spec_path: str | None = None,
    read: FileReader = read_local_file,
    files_root: str | None = None,
) -> Compiled:
    """Compile OSMO spec text; raise CompileError with every problem of the failing stage."""
    checked = check_spec(text, file, variables, spec_path=spec_path, read=read, strict=strict, files_root=files_root)
    try:
        lowered = lower(checked.workflow, target or default_target(), kind)
    except CompileError as exc:
        raise CompileError(checked.source_map.remap_all([*checked.warnings, *exc.diagnostics])) from None
    warnings = [*checked.warnings, *checked.source_map.remap_all(lowered.warnings)]
    if strict and warnings:
        raise CompileError(promote_warnings(warnings))
    yaml_text = emit.to_yaml([lowered.manifest], source=os.path.basename(file))
    return Compiled(lowered.manifest, yaml_text, warnings)
