"""Property tests: random valid specs compile to manifests that show the spec; bad input ends in diagnostics.

Valid specs come from `tests/strategies.py` with the facts their manifests must show. The checks
read the manifest as Argo would, independently of the compiler's code: the entry DAG (through
nested `osmo-part-*` DAGs) waits exactly as the spec's groups do; each OSMO task's container
template (shared templates resolved with the calling DAG task's arguments) holds the spec's
image, command, arguments, environment and files with every token replaced by its path or Argo
variable; inputs read where their upstream task wrote; resources, deadlines, peer host names and
gang objects agree with the spec; Argo's limits hold; output is deterministic and loads back.

Broken input (mutations of valid specs, arbitrary bytes, arbitrary YAML-like data, random text on
the command line, run in-process through `osmo2argo.cli.main`) must end in a CompileError with
E-coded errors (exit 1), never another exception (exit 4).

`make test` runs a bounded number of examples per property; `make fuzz` sets
OSMO2ARGO_FUZZ_EXAMPLES to run many more.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from osmo2argo.cli import main
from osmo2argo.compiler import Compiled, compile_spec
from osmo2argo.errors import CompileError, Diagnostic
from osmo2argo.report import FORMATS, render
from osmo2argo.source import decode_source
from osmo2argo.target import Target, load_target

from .strategies import (
    INPUT_ROOT,
    MUTATIONS,
    OUTPUT_PATH,
    Part,
    Parts,
    SpecFacts,
    TaskFacts,
    json_documents,
    mutated_specs,
    osmo_specs,
)
from .structure import DNS_SUBDOMAIN, LABEL_NAME, LABEL_VALUE, problems

EXAMPLES = int(os.environ.get("OSMO2ARGO_FUZZ_EXAMPLES", "40"))
# deadline=None: a 30-task spec takes tens of milliseconds to compile, several times that on a
# loaded CI machine, and a mutation may hold a megabyte string; Hypothesis's 200 ms deadline would
# fail those examples for being slow, not wrong. Slowness is `make bench`'s business.
PROPERTY = settings(max_examples=EXAMPLES, deadline=None)

KAI_TARGET_YAML = """\
argoVersion: "4.1"
namespace: research
serviceAccountName: osmo-runner
scheduler:
  name: kai
  queue: team-a
  priorityClassName: osmo-normal
retries:
  reschedule: 2
storage:
  s3:
    endpoint: minio.storage.svc:9000
    insecure: true
    accessKeySecret: {name: s3-creds, key: accessKey}
    secretKeySecret: {name: s3-creds, key: secretKey}
"""
# Argo's minimum is far above 10 tasks per DAG; a target this tight makes 30-group specs nest.
TIGHT_TARGET_YAML = """\
limits:
  maxDagTasks: 10
"""
KAI_TARGET = load_target(KAI_TARGET_YAML, "kai.yaml")
TIGHT_TARGET = load_target(TIGHT_TARGET_YAML, "tight.yaml")

LABEL_PREFIX = "osmo2argo.nvidia.com"
TASK_LABEL = f"{LABEL_PREFIX}/task"
TASK_NAME_ANNOTATION = f"{LABEL_PREFIX}/task-name"
ARGO_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PARAMETER = re.compile(r"\{\{inputs\.parameters\.([A-Za-z0-9_-]+)\}\}")
DEPENDS = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*( && [a-zA-Z0-9][-a-zA-Z0-9]*)*$")
LOCATIONS = ("s3", "gcs", "azure", "oss", "hdfs", "http", "artifactory", "git", "raw")
CODE = re.compile(r"^[EW]\d{3}$")
ERROR_CODE = re.compile(r"^E\d{3}$")
# libyaml's safe loader where PyYAML has it: the same safe constructors as `yaml.safe_load`, and
# a manifest of 30 tasks loads in milliseconds instead of most of a second.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's SafeLoader)


def safe_load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=_LOADER))


# -- reading a manifest ----------------------------------------------------------------------------


def substitute(value: Any, parameters: dict[str, str]) -> Any:
    """`value` with `{{inputs.parameters.X}}` replaced where X is one of `parameters`."""
    if isinstance(value, str):
        return PARAMETER.sub(lambda m: parameters.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {key: substitute(child, parameters) for key, child in value.items()}
    if isinstance(value, list):
        return [substitute(child, parameters) for child in value]
    return value


def dag_deps(task: dict[str, Any]) -> set[str]:
    """The tasks a DAG task waits for; only `a && b` and `dependencies` lists are exact waits."""
    if "depends" in task:
        assert DEPENDS.fullmatch(task["depends"]), f"{task['name']}: depends {task['depends']!r} is not a plain AND"
        return set(task["depends"].split(" && "))
    return set(task.get("dependencies", []))


class Manifest:
    """A compiled manifest, read the way Argo runs it."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        self.manifest = manifest
        self.templates: dict[str, dict[str, Any]] = {t["name"]: t for t in manifest["spec"]["templates"]}
        self.entry = self.templates[manifest["spec"]["entrypoint"]]
        self.nested = False

    def entry_graph(self) -> dict[str, set[str]]:
        """Entry-DAG task → the entry-DAG tasks it waits for, through nested `osmo-part-*` DAGs."""
        return self._flatten(self.entry["dag"]["tasks"])

    def _flatten(self, tasks: list[dict[str, Any]]) -> dict[str, set[str]]:
        graph: dict[str, set[str]] = {}
        members: dict[str, set[str]] = {}
        for task in tasks:
            template = self.templates[task["template"]]
            if template["name"].startswith("osmo-part-"):
                self.nested = True
                inner = self._flatten(template["dag"]["tasks"])
                assert not set(inner) & set(graph), "a task appears in two parts"
                graph.update(inner)
                members[task["name"]] = set(inner)
            else:
                assert task["name"] not in graph, f"entry task {task['name']} appears twice"
                graph[task["name"]] = set()
                members[task["name"]] = {task["name"]}
        for task in tasks:
            waits = set().union(*(members[d] for d in dag_deps(task))) if dag_deps(task) else set()
            for leaf in members[task["name"]]:
                graph[leaf] |= waits
        return graph

    def leaf_calls(self) -> dict[str, dict[str, Any]]:
        """Entry-DAG task name → the DAG task (inside parts, if nested)."""
        calls: dict[str, dict[str, Any]] = {}

        def walk(tasks: list[dict[str, Any]]) -> None:
            for task in tasks:
                template = self.templates[task["template"]]
                if template["name"].startswith("osmo-part-"):
                    walk(template["dag"]["tasks"])
                else:
                    calls[task["name"]] = task

        walk(self.entry["dag"]["tasks"])
        return calls

    def runs(self, call: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(OSMO task name, its container template with the caller's parameters) under a DAG task."""
        template = self.templates[call["template"]]
        arguments = {p["name"]: str(p.get("value", "")) for p in (call.get("arguments") or {}).get("parameters", [])}
        resolved = substitute(template, arguments)
        if "dag" in resolved:
            return [run for task in resolved["dag"]["tasks"] for run in self.runs(task)]
        metadata = resolved.get("metadata") or {}
        labels = metadata.get("labels") or {}
        if "container" not in resolved or TASK_LABEL not in labels:
            return []  # a helper: setup, verdict, output filter
        name = (metadata.get("annotations") or {}).get(TASK_NAME_ANNOTATION) or labels[TASK_LABEL]
        return [(name, resolved)]

    def all_dags(self) -> Iterator[dict[str, Any]]:
        for template in self.templates.values():
            if "dag" in template:
                yield template


def location(artifact: dict[str, Any]) -> dict[str, Any]:
    found = {key: artifact[key] for key in LOCATIONS if key in artifact}
    assert len(found) == 1, f"artifact {artifact.get('name')} has locations {sorted(found)}"
    return found


def url_location(url: str) -> tuple[str, str, str]:
    """(Argo artifact kind, bucket, key) of an s3:// or gs:// URL, `{{workflow_id}}` resolved."""
    scheme, _, rest = url.partition("://")
    bucket, _, key = rest.partition("/")
    return {"s3": "s3", "gs": "gcs"}[scheme], bucket, key.strip("/").replace("{{workflow_id}}", "{{workflow.name}}")


def at_url(artifact: dict[str, Any], url: str) -> bool:
    kind, bucket, key = url_location(url)
    place = artifact.get(kind)
    return isinstance(place, dict) and place.get("bucket") == bucket and place.get("key") == key


_K8S_SUFFIXES = {
    "": Fraction(1),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}


def k8s_quantity(text: str) -> Fraction:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", text)
    assert match and match.group(2) in _K8S_SUFFIXES, f"{text!r} is not a Kubernetes quantity"
    return Fraction(match.group(1)) * _K8S_SUFFIXES[match.group(2)]


# -- what the spec says, computed from the spec text -----------------------------------------------


def spec_units(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(unit, tasks): each group, or each task of a tasks-mode workflow, in order."""
    workflow = document["workflow"]
    if "tasks" in workflow:
        return [(task["name"], [task]) for task in workflow["tasks"]]
    return [(group["name"], group["tasks"]) for group in workflow["groups"]]


def spec_edges(document: dict[str, Any]) -> dict[str, set[str]]:
    """OSMO §13: group G waits for group H if any task of G has a task input naming a task of H."""
    units = spec_units(document)
    unit_of = {task["name"]: unit for unit, tasks in units for task in tasks}
    return {
        unit: {unit_of[item["task"]] for task in tasks for item in task.get("inputs") or [] if "task" in item}
        for unit, tasks in units
    }


def closure(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def reach(node: str) -> set[str]:
        if node not in out:
            found: set[str] = set()
            for parent in graph[node]:
                found |= {parent} | reach(parent)
            out[node] = found
        return out[node]

    for node in graph:
        reach(node)
    return out


def task_parts(task: TaskFacts) -> Iterator[Part]:
    """Every piece of the task's text: arguments, environment values, file contents."""
    for parts in [*task.args, *task.env.values(), *task.files.values()]:
        yield from parts


def expected_text(parts: Parts, hosts: dict[str, str]) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif part.kind == "output":
            out.append(OUTPUT_PATH)
        elif part.kind == "input":
            out.append(f"{INPUT_ROOT}/{part.index}")
        elif part.kind == "workflow_id":
            out.append("{{workflow.name}}")
        else:
            out.append(hosts[part.peer])
    return "".join(out)


# -- the invariants of a valid spec's manifest -----------------------------------------------------


def check_manifest(text: str, facts: SpecFacts, compiled: Compiled, target: Target | None) -> Manifest:
    manifest = compiled.manifest
    assert problems(manifest) == []
    read = Manifest(manifest)
    templates = manifest["spec"]["templates"]
    limit_templates = target.max_templates if target else 200
    limit_tasks = target.max_dag_tasks if target else 200
    assert len(templates) <= min(200, limit_templates)
    names = [t["name"] for t in templates]
    assert len(names) == len(set(names)), "template names are not unique"
    for dag in read.all_dags():
        tasks = dag["dag"]["tasks"]
        assert len(tasks) <= min(200, limit_tasks), f"DAG {dag['name']} has {len(tasks)} tasks"
        task_names = [t["name"] for t in tasks]
        assert len(task_names) == len(set(task_names)), f"DAG {dag['name']} repeats a task name"
        for name in task_names:
            assert ARGO_NAME.fullmatch(name) and len(name) <= 128, f"DAG task name {name!r}"

    # The entry DAG, unit by unit.
    document = safe_load(text)
    expected_edges = spec_edges(document)
    assert expected_edges == {unit: set(edges) for unit, edges in facts.edges.items()}  # the generator agrees
    graph = read.entry_graph()
    calls = read.leaf_calls()
    unit_of_entry: dict[str, str] = {}
    runs: dict[str, dict[str, Any]] = {}
    unit_of_task = {task: unit for unit, tasks in facts.units.items() for task in tasks}
    helpers: list[str] = []
    for entry_name, call in calls.items():
        found = read.runs(call)
        if not found:
            helpers.append(entry_name)
            continue
        units = {unit_of_task.get(name, f"<unknown task {name}>") for name, _ in found}
        assert len(units) == 1, f"entry task {entry_name} runs tasks of {sorted(units)}"
        unit = units.pop()
        assert unit not in unit_of_entry.values(), f"unit {unit} has two entry tasks"
        unit_of_entry[entry_name] = unit
        ran = [name for name, _ in found]
        assert sorted(ran) == sorted(facts.units[unit]), f"{entry_name} runs {ran}, not {facts.units[unit]}"
        runs.update(found)
    assert sorted(unit_of_entry.values()) == sorted(facts.units), "not every group has an entry task"
    gangs = [unit for unit, tasks in facts.units.items() if len(tasks) > 1]
    setup = [h for h in helpers if calls[h]["template"] == "osmo-setup"]
    assert helpers == setup, f"unexpected helper tasks in the entry DAG: {helpers}"
    assert len(setup) <= 1
    # The setup step makes the peer Service (and gang objects): every group of several tasks waits
    # for it; a one-task group may too, when it names its own host.
    assert setup or not gangs, "groups of several tasks but no setup step"
    got_edges: dict[str, set[str]] = {}
    for entry_name, unit in unit_of_entry.items():
        waits = graph[entry_name]
        if len(facts.units[unit]) > 1:
            assert setup[0] in waits, f"group {unit} does not wait for the setup step"
        got_edges[unit] = {unit_of_entry[w] for w in waits if w not in setup}
    if setup:
        assert not graph[setup[0]], "the setup step waits for something"
    if read.nested:
        for unit in expected_edges:
            assert closure(got_edges)[unit] >= closure(expected_edges)[unit], unit
        if not any(w.code == "W470" for w in compiled.warnings):
            assert closure(got_edges) == closure(expected_edges), "nesting changed who waits for whom"
    else:
        assert got_edges == expected_edges

    # Host names: `{{host:x}}` is `<hostname>.<subdomain>.<namespace>.svc.cluster.local` of x's pod;
    # every member of a group of several tasks, and every task whose host is named, has one.
    hosts: dict[str, str] = {}
    hostnames: list[tuple[str, str]] = []
    named = {p.peer for t in facts.tasks.values() for p in task_parts(t) if not isinstance(p, str) and p.kind == "host"}
    for name, template in runs.items():
        patch = json.loads(template.get("podSpecPatch", "{}"))
        if "hostname" not in patch:
            assert unit_of_task[name] not in gangs and name not in named, f"task {name} has no host name"
            continue
        assert DNS_LABEL.fullmatch(patch["hostname"]) and len(patch["hostname"]) <= 63, patch
        hostnames.append((patch["hostname"], patch["subdomain"]))
        hosts[name] = f"{patch['hostname']}.{patch['subdomain']}.{{{{workflow.namespace}}}}.svc.cluster.local"
    assert len(hostnames) == len(set(hostnames)), f"pods of one Service share host names: {hostnames}"

    for name, task in facts.tasks.items():
        check_task(read, task, runs[name], runs, hosts, facts)
    check_exit_actions(read, document, runs, compiled, target)
    # What the examples covered (pytest --hypothesis-show-statistics).
    event(f"mode: {facts.mode}")
    event(f"tasks: {'1' if len(facts.tasks) == 1 else '2-9' if len(facts.tasks) < 10 else '10-30'}")
    if gangs:
        event("has a group of several tasks")
    if any(name.startswith("osmo-shared-") for name in names):
        event("shares templates")
    if read.nested:
        event("nested DAG parts")
    if any(len(name) > 50 for name in facts.tasks):
        event("a task name longer than 50 characters")
    return read


def check_task(
    read: Manifest,
    task: TaskFacts,
    template: dict[str, Any],
    runs: dict[str, dict[str, Any]],
    hosts: dict[str, str],
    facts: SpecFacts,
) -> None:
    where = f"task {task.name}"
    check_pod(template, where)
    container = template["container"]
    assert container["image"] == task.image, where
    assert container["command"] == task.command, where
    assert container.get("args", []) == [expected_text(a, hosts) for a in task.args], where
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    for key, value in task.env.items():
        assert env.get(key) == expected_text(value, hosts), f"{where}: env {key}"
    artifacts = (template.get("inputs") or {}).get("artifacts", [])
    raw = {a["path"]: a["raw"]["data"] for a in artifacts if "raw" in a}
    assert raw == {path: expected_text(parts, hosts) for path, parts in task.files.items()}, where

    # Inputs: one artifact per input at {{input:i}}; task inputs read what their upstream wrote.
    inputs = {a["path"]: a for a in artifacts if a["path"].startswith(INPUT_ROOT + "/")}
    count = len(task.task_inputs) + len(task.url_inputs)
    assert sorted(inputs) == sorted(f"{INPUT_ROOT}/{i}" for i in range(count)), where
    for index, upstream in task.task_inputs.items():
        produced = [
            location(a) for a in (runs[upstream].get("outputs") or {}).get("artifacts", []) if a["path"] == OUTPUT_PATH
        ]
        assert location(inputs[f"{INPUT_ROOT}/{index}"]) in produced, f"{where}: input {index} from {upstream}"
    for index, url in task.url_inputs.items():
        assert at_url(inputs[f"{INPUT_ROOT}/{index}"], url), f"{where}: input {index} from {url}"
    outputs = (template.get("outputs") or {}).get("artifacts", [])
    for url, filtered in task.outputs:
        if filtered:  # written by a filtering step after the task
            elsewhere = [a for t in read.templates.values() for a in (t.get("outputs") or {}).get("artifacts", [])]
            assert any(at_url(a, url) for a in elsewhere), f"{where}: filtered output {url}"
        else:
            assert any(a["path"] == OUTPUT_PATH and at_url(a, url) for a in outputs), f"{where}: output {url}"

    # Resources: OSMO's binary units, requests = limits, the target's defaults where unset.
    resources = container["resources"]
    assert resources["requests"] == resources["limits"], where
    limits = resources["limits"]
    assert k8s_quantity(limits["cpu"]) == (task.cpu or 1), where
    assert k8s_quantity(limits["memory"]) == (task.memory or 2**30), where
    assert k8s_quantity(limits["ephemeral-storage"]) == (task.storage or 2**30), where
    if task.gpu:
        assert limits["nvidia.com/gpu"] == str(task.gpu), where
        assert "NVIDIA_VISIBLE_DEVICES" not in env, where
    else:
        assert "nvidia.com/gpu" not in limits, where
        assert env["NVIDIA_VISIBLE_DEVICES"] == "", where
    if facts.exec_timeout is not None:
        assert template["activeDeadlineSeconds"] == max(1, facts.exec_timeout), where
    else:
        assert "activeDeadlineSeconds" not in template, where


def osmo_exit_codes(actions: dict[str, Any]) -> tuple[set[int], set[int]]:
    """OSMO §11: (codes that succeed, codes that RESCHEDULE); the first rule holding a code wins."""
    rules = []
    for key, value in actions.items():
        ranges = []
        for part in str(value).split(","):
            low, _, high = part.partition("-")
            ranges.append((int(low), int(high or low)))
        rules.append((key.upper(), ranges))
    succeed: set[int] = set()
    reschedule: set[int] = set()
    for code in range(256):
        action = next((name for name, ranges in rules if any(lo <= code <= hi for lo, hi in ranges)), None)
        if action == "RESCHEDULE":
            reschedule.add(code)
        # RESCHEDULE with no retries left leaves the pod's verdict: exit 0 succeeds.
        if action == "COMPLETE" or (action in (None, "RESCHEDULE") and code == 0):
            succeed.add(code)
    return succeed, reschedule


def code_list(text: str) -> set[int]:
    """`0,3-5`: the codes (none for an empty text)."""
    codes: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        codes.update(range(int(low), int(high or low) + 1))
    return codes


_RETRY_LIST = re.compile(r"^lastRetry\.exitCode in \[('\d+'(?:, '\d+')*)\]$")
_RETRY_TERM = re.compile(
    r"\(asInt\(lastRetry\.exitCode\) >= (\d+) && asInt\(lastRetry\.exitCode\) <= (\d+)\)"
    r"|asInt\(lastRetry\.exitCode\) == (\d+)"
)


def retry_codes(expression: str) -> set[int]:
    """The exit codes a retryStrategy expression retries (the two forms the compiler writes)."""
    listed = _RETRY_LIST.fullmatch(expression)
    if listed:
        return {int(code.strip("'")) for code in listed.group(1).split(", ")}
    prefix = "lastRetry.exitCode matches '^[0-9]+$' && ("
    assert expression.startswith(prefix) and expression.endswith(")"), expression
    terms = expression[len(prefix) : -1].split(" || ")
    codes: set[int] = set()
    for term in terms:
        match = _RETRY_TERM.fullmatch(term)
        assert match, f"unknown retry term {term!r}"
        low, high, single = match.groups()
        codes.update(range(int(low), int(high) + 1) if single is None else {int(single)})
    return codes


def check_exit_actions(
    read: Manifest, document: dict[str, Any], runs: dict[str, dict[str, Any]], compiled: Compiled, target: Target | None
) -> None:
    """exitActions: the codes OSMO counts as success decide the task's outcome; RESCHEDULE retries."""
    verdicts: dict[str, set[int]] = {}
    for dag in read.all_dags():
        for step in dag["dag"]["tasks"]:
            if step["template"] == "osmo-exit-verdict":
                arguments = {p["name"]: p["value"] for p in step["arguments"]["parameters"]}
                assert arguments["task"] not in verdicts, f"two verdicts for {arguments['task']}"
                verdicts[arguments["task"]] = code_list(arguments["succeed"])
    limit = target.reschedule_limit if target else 0
    for _, tasks in spec_units(document):
        groups = document["workflow"].get("groups", [])
        group: dict[str, Any] = next((g for g in groups if g["tasks"] is tasks), {})
        ignore_nonleads = group.get("ignoreNonleadStatus", True)
        for task in tasks:
            name = task["name"]
            succeed, reschedule = osmo_exit_codes(task.get("exitActions") or {})
            lead = len(tasks) == 1 or task.get("lead") is True
            if lead and succeed != {0}:
                assert verdicts.get(name) == succeed, f"task {name}: success is {sorted(succeed)}"
                event("exit codes decided by a verdict step")
            elif lead or ignore_nonleads:
                assert name not in verdicts or verdicts[name] == succeed, name
            elif succeed != {0}:  # a non-lead whose failure stops the group: a known limit, warned
                assert any(w.code == "W449" and repr(name) in w.message for w in compiled.warnings), name
                event("W449: a non-lead's exitActions")
            retry = runs[name].get("retryStrategy")
            if limit and reschedule:
                assert retry is not None and retry["limit"] == limit, f"task {name}: {retry}"
                assert retry_codes(retry["expression"]) == reschedule, f"task {name} retries {retry['expression']}"
                event("RESCHEDULE retries")
            else:
                assert retry is None, f"task {name} retries: {retry}"


def check_pod(template: dict[str, Any], where: str) -> None:
    """What Kubernetes checks in the pod of a resolved task template: labels, names, volumes."""
    metadata = template.get("metadata") or {}
    for key, value in (metadata.get("labels") or {}).items():
        prefix, _, name = key.rpartition("/")
        assert not prefix or DNS_SUBDOMAIN.fullmatch(prefix), f"{where}: label key {key!r}"
        assert LABEL_NAME.fullmatch(name) and len(name) <= 63, f"{where}: label key {key!r}"
        assert LABEL_VALUE.fullmatch(value) and len(value) <= 63, f"{where}: label {key}={value!r}"
    containers = [{"name": "main", **template["container"]}]
    containers += template.get("initContainers", []) + template.get("sidecars", [])
    names = [c["name"] for c in containers]
    assert len(names) == len(set(names)), f"{where}: container names {names}"
    volumes = [v["name"] for v in template.get("volumes", [])]
    assert len(volumes) == len(set(volumes)), f"{where}: volume names {volumes}"
    for container in containers:
        mounts = container.get("volumeMounts", [])
        for mount in mounts:
            assert mount["name"] in volumes, f"{where}: {container['name']} mounts unknown volume {mount['name']}"
        paths = [m["mountPath"] for m in mounts]
        assert len(paths) == len(set(paths)), f"{where}: {container['name']} mounts {paths}"
        env = [e["name"] for e in container.get("env", [])]
        assert len(env) == len(set(env)), f"{where}: {container['name']} environment {env}"
    artifacts = (template.get("inputs") or {}).get("artifacts", [])
    paths = [a["path"] for a in artifacts]
    assert len(paths) == len(set(paths)), f"{where}: input artifacts at {paths}"


def check_kai(read: Manifest, facts: SpecFacts) -> None:
    """Every task pod goes through KAI; each group's members form one PodGroup of its size."""
    calls = read.leaf_calls()
    runs = dict(run for call in calls.values() for run in read.runs(call))
    for name, template in runs.items():
        assert template.get("schedulerName") == "kai-scheduler", name
    setup = read.templates.get("osmo-setup")
    objects = []
    if setup is not None:
        raw = setup["inputs"]["artifacts"][0]["raw"]["data"]
        objects = [o for o in safe_load_all(raw) if o]
    pod_groups = {o["metadata"]["name"]: o["spec"]["minMember"] for o in objects if o["kind"] == "PodGroup"}
    seen: set[str] = set()
    for unit, tasks in facts.units.items():
        if len(tasks) == 1:
            continue
        gang = {runs[t]["metadata"]["annotations"]["pod-group-name"] for t in tasks}
        assert len(gang) == 1, f"group {unit} is split over pod groups {gang}"
        name = gang.pop()
        assert name not in seen, f"group {unit} shares pod group {name}"
        seen.add(name)
        assert pod_groups.get(name) == len(tasks), f"group {unit}: PodGroup {name} is {pod_groups.get(name)}"
    assert set(pod_groups) == seen


def compile_valid(text: str, target: Target | None, kind: str = "workflow") -> Compiled:
    try:
        return compile_spec(text, "spec.yaml", target=target, kind=kind)
    except CompileError as exc:
        pytest.fail(f"a valid spec did not compile:\n{render(exc.diagnostics, {'spec.yaml': text})}")


@PROPERTY
@given(osmo_specs())
def test_valid_specs_compile_on_the_default_target(spec: tuple[str, SpecFacts]) -> None:
    text, facts = spec
    compiled = compile_valid(text, None)
    check_manifest(text, facts, compiled, None)
    again = compile_spec(text, "spec.yaml")
    assert again.text == compiled.text, "compiling twice gave different text"
    assert safe_load(compiled.text) == compiled.manifest, "the YAML text does not load back to the manifest"


# The other targets change scheduling and nesting, not text: determinism and the YAML round trip
# are checked once, above, which keeps the file's run short. KAI's specs become WorkflowTemplates.
@PROPERTY
@given(osmo_specs(max_tasks=16))
def test_valid_specs_compile_with_kai(spec: tuple[str, SpecFacts]) -> None:
    text, facts = spec
    compiled = compile_valid(text, KAI_TARGET, kind="workflowtemplate")
    assert compiled.manifest["kind"] == "WorkflowTemplate"
    read = check_manifest(text, facts, compiled, KAI_TARGET)
    check_kai(read, facts)


@PROPERTY
@given(osmo_specs(max_tasks=14, min_units=11))
def test_valid_specs_nest_under_a_tight_dag_limit(spec: tuple[str, SpecFacts]) -> None:
    text, facts = spec
    compiled = compile_valid(text, TIGHT_TARGET)
    read = check_manifest(text, facts, compiled, TIGHT_TARGET)
    assert read.nested, "more than 10 groups in one DAG under maxDagTasks: 10"


# -- broken input ----------------------------------------------------------------------------------


def stand_in_reader(path: str) -> bytes:
    """`localpath` files: scripts exist, anything else does not (no reads of the real disk)."""
    if path.endswith((".sh", ".py")):
        return f"# stand-in for {Path(path).name}\n".encode()
    raise FileNotFoundError(path)


def assert_diagnosed(diagnostics: tuple[Diagnostic, ...], sources: dict[str, str]) -> None:
    errors = [d for d in diagnostics if d.is_error]
    assert errors, "a CompileError without errors"
    for diagnostic in diagnostics:
        assert CODE.fullmatch(diagnostic.code), diagnostic
        if diagnostic.is_error:
            assert ERROR_CODE.fullmatch(diagnostic.code), diagnostic
    for fmt in FORMATS:
        render(diagnostics, sources, fmt)


def outcome(data: bytes, target: Target | None = None) -> str:
    """Decode, validate and compile `data`: 'ok' or 'diagnosed'; any other exception propagates."""
    try:
        text = decode_source(data, "spec.yaml")
    except CompileError as exc:
        assert_diagnosed(exc.diagnostics, {})
        return "diagnosed"
    try:
        compiled = compile_spec(text, "spec.yaml", target=target, spec_path="/specs/spec.yaml", read=stand_in_reader)
    except CompileError as exc:
        assert_diagnosed(exc.diagnostics, {"spec.yaml": text})
        return "diagnosed"
    assert problems(compiled.manifest) == []
    for fmt in FORMATS:
        render(compiled.warnings, {"spec.yaml": text}, fmt)
    return "ok"


@pytest.mark.parametrize("kind", MUTATIONS)
@settings(PROPERTY, max_examples=max(5, EXAMPLES // 8))  # per kind: the kinds share a budget
@given(data=st.data(), target=st.sampled_from([None, KAI_TARGET]))
def test_mutated_specs_end_in_diagnostics(kind: str, data: st.DataObject, target: Target | None) -> None:
    mutated = data.draw(mutated_specs(kind))
    note(f"mutation {mutated.kind}: {mutated.detail}")
    event(outcome(mutated.data, target))


@PROPERTY
@given(st.binary(max_size=2000) | st.binary(max_size=500).map(lambda b: b"workflow:\n  " + b))
def test_arbitrary_bytes_end_in_diagnostics(data: bytes) -> None:
    outcome(data)


@PROPERTY
@given(json_documents())
def test_arbitrary_yaml_data_ends_in_diagnostics(text: str) -> None:
    outcome(text.encode("utf-8"))


_CLI_INPUT = st.one_of(
    st.text(max_size=300).map(str.encode),
    st.binary(max_size=300),
    json_documents().map(str.encode),
    osmo_specs(max_tasks=4).map(lambda spec: spec[0].encode()),
    mutated_specs().map(lambda mutated: mutated.data),
)


def run_cli(args: list[str], data: bytes) -> tuple[int, str]:
    """`osmo2argo ARGS` in this process with `data` on stdin: (exit code, what it printed)."""
    out, err = io.BytesIO(), io.BytesIO()
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    stderr = io.TextIOWrapper(err, encoding="utf-8")
    with mock.patch.multiple(sys, stdin=stdin, stdout=stdout, stderr=stderr):
        try:
            code = main(args)
        except SystemExit as exc:  # a command that exits instead of returning its code
            code = exc.code if isinstance(exc.code, int) else 1
        stdout.flush()
        stderr.flush()
    return code, (out.getvalue() + err.getvalue()).decode("utf-8", "replace")


@PROPERTY
@given(_CLI_INPUT, st.sampled_from(["validate", "compile"]))
def test_cli_exits_0_or_1(data: bytes, command: str) -> None:
    args = [command, "-", "--debug"] + (["-o", "-"] if command == "compile" else [])
    code, printed = run_cli(args, data)
    assert code in (0, 1), f"exit {code} (4 is an internal error):\n{printed[-3000:]}"
