"""OSMO exit actions on Argo: which exit codes succeed, fail, or retry the task.

OSMO (`jobs.UpdateGroup._apply_exit_action`): the first `exitActions` entry whose ranges hold the
exit code decides; COMPLETE makes the task succeed, FAIL makes it fail, RESCHEDULE retries it
while retries are left (`max_retry_per_task`, default 0) and otherwise leaves the pod's verdict
(exit 0 succeeds, anything else fails); with no matching entry the pod's verdict stands.

On Argo:
- RESCHEDULE codes → `retryStrategy` with an exit-code `expression` and the target's limit.
- When the codes that succeed are not exactly {0}, the task runs inside a small DAG with a verdict
  step after it (whether it succeeded or failed) that succeeds exactly when the exit code is one
  OSMO counts as success. The verdict always runs: a skipped step would inherit the task's
  failure when Argo assesses the DAG (dag.go `assessDAGPhase`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from .. import ir, records
from . import model
from .context import Context

EXIT_CODES = range(256)  # what a container can exit with


@records.typed_equality
class ExitPlan(NamedTuple):
    """The outcome of every possible exit code of one task."""

    succeed: frozenset[int]
    reschedule: frozenset[int]

    @property
    def needs_verdict(self) -> bool:
        return self.succeed != frozenset({0})


_DEFAULT_PLAN = ExitPlan(frozenset({0}), frozenset())


def plan(task: ir.Task, retries: int) -> ExitPlan:
    if not task.exit_rules:
        return _DEFAULT_PLAN
    return _plan(task.exit_rules, retries)


@functools.lru_cache(maxsize=256)
def _plan(rules: tuple[ir.ExitRule, ...], retries: int) -> ExitPlan:
    succeed: set[int] = set()
    reschedule: set[int] = set()
    for code in EXIT_CODES:
        action = next((rule.action for rule in rules if rule.matches(code)), None)
        if action == "RESCHEDULE" and retries > 0:
            reschedule.add(code)
        if action == "COMPLETE" or (action in (None, "RESCHEDULE") and code == 0):
            succeed.add(code)
    return ExitPlan(frozenset(succeed), frozenset(reschedule))


def retry_strategy(ctx: Context, task: ir.Task) -> model.RetryStrategy | None:
    limit = ctx.target.reschedule_limit
    has_reschedule = any(rule.action == "RESCHEDULE" for rule in task.exit_rules)
    if has_reschedule and limit == 0:
        rule = next(r for r in task.exit_rules if r.action == "RESCHEDULE")
        ctx.warn(
            "W421",
            f"RESCHEDULE of task {task.name!r} has no effect: the target's retry limit is 0 "
            "(OSMO's default max_retry_per_task), so these exit codes fail the task",
            rule.span,
            hint="set retries.reschedule in the target profile to the number of retries to allow",
        )
        return None
    codes = plan(task, limit).reschedule
    if not codes:
        return None
    return {"limit": limit, "retryPolicy": "Always", "expression": _retry_expression(codes)}


def _ranges(codes: frozenset[int]) -> list[tuple[int, int]]:
    ordered = sorted(codes)
    ranges: list[tuple[int, int]] = []
    for code in ordered:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


def _retry_expression(codes: frozenset[int]) -> str:
    # lastRetry.exitCode is a string (empty when the pod never ran a container); compare as text
    # for a short list, numerically (behind a digits check) for long ranges.
    if len(codes) <= 16:
        listed = ", ".join(f"'{code}'" for code in sorted(codes))
        return f"lastRetry.exitCode in [{listed}]"
    terms = [
        f"(asInt(lastRetry.exitCode) >= {low} && asInt(lastRetry.exitCode) <= {high})"
        if low != high
        else f"asInt(lastRetry.exitCode) == {low}"
        for low, high in _ranges(codes)
    ]
    return "lastRetry.exitCode matches '^[0-9]+$' && (" + " || ".join(terms) + ")"


def codes_text(codes: frozenset[int]) -> str:
    """Exit codes as OSMO writes them: "0,3-5,15"."""
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in _ranges(codes))


VERDICT_TEMPLATE = "osmo-exit-verdict"

# Succeeds when the task's exit code is one of the listed codes, fails (naming it) otherwise.
_VERDICT = """\
import sys
task, code, listed = sys.argv[1:4]
ok = False
for part in listed.split(','):
    low, _, high = part.partition('-')
    ok = ok or (code.isdigit() and int(low) <= int(code) <= int(high or low))
if not ok:
    sys.exit('task %s exited with code %s; its exitActions count only %s as success' % (task, code, listed))
print('task %s exited with code %s: success' % (task, code))
"""


def verdict_template(ctx: Context) -> model.Template:
    """A shared step: success when the task's exit code is one OSMO counts as success."""
    return {
        "name": VERDICT_TEMPLATE,
        "inputs": {"parameters": [{"name": "task"}, {"name": "code"}, {"name": "succeed"}]},
        "container": {
            "image": ctx.target.helper_image,
            "command": [
                "python3",
                "-c",
                _VERDICT,
                "{{inputs.parameters.task}}",
                "{{inputs.parameters.code}}",
                "{{inputs.parameters.succeed}}",
            ],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        },
    }
