"""A fast yes/no check of data against our JSON Schemas, so valid specs never import jsonschema.

Valid input is the common case, and `jsonschema` costs more to import than the rest of the
compiler and walks a 1,000-task spec for hundreds of milliseconds. This module compiles a schema
once into nested Python closures that answer only "valid or not"; when the answer is "not",
`schema.check` runs the real jsonschema validator to find and explain every error. It covers the
keywords our schemas use and refuses a schema that uses any other, so it cannot silently accept
what jsonschema would reject; tests compare both on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "default", "x-osmo-message", "examples"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this checker does not implement."""


def compile_schema(root: dict[str, Any]) -> Check:
    cache: dict[str, Check] = {}

    def ref(pointer: str) -> Check:
        if pointer not in cache:
            target: Check = lambda v: True  # noqa: E731 - replaced below; a reference may recurse

            def late(v: Any) -> bool:
                return target(v)

            cache[pointer] = late
            node: Any = root
            for part in pointer.removeprefix("#/").split("/"):
                node = node[part]
            target = build(node)
            cache[pointer] = target
        return cache[pointer]

    def build(schema: Any) -> Check:
        if schema is True or schema == {}:
            return lambda v: True
        if schema is False:
            return lambda v: False
        unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
        if unknown:
            raise UnsupportedSchema(f"unsupported keywords {sorted(unknown)}")
        checks: list[Check] = []
        if "$ref" in schema:
            resolved = ref(schema["$ref"])
            checks.append(resolved)
        if "type" in schema:
            names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
            tests = [_TYPES[n] for n in names]
            checks.append(lambda v: any(t(v) for t in tests))
        if "enum" in schema:
            allowed = schema["enum"]
            checks.append(lambda v: any(_equal(v, a) for a in allowed))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda v: _equal(v, constant))
        if "pattern" in schema:
            pattern = re.compile(schema["pattern"])
            checks.append(lambda v: not isinstance(v, str) or pattern.search(v) is not None)
        if "multipleOf" in schema:
            step = schema["multipleOf"]
            checks.append(lambda v: not _TYPES["number"](v) or (v / step).is_integer())
        if "minimum" in schema:
            low = schema["minimum"]
            checks.append(lambda v: not _TYPES["number"](v) or v >= low)
        if "required" in schema:
            required = schema["required"]
            checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
        properties = {k: build(s) for k, s in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = build(extra) if isinstance(extra, dict) else None
        if properties or extra is not True:

            def objects(v: Any) -> bool:
                if not isinstance(v, dict):
                    return True
                for key, value in v.items():
                    check = properties.get(key)
                    if check is not None:
                        if not check(value):
                            return False
                    elif extra is False or (extra_check is not None and not extra_check(value)):
                        return False
                return True

            checks.append(objects)
        if "propertyNames" in schema:
            names_check = build(schema["propertyNames"])
            checks.append(lambda v: not isinstance(v, dict) or all(names_check(k) for k in v))
        if "items" in schema:
            item = build(schema["items"])
            checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
        if "anyOf" in schema:
            options = [build(s) for s in schema["anyOf"]]
            checks.append(lambda v: any(o(v) for o in options))
        if "oneOf" in schema:
            options = [build(s) for s in schema["oneOf"]]
            checks.append(lambda v: sum(1 for o in options if o(v)) == 1)
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    return build(root)


_KEYWORDS = {
    "$ref",
    "type",
    "enum",
    "const",
    "pattern",
    "multipleOf",
    "minimum",
    "required",
    "properties",
    "additionalProperties",
    "propertyNames",
    "items",
    "anyOf",
    "oneOf",
}


def _equal(value: Any, expected: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    return bool(value == expected)
