"""YAML 1.1's implicit types: what a plain scalar means to PyYAML, written down once.

OSMO reads specs with PyYAML, whose resolver (yaml/resolver.py) gives a plain (unquoted) scalar
the first of these types whose pattern it matches: bool, float, int, merge (`<<`), null,
timestamp, value (`=`), and `!`, `&` or `*` alone; anything else is a string. The reader
(`fast_yaml`) uses this to decide what a plain scalar is, and the writer (`yaml_writer`) to
decide when a string must be quoted to stay a string. Neither may import PyYAML (its import is
a quarter of a small compile), so the patterns are here; `tests/test_yaml11.py` checks them
against PyYAML's resolver.

The patterns end in `\\Z` where PyYAML's end in `$`: they differ only for text ending in a line
break, which no plain scalar does and which the writer never writes plain.
"""

from __future__ import annotations

import re

BOOL = "bool"
FLOAT = "float"
INT = "int"
MERGE = "merge"
NULL = "null"
TIMESTAMP = "timestamp"
VALUE = "value"
YAML = "yaml"

# In PyYAML's order: for text that two patterns match, the earlier one wins. The first character
# decides which patterns PyYAML tries at all, and every pattern here starts with one of the
# characters PyYAML registers it for, so one alternation gives the same answer.
_IMPLICIT = re.compile(
    r"""
    (?P<bool>yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\Z
    |(?P<float>(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))\Z)
    |(?P<int>(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+
        |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\Z)
    |(?P<merge><<\Z)
    |(?P<null>(?:~|null|Null|NULL|)\Z)
    |(?P<timestamp>(?:[0-9]{4}-[0-9]{2}-[0-9]{2}
        |[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[\ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?
         (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9]{2})?))?)\Z)
    |(?P<value>=\Z)
    |(?P<yaml>[!&*]\Z)
    """,
    re.VERBOSE,
)


def implicit_type(text: str) -> str | None:
    """The YAML 1.1 type PyYAML gives `text` written as a plain scalar; None for a string."""
    match = _IMPLICIT.match(text)
    return match.lastgroup if match else None
