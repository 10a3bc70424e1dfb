"""The front half of the pipeline: text → rendered document → schema → IR.

`check_spec` is what `validate` runs and what `compile` starts with. It stops after the first
stage that reports an error and raises one CompileError with every diagnostic of that stage
(and the warnings of the stages before), with template positions mapped back to the source.
"""

from __future__ import annotations

from typing import NamedTuple

from . import frontend, gc_pause, ir, records, schema
from .errors import CompileError, Diagnostic, promote_warnings
from .template import FileReader, SourceMap, Variables, inline_localpaths, parse_env, read_local_file, render_workflow


@records.typed_equality
class Checked(NamedTuple):
    """A valid spec: its IR and the warnings found on the way."""

    workflow: ir.Workflow
    warnings: list[Diagnostic]
    source_map: SourceMap


@gc_pause.paused()
def check_spec(
    text: str,
    file: str,
    variables: Variables | None = None,
    *,
    spec_path: str | None = None,
    read: FileReader = read_local_file,
    strict: bool = False,
    files_root: str | None = None,
) -> Checked:
    """Validate an OSMO spec; raise CompileError listing every problem of the failing stage.

    `files_root` is the directory `files[].localpath` must stay inside (default: the spec's).
    """
    variables = variables or Variables()
    rendered = render_workflow(text, file, variables)
    source_map = rendered.source_map
    warnings = list(rendered.warnings)

    def fail(diagnostics: list[Diagnostic]) -> CompileError:
        return CompileError(source_map.remap_all([*warnings, *diagnostics]))

    localpath_problems = inline_localpaths(rendered.document, spec_path or file, read, files_root)
    schema_problems = schema.check(rendered.document)
    if localpath_problems or schema_problems:
        raise fail(localpath_problems + schema_problems)
    set_env, env_problems = parse_env(variables.set_env)
    if env_problems:
        raise fail(env_problems)
    try:
        workflow, semantic_warnings = frontend.build(rendered.document, frontend.Options(set_env=set_env))
    except CompileError as exc:
        raise fail(list(exc.diagnostics)) from None
    warnings += semantic_warnings
    warnings = source_map.remap_all(warnings)
    if strict and warnings:
        raise CompileError(promote_warnings(warnings))
    return Checked(workflow, warnings, source_map)
