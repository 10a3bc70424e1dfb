"""The spec's JSON Schema: loading it, and turning its errors into diagnostics with spans.

The schema (`schema/osmo-workflow.schema.json`) checks structure and types the way OSMO's
pydantic models do, including their lax coercions (numbers accepted as text, "yes" as a boolean).
Semantic rules (names unique after normalisation, references, units) are `frontend`'s.

Errors are reported one per problem, at the most precise node: for a `oneOf` (the input and
output kinds) the branch the user evidently meant is chosen by its discriminating key, and only
that branch's errors are shown.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import fastcheck
from .errors import Diagnostic
from .source import Document, NodeInfo, json_path

if TYPE_CHECKING:  # jsonschema is imported only to explain an invalid document
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_PACKAGE_SCHEMA_DIR = "schema"


def schema_text(name: str) -> str:
    """The text of a packaged schema (`osmo-workflow` or `target`)."""
    # Plain os.path, not importlib.resources: this runs on every start-up, and importlib.resources
    # pulls in pathlib, zipfile and tempfile (a tenth of `validate`'s time).
    filename = f"{name}.schema.json"
    here = os.path.dirname(os.path.abspath(__file__))
    packaged = os.path.join(here, _PACKAGE_SCHEMA_DIR, filename)
    if not os.path.isfile(packaged):
        # An editable install or a source checkout: the schema sits at the top of the repository.
        packaged = os.path.join(os.path.dirname(here), "schema", filename)
    with open(packaged, encoding="utf-8") as handle:
        return handle.read()


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


@functools.cache
def validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@functools.cache
def quick_check(name: str) -> fastcheck.Check:
    return fastcheck.compile_schema(load_schema(name))


def check(document: Document, name: str = "osmo-workflow", code_prefix: str = "E2") -> list[Diagnostic]:
    """Every schema problem of `document`, as diagnostics (codes E201-E209 by default)."""
    if quick_check(name)(document.data):
        return []
    diagnostics: list[Diagnostic] = []
    for error in _leaf_errors(validator(name).iter_errors(document.data), document.data):
        diagnostics.append(_diagnostic(error, document, code_prefix))
    # One diagnostic per (path, code, message): oneOf branches can repeat themselves.
    unique = {(d.path, d.code, d.message): d for d in diagnostics}
    return list(unique.values())


def _leaf_errors(errors: Iterator[ValidationError], root: Any) -> Iterator[ValidationError]:
    for error in errors:
        if error.validator in ("oneOf", "anyOf") and error.context:
            chosen = _chosen_branch(error)
            if chosen is not None:
                yield from _leaf_errors(iter(chosen), root)
                continue
        yield error


def _chosen_branch(error: ValidationError) -> list[ValidationError] | None:
    """The errors of the branch the instance evidently meant, or None if no branch fits."""
    branches: dict[int, list[ValidationError]] = {}
    options: Any
    for sub in error.context or []:
        branches.setdefault(int(sub.schema_path[0]), []).append(sub)
    options = error.schema.get(error.validator) if isinstance(error.schema, dict) else None
    instance = error.instance
    if isinstance(options, list) and isinstance(instance, dict):
        discriminators = [o["required"][0] for o in options if isinstance(o, dict) and o.get("required")]
        if sum(1 for key in discriminators if key in instance) > 1:
            return None  # several kinds at once: reported as one "not any of" error
        for index, option in enumerate(options):
            required = option.get("required") if isinstance(option, dict) else None
            if required and required[0] in instance and index in branches:
                return branches[index]
    if error.validator == "anyOf" and branches:
        # Scalars with several accepted shapes (bool, count): the first branch names the type.
        return None
    return None


def _diagnostic(error: ValidationError, document: Document, code_prefix: str) -> Diagnostic:
    path = tuple(error.absolute_path)
    info = document.info(path)
    span = info.span if info else None
    kind = error.validator
    value: Any = error.validator_value
    message = error.message
    hint: str | None = None
    code = f"{code_prefix}01"
    where = _describe(path)
    if kind == "type" or (kind in ("anyOf", "oneOf") and not isinstance(error.instance, (dict, list))):
        code = f"{code_prefix}01"
        message, hint = _type_message(error, info, where)
    elif kind == "required":
        code = f"{code_prefix}02"
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        message = f"{where} is missing the required field '{missing}'"
    elif kind == "additionalProperties":
        code = f"{code_prefix}03"
        extras = _extras(error)
        known = sorted((error.schema.get("properties") or {}).keys()) if isinstance(error.schema, dict) else []
        if extras:
            extra = extras[0]
            path = path + (extra,)
            child = document.node(path)
            if child and child.key_span:
                span = child.key_span
            message = f"{where} has an unknown field '{extra}'"
            import difflib  # error path only

            close = difflib.get_close_matches(extra, known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(known)}"
    elif kind == "enum":
        code = f"{code_prefix}04"
        allowed = ", ".join(repr(v) for v in value if v is not None)
        message = f"{where} is {error.instance!r}; it must be one of {allowed}"
    elif kind in ("pattern", "propertyNames"):
        code = f"{code_prefix}05"
        custom = _custom_message(error)
        bad = error.instance
        if "propertyNames" in error.relative_schema_path:
            message = f"{where} has the key {bad!r}, which {custom or 'is not allowed'}"
            key_info = document.node(path + (str(bad),))
            if key_info is not None and key_info.key_span is not None:
                span = key_info.key_span
            if isinstance(bad, str) and bad.upper() == "RESTART":
                hint = "RESTART appears in OSMO's lifecycle docs but OSMO's validator rejects it; use RESCHEDULE"
        else:
            message = f"{where} is {bad!r}; it {custom or 'does not match ' + repr(error.validator_value)}"
    elif kind in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
        code = f"{code_prefix}06"
        message = f"{where}: {error.message}"
    elif kind in ("oneOf", "anyOf"):
        code = f"{code_prefix}07"
        titles = [str(o["title"]) for o in value if isinstance(o, dict) and o.get("title")]
        keys = sorted(error.instance) if isinstance(error.instance, dict) else []
        firsts = [o["required"][0] for o in value if isinstance(o, dict) and o.get("required")]
        given = [k for k in firsts if k in keys]
        if len(given) > 1:
            message = f"{where} gives {' and '.join(repr(k) for k in given)}; it must be exactly one kind"
        else:
            message = f"{where} is not any of: {', '.join(titles)}" + (f" (it has {', '.join(keys)})" if keys else "")
        if firsts:
            hint = "give exactly one of: " + ", ".join(firsts)
    elif kind == "const":
        code = f"{code_prefix}08"
        message = f"{where} must be {error.validator_value!r}"
    else:
        code = f"{code_prefix}09"
        message = f"{where}: {error.message}"
    return Diagnostic(code, message, span, json_path(path), hint=hint)


def _describe(path: tuple[Any, ...]) -> str:
    if not path:
        return "the document"
    return json_path(path)[2:] if len(path) > 0 else "the document"


def _extras(error: ValidationError) -> list[str]:
    instance = error.instance
    if not isinstance(instance, dict) or not isinstance(error.schema, dict):
        return []
    props = error.schema.get("properties") or {}
    return sorted(k for k in instance if k not in props)


def _custom_message(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    message = schema.get("x-osmo-message")
    return message if isinstance(message, str) else None


_YAML_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
    dict: "a mapping",
    list: "a list",
    str: "a string",
}


def _expected(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    value: Any = error.validator_value
    if error.validator in ("anyOf", "oneOf"):
        first = value[0] if value else {}
        types = first.get("type") if isinstance(first, dict) else None
    else:
        types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    names = {
        "string": "a string",
        "number": "a number",
        "integer": "an integer",
        "boolean": "true or false",
        "object": "a mapping",
        "array": "a list",
        "null": "empty",
    }
    listed = [names.get(t, t) for t in types or []]
    if not listed:
        return "another kind of value"
    return " or ".join(listed)


def _type_message(error: ValidationError, info: NodeInfo | None, where: str) -> tuple[str, str | None]:
    value = error.instance
    got = _YAML_TYPE_NAMES.get(type(value), f"a {type(value).__name__}")
    expected = _expected(error)
    raw = info.raw if info else None
    wants_text = "a string" in expected
    if wants_text and raw is not None and info is not None and info.plain and not isinstance(value, str):
        message = f"{where} is {got}, expected {expected}: `{raw}` was read as {got}"
        hint = None
        if isinstance(value, bool):
            hint = f'YAML 1.1 (which OSMO uses) reads `{raw}` as a boolean; quote it: "{raw}"'
        elif value is None:
            hint = f'`{raw}` is YAML for null; quote it: "{raw}"'
        elif isinstance(value, (int, float)):
            hint = f'quote it to keep it as text: "{raw}"'
        else:
            hint = f'quote it: "{raw}"'
        return message, hint
    shown = (
        repr(value) if not isinstance(value, (dict, list)) else ("a mapping" if isinstance(value, dict) else "a list")
    )
    return f"{where} is {shown}, expected {expected}", None
