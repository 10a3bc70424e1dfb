"""Structural checks of an emitted Argo manifest, independent of the compiler's own code.

What Argo would refuse at submit or at run time, checked by reading the manifest: name
patterns and lengths, unique names, entrypoint and template references, DAG dependencies
(existing, acyclic, one style per DAG), label keys and values, JSON podSpecPatch, and Argo's
count limits. The conformance tests add Argo's own lint and a real API server on top.
"""

from __future__ import annotations

import json
import re
from typing import Any

ARGO_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
PARAM_NAME = re.compile(r"^[a-zA-Z0-9_][-a-zA-Z0-9_]*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DEPENDS_TOKEN = re.compile(r"[A-Za-z0-9][-A-Za-z0-9]*(?:\.[A-Za-z]+)?")


def problems(manifest: dict[str, Any]) -> list[str]:
    found: list[str] = []
    spec = manifest["spec"]
    metadata = manifest["metadata"]
    # A name is at most 63 characters (Argo's validate: "must not be more than 63 characters
    # long"); a generateName prefix at most 58, since Kubernetes appends 5 random characters.
    name = metadata.get("name") or metadata.get("generateName", "")
    limit = 63 if metadata.get("name") else 58
    if not name or len(name.rstrip("-")) > limit or not DNS_SUBDOMAIN.fullmatch(name.rstrip("-")):
        found.append(f"workflow name {name!r}")
    for where in (metadata.get("labels") or {}, (spec.get("podMetadata") or {}).get("labels") or {}):
        found += _labels(where, "labels")
    templates = spec["templates"]
    names = [t["name"] for t in templates]
    if len(names) != len(set(names)):
        found.append("duplicate template names")
    if len(templates) > 200:
        found.append(f"{len(templates)} templates (Argo's limit is 200)")
    by_name = {t["name"]: t for t in templates}
    if spec["entrypoint"] not in by_name:
        found.append(f"entrypoint {spec['entrypoint']!r} is not a template")
    for template in templates:
        tname = template["name"]
        if not ARGO_NAME.fullmatch(tname) or len(tname) > 128:
            found.append(f"template name {tname!r}")
        # Template labels may hold parameters: Argo substitutes them before it creates the pod.
        labels = {k: v for k, v in ((template.get("metadata") or {}).get("labels") or {}).items() if "{{" not in v}
        found += _labels(labels, f"template {tname} labels")
        for param in (template.get("inputs") or {}).get("parameters", []):
            if not PARAM_NAME.fullmatch(param["name"]):
                found.append(f"parameter name {param['name']!r} in {tname}")
        artifacts = [a["name"] for a in (template.get("inputs") or {}).get("artifacts", [])]
        artifacts += [a["name"] for a in (template.get("outputs") or {}).get("artifacts", [])]
        if len(artifacts) != len(set(artifacts)):
            found.append(f"duplicate artifact names in {tname}")
        if "podSpecPatch" in template:
            try:
                json.loads(template["podSpecPatch"])
            except ValueError:
                found.append(f"podSpecPatch of {tname} is not JSON")
        if "dag" in template:
            found += _dag(template, by_name)
        kinds = [k for k in ("container", "dag", "resource", "script", "steps") if k in template]
        if len(kinds) != 1:
            found.append(f"template {tname} has {kinds}")
    return found


def _labels(labels: dict[str, str], where: str) -> list[str]:
    found = []
    for key, value in labels.items():
        prefix, _, label = key.rpartition("/")
        if (prefix and not DNS_SUBDOMAIN.fullmatch(prefix)) or not LABEL_NAME.fullmatch(label) or len(label) > 63:
            found.append(f"{where}: label key {key!r}")
        if len(value) > 63 or not LABEL_VALUE.fullmatch(value):
            found.append(f"{where}: label value {value!r}")
    return found


def _dag(template: dict[str, Any], by_name: dict[str, Any]) -> list[str]:
    found = []
    tasks = template["dag"]["tasks"]
    if len(tasks) > 200:
        found.append(f"DAG {template['name']} has {len(tasks)} tasks (Argo's limit is 200)")
    names = [t["name"] for t in tasks]
    if len(names) != len(set(names)):
        found.append(f"duplicate task names in {template['name']}")
    uses_depends = any("depends" in t for t in tasks)
    uses_dependencies = any("dependencies" in t for t in tasks)
    if uses_depends and uses_dependencies:
        found.append(f"DAG {template['name']} mixes depends and dependencies")
    if uses_depends and any("continueOn" in t for t in tasks):
        found.append(f"DAG {template['name']} uses continueOn with depends")
    graph: dict[str, set[str]] = {}
    for task in tasks:
        if not ARGO_NAME.fullmatch(task["name"]) or len(task["name"]) > 128:
            found.append(f"task name {task['name']!r}")
        if task["template"] not in by_name:
            found.append(f"task {task['name']} uses unknown template {task['template']!r}")
        deps = set(task.get("dependencies", []))
        for token in DEPENDS_TOKEN.findall(task.get("depends", "")):
            deps.add(token.split(".")[0])
        missing = deps - set(names)
        if missing:
            found.append(f"task {task['name']} depends on unknown {sorted(missing)}")
        if (uses_depends or uses_dependencies) and task["name"][0].isdigit():
            found.append(f"task name {task['name']!r} starts with a digit")
        graph[task["name"]] = deps & set(names)
    if _has_cycle(graph):
        found.append(f"DAG {template['name']} has a cycle")
    return found


def _has_cycle(graph: dict[str, set[str]]) -> bool:
    state: dict[str, int] = {}
    for start, first in graph.items():
        if state.get(start):
            continue
        stack = [(start, iter(sorted(first)))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                return True
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
    return False
