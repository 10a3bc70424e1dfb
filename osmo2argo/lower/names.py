"""Argo and Kubernetes names from OSMO names: deterministic, short enough, and never colliding.

OSMO names are `[a-zA-Z][a-zA-Z0-9_-]*` (ending in a letter or digit), at most 64 characters, and
unique after OSMO's own normalisation (lower case, `_` is `-`). That normalisation is therefore a
collision-free map into Argo's template and task names (`^[a-zA-Z0-9][-a-zA-Z0-9]*$`, at most
128). Kubernetes labels and hostnames allow only 63 characters: longer names keep a readable head
and end in a hash of the full name, so they stay unique (`shorten`).
"""

from __future__ import annotations

import re

ARGO_NAME_MAX = 128
LABEL_VALUE_MAX = 63
DNS_LABEL_MAX = 63
GENERATE_NAME_MAX = 57  # Kubernetes cuts generateName to 58 characters, and the name is at most 63
_LABEL_VALUE_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def normal(name: str) -> str:
    """OSMO's normalisation: lower case, `_` → `-` (collision-free among a workflow's names)."""
    return name.lower().replace("_", "-")


def digest(text: str, length: int = 8) -> str:
    import hashlib  # only long names need it, and it loads OpenSSL: 4 ms of every start-up

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def shorten(name: str, limit: int, salt: str | None = None) -> str:
    """`name` if it fits `limit`, else a head of it plus `-<hash of the whole name>`."""
    if len(name) <= limit:
        return name
    tail = digest(salt if salt is not None else name)
    head = name[: limit - len(tail) - 1].rstrip("-._")
    return f"{head}-{tail}"


def dns_label(name: str) -> str:
    """A DNS-1123 label (hostnames, Service names): lower case alphanumerics and '-', at most 63."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "x"
    if not cleaned[0].isalpha():
        cleaned = "x" + cleaned
    return shorten(cleaned, DNS_LABEL_MAX, salt=name).rstrip("-")


def label_value(value: str) -> str:
    """A Kubernetes label value that stands for `value` (exact when it is already valid)."""
    if len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE_RE.fullmatch(value):
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("-_.") or "x"
    return shorten(cleaned, LABEL_VALUE_MAX, salt=value).strip("-_.")


def free_name(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... : the first that no OSMO-derived name in `taken` uses."""
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def generate_name(workflow_name: str) -> str:
    """`metadata.generateName` for an OSMO workflow name: DNS-safe, ending in '-'."""
    return shorten(normal(workflow_name), GENERATE_NAME_MAX, salt=workflow_name).rstrip("-") + "-"


def workflow_template_name(workflow_name: str) -> str:
    return shorten(normal(workflow_name), DNS_LABEL_MAX, salt=workflow_name).rstrip("-")
