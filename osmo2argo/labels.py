"""Kubernetes label rules as OSMO applies them to workflow labels (workflow_labels.py)."""

from __future__ import annotations

import re

LABEL_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
DNS_PREFIX_RE = re.compile(rf"^(?=.{{1,253}}$){_DNS_LABEL}(?:\.{_DNS_LABEL})*$")


def key_problem(key: str) -> str | None:
    """OSMO's message for an invalid label key, or None if the key is valid."""
    parts = key.split("/")
    if len(parts) > 2:
        return f'Workflow label key "{key}" is not a valid Kubernetes label key.'
    prefix, name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    if prefix is not None and not DNS_PREFIX_RE.fullmatch(prefix):
        return f'Workflow label key "{key}" has an invalid DNS prefix.'
    if not LABEL_NAME_RE.fullmatch(name):
        return f'Workflow label key "{key}" has an invalid name segment.'
    return None


def value_ok(value: str) -> bool:
    return LABEL_NAME_RE.fullmatch(value) is not None
