"""A fast yes/no check of data against our JSON Schemas, so valid specs never import jsonschema.

Valid input is the common case, and `jsonschema` costs more to import than the rest of the
compiler and walks a 1,000-task spec for hundreds of milliseconds. This module compiles a schema
once into nested Python closures that answer only "valid or not"; when the answer is "not",
`schema.check` runs the real jsonschema validator to find and explain every error. It covers the
keywords our schemas use and refuses a schema that uses any other, so it cannot silently accept
what jsonschema would reject; `tests/test_fastcheck.py` compares both verdicts on the corpus and
on generated documents. The closures are kept flat (a type test by the value's exact type, no
generator per check) because they run on every node of every spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

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
# The exact Python types of loaded YAML that each JSON type accepts outright.
_EXACT: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
    "null": frozenset({type(None)}),
}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this checker does not implement."""


def compile_schema(root: dict[str, Any]) -> Check:
    done: dict[str, Check] = {}
    building: set[str] = set()

    def ref(pointer: str) -> Check:
        if pointer in done:
            return done[pointer]
        if pointer in building:  # a reference to itself, through others: bind it when it is built

            def late(v: Any) -> bool:
                return done[pointer](v)

            return late
        building.add(pointer)
        node: Any = root
        for part in pointer.removeprefix("#/").split("/"):
            node = node[part]
        done[pointer] = build(node)
        return done[pointer]

    def build(schema: Any) -> Check:
        if schema is True or schema == {}:
            return _always
        if schema is False:
            return _never
        unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
        if unknown:
            raise UnsupportedSchema(f"unsupported keywords {sorted(unknown)}")
        checks: list[Check] = []
        if "type" in schema:
            checks.append(_type_check([schema["type"]] if isinstance(schema["type"], str) else schema["type"]))
        if "$ref" in schema:
            checks.append(ref(schema["$ref"]))
        if "enum" in schema:
            allowed = schema["enum"]
            checks.append(lambda v: any(_equal(v, a) for a in allowed))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda v: _equal(v, constant))
        if "pattern" in schema:
            search = re.compile(schema["pattern"]).search
            checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
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
        if properties or extra is not True:
            extra_check = extra if extra is False else None if extra is True else build(extra)
            checks.append(_objects(properties, extra_check))
        if "propertyNames" in schema:
            names_check = build(schema["propertyNames"])
            checks.append(lambda v: not isinstance(v, dict) or all(names_check(k) for k in v))
        if "items" in schema:
            checks.append(_items(build(schema["items"])))
        if "anyOf" in schema:
            options = [build(s) for s in schema["anyOf"]]
            checks.append(lambda v: any(o(v) for o in options))
        if "oneOf" in schema:
            options = [build(s) for s in schema["oneOf"]]
            checks.append(lambda v: sum(1 for o in options if o(v)) == 1)
        return _all(checks)

    return build(root)


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _type_check(names: list[str]) -> Check:
    exact = frozenset().union(*(_EXACT[name] for name in names))
    tests = [_TYPES[name] for name in names]

    def check(v: Any) -> bool:  # the exact type decides almost always; subclasses and 1.0 for integers ask on
        return type(v) in exact or any(test(v) for test in tests)

    return check


def _objects(properties: dict[str, Check], extra: Check | Literal[False] | None) -> Check:
    """`properties` and `additionalProperties` (False, a check, or None for anything)."""

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, value in v.items():
            known = properties.get(key)
            if known is not None:
                if not known(value):
                    return False
            elif extra is False or (extra is not None and not extra(value)):
                return False
        return True

    return check


def _items(item: Check) -> Check:
    def check(v: Any) -> bool:
        if isinstance(v, list):
            for element in v:
                if not item(element):
                    return False
        return True

    return check


def _all(checks: list[Check]) -> Check:
    """One check that passes when all of `checks` pass, in order (cheapest first)."""
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def check(v: Any) -> bool:
        for one in checks:  # noqa: SIM110 - a loop costs less than all() over a generator
            if not one(v):
                return False
        return True

    return check


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
