"""Showing a running Workflow: one line per OSMO group and task, from the Workflow's status.

On a terminal the block is redrawn in place; otherwise a line is printed whenever a node's phase
changes, so logs stay readable in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PHASE_MARKS = {
    "Pending": "…",
    "Running": "▶",
    "Succeeded": "✓",
    "Failed": "✗",
    "Error": "!",
    "Skipped": "-",
    "Omitted": "-",
}


def rows(workflow: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, kind, phase) of the nodes users care about: the groups and tasks, in start order."""
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    name = (workflow.get("metadata") or {}).get("name", "")
    out = []
    for node in sorted(nodes.values(), key=lambda n: (n.get("startedAt") or "", n.get("displayName") or "")):
        display = node.get("displayName") or node.get("name", "")
        if display == name or node.get("type") in ("Retry", "TaskGroup", "StepGroup"):
            continue
        template = node.get("templateName") or ""
        if template.startswith(("osmo-setup", "osmo-part", "osmo-exit-verdict", "osmo-stop")):
            continue
        kind = "group" if node.get("type") == "DAG" else "task"
        out.append((display, kind, node.get("phase") or "Pending"))
    return out


class Display:
    """Prints progress: redraws on a terminal, prints changes otherwise."""

    def __init__(self, write: Callable[[str], None], tty: bool) -> None:
        self.write = write
        self.tty = tty
        self.last: dict[str, str] = {}
        self.drawn = 0

    def update(self, workflow: dict[str, Any]) -> None:
        phase = (workflow.get("status") or {}).get("phase") or "Pending"
        name = (workflow.get("metadata") or {}).get("name", "")
        current = rows(workflow)
        if self.tty:
            lines = [f"{name}: {phase}"] + [f"  {PHASE_MARKS.get(p, '?')} {n} ({k}) {p}" for n, k, p in current]
            if self.drawn:
                self.write(f"\x1b[{self.drawn}F\x1b[J")
            self.write("\n".join(lines) + "\n")
            self.drawn = len(lines)
            return
        if self.last.get("") != phase:
            self.write(f"{name}: {phase}\n")
            self.last[""] = phase
        for node, kind, node_phase in current:
            if self.last.get(node) != node_phase:
                self.write(f"  {node} ({kind}): {node_phase}\n")
                self.last[node] = node_phase
