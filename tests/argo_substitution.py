"""A model of how Argo substitutes `{{...}}` in a template on its way to the Pod, for tests.

It follows the passes found in Argo's source (v3.6.19, v3.7.18, v4.0.x, v4.1.2; citations in
docs/semantics.md, "User text"): each pass scans the text left to right for `{{`, takes the tag up
to the next `}}`, replaces it when its trimmed name is in the pass's map or, for an `=`
expression, when the expression evaluates, and leaves it verbatim otherwise; the output of a pass
is scanned again by the next one.

- P1 `SubstituteParams` (globals, plus `pod.name` when the template has no retryStrategy);
- P2 the same map plus `inputs.parameters.<name>` with the values P1 left;
- R1, R2 the retry block (globals, `pod.name`, `retries`; R2 adds the inputs), only with retries;
- F `substitutePodParams` (globals, the processed inputs, `pod.name`): the last pass.

Expressions: the compiler's deferred brace is evaluated exactly as Argo's expr would evaluate it;
any other expression reaching a pass counts as evaluated user text, which the tests forbid.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

DEFERRED_BRACE = re.compile(
    r"^=inputs\.parameters\.osmo_f == '1' and not \(\('retr'\+'ies'\) in \$env\) \? '\{'(\+'\{')? : nil$"
)


class Unterminated(Exception):
    """fasttemplate refuses a document with a `{{` that no `}}` follows."""


@dataclasses.dataclass
class PassLog:
    evaluated: list[str] = dataclasses.field(default_factory=list)  # user expressions Argo would run
    resolved: list[str] = dataclasses.field(default_factory=list)  # tags replaced


def one_pass(text: str, values: dict[str, str], log: PassLog) -> str:
    out: list[str] = []
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            out.append(text[position:])
            return "".join(out)
        end = text.find("}}", start + 2)
        if end < 0:
            raise Unterminated(text[start : start + 40])
        out.append(text[position:start])
        tag = text[start + 2 : end]
        out.append(_resolve(tag, values, log))
        position = end + 2


def _resolve(tag: str, values: dict[str, str], log: PassLog) -> str:
    original = "{{" + tag + "}}"
    if tag.startswith("="):
        match = DEFERRED_BRACE.match(tag)
        if match is None:
            log.evaluated.append(original)
            return original
        if values.get("inputs.parameters.osmo_f") == "1" and "retries" not in values:
            return "{{" if match.group(1) else "{"
        return original
    key = tag.strip()
    if key in values:
        log.resolved.append(key)
        return values[key]
    return original


GLOBALS = {
    "workflow.name": "wf-test-abc12",
    "workflow.namespace": "argo",
    "workflow.uid": "0c9a2f2e-1d2e-4c55-9a39-6f0f1e2b3c4d",
    "workflow.serviceAccountName": "default",
}


def pod_strings(template: dict[str, Any], arguments: dict[str, str], log: PassLog) -> dict[str, str]:
    """The container command/args/env values and raw file data a Pod of `template` receives.

    `arguments` are the calling DAG task's parameter values (already substituted at DAG level).
    Keys of the result: `command.N`, `args.N`, `env.NAME`, `file.PATH`.
    """
    retried = "retryStrategy" in template
    declared = {p["name"]: p.get("value") for p in template.get("inputs", {}).get("parameters", [])}
    declared.update(arguments)
    # P1 scans the inputs section too (the whole template JSON), with globals and locals.
    p1_map = dict(GLOBALS)
    if not retried:
        p1_map["pod.name"] = "wf-test-abc12-task-1234"
    inputs_after_p1 = {name: one_pass(value or "", p1_map, log) for name, value in declared.items()}
    p2_map = {**p1_map, **{f"inputs.parameters.{k}": v for k, v in inputs_after_p1.items()}}
    # P2 also substitutes the inputs section: those are the processed values F sees.
    processed = {name: one_pass(value, p2_map, log) for name, value in inputs_after_p1.items()}

    def through(text: str) -> str:
        text = one_pass(text, p1_map, log)
        text = one_pass(text, p2_map, log)
        if retried:
            r1 = {**GLOBALS, "pod.name": "wf-test-abc12-task-1234", "retries": "0"}
            text = one_pass(text, r1, log)
            text = one_pass(text, {**r1, **{f"inputs.parameters.{k}": v for k, v in processed.items()}}, log)
        final = {
            **GLOBALS,
            **{f"inputs.parameters.{k}": v for k, v in processed.items()},
            "pod.name": "wf-test-abc12-task-1234",
        }
        return one_pass(text, final, log)

    container = template["container"]
    out: dict[str, str] = {}
    for index, part in enumerate(container.get("command", [])):
        out[f"command.{index}"] = through(part)
    for index, part in enumerate(container.get("args", [])):
        out[f"args.{index}"] = through(part)
    for variable in container.get("env", []):
        if "value" in variable:
            out[f"env.{variable['name']}"] = through(variable["value"])
    for artifact in template.get("inputs", {}).get("artifacts", []):
        if "raw" in artifact:
            out[f"file.{through(artifact['path'])}"] = through(artifact["raw"]["data"])
    return out


def task_templates(manifest: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every (container template, its DAG task's argument values) pair of OSMO task templates."""
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    found = []
    for template in manifest["spec"]["templates"]:
        for task in template.get("dag", {}).get("tasks", []):
            called = templates[task["template"]]
            if "container" not in called or not called["name"].startswith(("task-", "osmo-shared-")):
                continue
            arguments = {}
            for parameter in task.get("arguments", {}).get("parameters", []):
                # DAG-level substitution resolves globals in argument values.
                arguments[parameter["name"]] = one_pass(parameter["value"], dict(GLOBALS), PassLog())
            found.append((called, arguments))
    return found
