"""User text reaches the container byte for byte: Argo never reads it as a variable or expression.

Each test compiles a spec whose command, args, environment and files hold Argo syntax and other
hostile text, replays Argo's substitution passes on the compiled manifest (tests/argo_substitution.py)
and compares what the container would receive with what OSMO gives it: the spec's text with only
OSMO's own tokens replaced. A control test shows the model does catch injection in raw text.
"""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from osmo2argo.compiler import compile_spec

from .argo_substitution import GLOBALS, PassLog, one_pass, pod_strings, task_templates

HOSTILE = [
    "echo {{workflow.name}}",
    "{{=1+1}}",
    "{{= sprig.repeat(2, 'x') }}",
    "{{inputs.parameters.x}} {{inputs.parameters.osmo_f}} {{inputs.parameters.osmo_g}}",
    "{{pod.name}} {{item}} {{tasks.a.outputs.result}} {{retries}}",
    "{{ workflow.name }} {{}} {{foo}}",
    "unbalanced {{ only",
    "close }} only",
    "{{{x}}} {{{{workflow.name}}}}",
    "{{a{{workflow.name}}",
    "say \"hi\" 'there' \\ \\\\ \\n",
    "$(HOME) $$(HOME) ${HOME} $",
    "héllo 世界 🚀",
    "{{=inputs.parameters.osmo_f == '1' ? '{'+'{' : nil}}",
    "{",
    "{{",
    "}}",
    "docker inspect --format '{{.Id}}' {{if eq .A \"x\"}}y{{end}}",
]


def _spec(strings: list[str]) -> str:
    tasks = []
    for index, text in enumerate(strings):
        tasks.append(
            {
                "name": f"t{index}",
                "image": "ubuntu:24.04",
                "command": ["sh", "-c", text],
                "args": [text, "before {" + "{{workflow_id}}" + " after"],
                "environment": {"VALUE": text},
                "files": [{"path": "/tmp/file.txt", "contents": text + "\n{{output}}\n"}],
            }
        )
    body = yaml.safe_dump(
        {"workflow": {"name": "inject", "resources": {"default": {"cpu": 1}}, "tasks": tasks}}, width=1 << 20
    )
    head, _, rest = body.partition("\n")
    # OSMO renders every spec with Jinja: keep the user's braces away from it, as users do.
    rest = rest.replace("{{workflow_id}}", "{% endraw %}{{workflow_id}}{% raw %}")
    rest = rest.replace("{{output}}", "{% endraw %}{{output}}{% raw %}")
    return head + "\n{% raw %}" + rest + "{% endraw %}\n"


def _expected(text: str) -> dict[str, str]:
    return {
        "command.0": "sh",
        "command.1": "-c",
        "command.2": text,
        "args.0": text,
        "args.1": "before {" + GLOBALS["workflow.name"] + " after",
        "env.VALUE": text,
        "file./tmp/file.txt": text + "\n/osmo/data/output\n",
    }


def _check(strings: list[str]) -> None:
    manifest = compile_spec(_spec(strings), "inject.yaml").manifest
    templates = task_templates(manifest)
    assert len(templates) == len(strings)
    by_task = {}
    for template, arguments in templates:
        name = arguments.get("task") or template["metadata"]["labels"]["osmo2argo.nvidia.com/task"]
        by_task[name] = (template, arguments)
    for index, text in enumerate(strings):
        template, arguments = by_task[f"t{index}"]
        log = PassLog()
        received = pod_strings(template, arguments, log)
        assert log.evaluated == [], f"Argo would evaluate user text: {log.evaluated}"
        expected = _expected(text)
        for key, value in expected.items():
            assert received[key] == value, (key, text)


def test_hostile_strings_reach_the_container_unchanged() -> None:
    _check(HOSTILE)


def test_shared_templates_pass_text_unchanged() -> None:
    """Tasks alike but for their text share a template; their text travels as parameters."""
    texts = ["say \"hi\" 'there' \\ x", "tab\there\nnew line", "$(HOME) ünïcödé 🚀", "a}}b", "plain"]
    manifest = compile_spec(_spec(texts), "inject.yaml").manifest
    assert any(t["name"].startswith("osmo-shared-") for t in manifest["spec"]["templates"])
    _check(texts)


def test_the_model_catches_raw_injection() -> None:
    """Control: text emitted without the compiler's protection is changed by Argo's passes."""
    log = PassLog()
    final = one_pass(one_pass("echo {{workflow.name}} {{=1+1}}", dict(GLOBALS), log), dict(GLOBALS), log)
    assert final != "echo {{workflow.name}} {{=1+1}}"
    assert log.evaluated and log.resolved


PIECES = [*"{}=$()ab .'\"\\\n", "{{", "}}", "{{=", "workflow.name", "inputs.parameters.osmo_f", "1+1"]
BRACEY = st.lists(st.sampled_from(PIECES), max_size=20).map("".join)


@settings(max_examples=40, deadline=None)
@given(st.lists(BRACEY, min_size=1, max_size=3))
def test_random_brace_text_reaches_the_container_unchanged(strings: list[str]) -> None:
    # Jinja's raw block cannot hold the text "{% endraw %}", and OSMO specs cannot either.
    strings = [s for s in strings if "{%" not in s and "%}" not in s and "{#" not in s] or ["x"]
    _check(strings)
