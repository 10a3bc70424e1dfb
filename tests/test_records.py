"""Records (`osmo2argo.records`): NamedTuples that compare and hash as their own type only."""

from __future__ import annotations

import pickle

import pytest

from osmo2argo import ir
from osmo2argo.errors import Diagnostic, Span
from osmo2argo.lower.filters import InputFix


def same(left: object, right: object) -> bool:
    """`==` and `!=` agree, whichever side is on the left."""
    equal = {left == right, right == left}
    unequal = {left != right, right != left}
    assert len(equal) == len(unequal) == 1 and equal != unequal, f"{left!r}, {right!r}: inconsistent"
    return equal.pop()


def test_records_of_different_types_with_equal_values_differ() -> None:
    assert not same(ir.SecretDir("cred", "/dir"), ir.HostMount("cred", "/dir"))
    assert not same(ir.DatasetRef(None, "name", None), InputFix(None, "name", None))  # type: ignore[arg-type]
    assert len({ir.SecretDir("cred", "/dir"), ir.HostMount("cred", "/dir")}) == 2


def test_a_record_is_not_a_plain_tuple() -> None:
    span = Span("a.yaml", 1, 2)
    assert not same(span, ("a.yaml", 1, 2, None))
    assert not same(span, "a.yaml")
    assert hash(span) != hash(("a.yaml", 1, 2, None))


def test_equal_records_of_one_type_are_equal_and_hash_alike() -> None:
    one = Diagnostic("E301", "bad", Span("a.yaml", 1, 2), "$.x", hint="fix it")
    two = Diagnostic("E301", "bad", Span("a.yaml", 1, 2), "$.x", hint="fix it")
    assert same(one, two)
    assert hash(one) == hash(two)
    assert len({one, two}) == 1
    assert not same(one, one._replace(hint=None))
    assert same(pickle.loads(pickle.dumps(one)), one)  # noqa: S301 - our own data


def test_records_are_immutable() -> None:
    span = Span("a.yaml", 1, 2)
    with pytest.raises(AttributeError):
        span.line = 3  # type: ignore[misc]
    assert ir.Token(ir.TokenKind.INPUT, 2).index == 2  # the field, not tuple.index


def test_every_named_tuple_of_the_compiler_is_typed() -> None:
    import importlib
    import pkgutil

    import osmo2argo

    found = []
    for module_info in pkgutil.walk_packages(osmo2argo.__path__, "osmo2argo."):
        if module_info.name in ("osmo2argo.submit", "osmo2argo.hera_bridge"):  # need kubernetes / hera
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, tuple) and value.__module__ == module.__name__:
                found.append(value)
                assert value.__eq__ is not tuple.__eq__, f"{value.__qualname__} lacks @records.typed_equality"
                assert value.__hash__ is not tuple.__hash__, f"{value.__qualname__} lacks @records.typed_equality"
    assert len(found) >= 35
