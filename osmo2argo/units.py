"""OSMO's units: memory and storage quantities, and durations.

Quantities (`src/lib/utils/resource_quantities.py`): a number and an optional unit; every unit is
a binary power (`G` is `Gi`, `T` is `Ti`), `m` is 2^-10 bytes, and a bare number is bytes.
Durations (`src/lib/utils/common.py::to_timedelta`): an ISO 8601 duration, or `<int><unit>` with
unit d, h, m, s, ms or us, the integer read with Python's `int()` (so `1.5h` and `1h30m` fail).
"""

from __future__ import annotations

import re
from fractions import Fraction

QUANTITY_RE = re.compile(r"(?P<size>(\d+(?:\.\d+)?))(?P<unit>([a-zA-Z]*))")
# Binary shifts relative to bytes (OSMO stores them relative to Gi).
UNIT_SHIFTS = {
    "T": 40, "Ti": 40, "TiB": 40,
    "G": 30, "Gi": 30, "GiB": 30,
    "M": 20, "Mi": 20, "MiB": 20,
    "K": 10, "Ki": 10, "KiB": 10,
    "B": 0,
    "m": -10,
}  # fmt: skip
_ISO8601_RE = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_UNIT_SECONDS: dict[str, Fraction] = {
    "d": Fraction(86400),
    "h": Fraction(3600),
    "m": Fraction(60),
    "s": Fraction(1),
    "ms": Fraction(1, 1000),
    "us": Fraction(1, 1000000),
}


class UnitError(ValueError):
    """A value that OSMO's own parser would refuse; the message is OSMO's."""


def parse_quantity(text: str, field: str) -> Fraction:
    """Bytes of an OSMO memory/storage value (exact, possibly fractional for `m`)."""
    match = QUANTITY_RE.fullmatch(text)
    if not match:
        raise UnitError(f"Resource {field} field has invalid value {text}")
    unit = match.group("unit")
    if unit and unit not in UNIT_SHIFTS:
        raise UnitError(f"Resource {field} field has invalid unit: {unit}")
    return Fraction(match.group("size")) * Fraction(2) ** UNIT_SHIFTS[unit or "B"]


def format_bytes(value: int) -> str:
    """A Kubernetes quantity for `value` bytes, in the largest binary unit that is exact."""
    for suffix, shift in (("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if value and value % (1 << shift) == 0:
            return f"{value >> shift}{suffix}"
    return str(value)


def parse_duration(text: str) -> Fraction:
    """Seconds of an OSMO duration string (OSMO's `to_timedelta`)."""
    error = f"Cannot recognize duration: {text}. Only support ISO 8601 (e.g. PT10S) or xd, xh, xm, xs, xms, xus"
    if text.startswith("P"):
        match = _ISO8601_RE.match(text)
        if not match or not any(match.group(i) for i in range(1, 5)):
            raise UnitError(error)
        days, hours, minutes = (int(match.group(i) or 0) for i in (1, 2, 3))
        seconds = Fraction(match.group(4) or 0)
        return days * 86400 + hours * 3600 + minutes * 60 + seconds
    if len(text) >= 3 and text[-2:] in ("ms", "us"):
        number, unit = text[:-2], text[-2:]
    else:
        number, unit = text[:-1], text[-1:]
    try:
        value = int(number)
    except ValueError:
        raise UnitError(error) from None
    if unit not in _UNIT_SECONDS:
        raise UnitError(error)
    return value * _UNIT_SECONDS[unit]
