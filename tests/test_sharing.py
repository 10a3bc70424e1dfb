"""Template sharing keeps every task's own template exact when its class is not shared.

The lowering classifies task templates as it makes them and keeps a class's later members only as
their texts (`lower.limits.Sharing`); a class that ends up unshared gets each member restored. The
oracle is independent of that path: a task compiled alone, where its template is the first and
only member of its class and is never restored.
"""

from __future__ import annotations

from typing import Any

import pytest

from osmo2argo.compiler import compile_spec
from osmo2argo.lower.limits import SHARE_AT


def _spec(names: list[str]) -> str:
    tasks = "".join(
        f"  - name: {name}\n    image: ubuntu:24.04\n    command: [bash, -c]\n"
        f"    args: ['echo {name} > {{{{output}}}}/out.txt']\n    environment: {{WHO: {name}}}\n"
        for name in names
    )
    return f"workflow:\n  name: w\n  resources:\n    default: {{cpu: 1, memory: 1Gi}}\n  tasks:\n{tasks}"


def _templates(names: list[str]) -> dict[str, Any]:
    manifest = compile_spec(_spec(names), "sharing.yaml").manifest
    return {t["name"]: t for t in manifest["spec"]["templates"]}


@pytest.mark.parametrize("count", range(2, SHARE_AT))
def test_alike_tasks_below_the_sharing_threshold_keep_their_own_exact_templates(count: int) -> None:
    names = [f"t{i}" for i in range(count)]
    together = _templates(names)
    for name in names:
        assert together[f"task-{name}"] == _templates([name])[f"task-{name}"]
    assert not any(t.startswith("osmo-shared-") for t in together)


def test_alike_tasks_at_the_threshold_share_one_template() -> None:
    together = _templates([f"t{i}" for i in range(SHARE_AT)])
    assert [t for t in together if t.startswith(("task-", "osmo-shared-"))] == ["osmo-shared-t0"]
