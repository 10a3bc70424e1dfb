"""OSMO's special tokens inside user text.

After validation OSMO substitutes, per task, `{{[ ]*<key>[ ]*}}` for each key it knows
(`TaskSpec.parse`, `TaskGroupSpec.parse`): `output`, `workflow_id`, `input:<index>`,
`input:<task name>` and `host:<task of the same group>`. `{{uuid}}` is protected from Jinja but
never substituted, so it stays literal. Anything else in braces is the user's text.
"""

from __future__ import annotations

import re

TOKEN_RE = re.compile(r"\{\{ *(output|workflow_id|input:[A-Za-z0-9_-]+|host:[A-Za-z0-9_-]+) *\}\}")


def split_tokens(text: str) -> list[tuple[str, str | None]]:
    """`text` as (literal, None) and (raw token text, key) pieces, in order."""
    pieces: list[tuple[str, str | None]] = []
    position = 0
    for match in TOKEN_RE.finditer(text):
        if match.start() > position:
            pieces.append((text[position : match.start()], None))
        pieces.append((match.group(0), match.group(1)))
        position = match.end()
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces
