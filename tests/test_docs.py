"""Every command shown in README.md and docs/*.md runs, and prints what the page shows.

The convention pages follow (and this test enforces):

- A fenced ```sh block (also ``bash``, ``shell``) is a script: it runs as one bash script with
  `set -euo pipefail` and must exit 0.
- A fenced ```console block holds commands and their output. A line starting with `$ ` is a command
  (a trailing `\\` continues it on the next line); the lines after it, up to the next command, are
  what it prints. Each of those lines must match a line of the command's output (standard output
  and standard error together), in order, other lines may come between; `...` inside a line
  matches any text, and a line that is only `...` stands for lines left out. A command must exit
  0 unless its trailing comment starts with `exit N` (`$ osmo2argo validate broken.yaml  # exit 1`).
- A fenced ```python block runs as one script with the project's Python.
- `<!-- file: PATH -->` on the line before a fenced block (of any language) writes the block's text
  to PATH: the specs, target profiles, CI workflows and pre-commit configurations the pages show
  are the files their commands use.
- `<!-- not run: REASON -->` on the line before a block: the block is not run. Every such block
  is listed in NOT_RUN below with its reason, so a skip is a decision in this file, not a quiet
  edit of a page; a marker that is not listed here, or a listed one that is gone, fails.
- Commands that start like an entry of EXEMPT are not run here, for the reason given there.

Each page runs top to bottom in one fresh temporary directory (also HOME), seeded with SEEDS
(train.yaml is tests/examples/hello.yaml, cluster.yaml a small target profile), with this checkout's
.venv/bin first on PATH. Output is never a terminal, so no command may print colour codes.
`osmo2argo submit` talks to the test API server (tests/apiserver, built by `make tools`) through
KUBECONFIG; without it those commands skip with the reason (under CI the fixture fails instead).
For `submit --wait` a stand-in controller moves the new Workflow through Running to Succeeded, one
task after the other, once the command has printed its Pending line.

Beyond the commands: docs/diagnostics.md lists exactly the codes osmo2argo/ can emit,
docs/target-profile.md names every field of schema/target.schema.json and its YAML examples are
valid profiles, the GitHub Actions job and the pre-commit configuration of docs/ci.md run, and the
quick start's claims about shell completion and colour hold.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .argo_tools import ApiServer
from .conftest import ROOT, missing

VENV_BIN = Path(sys.executable).parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

SEEDS = {
    "train.yaml": (ROOT / "tests" / "examples" / "hello.yaml").read_text(encoding="utf-8"),
    "cluster.yaml": (
        "# The target profile the pages' commands use unless a page writes its own.\n"
        'argoVersion: "4.0"\n'
        "namespace: ml-team\n"
    ),
}

# Commands the pages show that this test does not run, and why.
EXEMPT = {
    "make test": "the README's test command: .ci/run runs it on every CI run, and this test is part of it",
    "make demo": "creates or reinstalls .venv, which the running tests use; test_make_demo_recipe_runs runs its "
    "recipe (validate and compile of tests/examples/hello.yaml) instead",
    "make bench": "docs/performance.md's reproduce line: about ten minutes of benchmarks",
}

# Blocks marked `<!-- not run: REASON -->`, per page: the complete list.
NOT_RUN = {
    "docs/quickstart.md": ["installs osmo2argo from the network; these tests use this checkout's .venv"],
    "docs/migrating.md": ["needs an OSMO service"],
}

# Steps of the documented GitHub Actions job that only GitHub can run, by step name.
CI_STEPS_NOT_RUN = {
    "Install osmo2argo": "installs from the network; the test runs the other steps with this checkout's .venv",
}

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
MARKER = re.compile(r"^<!--\s*(?P<kind>file|not run):\s*(?P<value>.*?)\s*-->$")
EXIT_COMMENT = re.compile(r"#\s*exit (\d+)\b")
SCRIPT_LANGUAGES = {"sh", "bash", "shell"}


# -- reading pages ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced code block of a page, with the marker on the line before it."""

    page: str
    line: int
    language: str
    text: str
    file: str | None = None
    not_run: str | None = None


@dataclasses.dataclass(frozen=True)
class Command:
    """A `$ ` command of a console block and the output lines the page shows for it."""

    text: str
    expected: tuple[str, ...]
    line: int

    @property
    def exit_code(self) -> int:
        found = EXIT_COMMENT.search(self.text)
        return int(found.group(1)) if found else 0


def relative(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page (CommonMark fences: ``` or ~~~, closed by a longer or equal one)."""
    lines = page.read_text(encoding="utf-8").split("\n")
    out: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening.group("fence")
        language = (opening.group("info").split() or [""])[0].lower()
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[end]):
            body.append(lines[end])
            end += 1
        marker = MARKER.match(lines[index - 1].strip()) if index > 0 else None
        file = marker.group("value") if marker and marker.group("kind") == "file" else None
        not_run = marker.group("value") if marker and marker.group("kind") == "not run" else None
        text = "\n".join(body) + "\n" if body else ""
        out.append(Block(relative(page), index + 1, language, text, file, not_run))
        index = end + 1
    return out


def console_commands(block: Block) -> list[Command]:
    commands: list[Command] = []
    lines = block.text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            index += 1
            continue
        start = index
        text = line[2:]
        while text.endswith("\\") and index + 1 < len(lines):
            index += 1
            text += "\n" + lines[index]  # bash reads backslash-newline as a continuation
        index += 1
        expected = []
        while index < len(lines) and not lines[index].startswith("$ "):
            if lines[index].strip():
                expected.append(lines[index].rstrip())
            index += 1
        commands.append(Command(text, tuple(expected), block.line + 1 + start))
    return commands


def exempt(command: str) -> str | None:
    stripped = command.strip()
    return next((reason for start, reason in EXEMPT.items() if stripped.startswith(start)), None)


def without_exempt_lines(script: str) -> str:
    return "\n".join(line for line in script.split("\n") if exempt(line) is None) + "\n"


def shown_commands(page: Path) -> list[str]:
    """Every command of a page that this test runs (for counting and for the checks below)."""
    out: list[str] = []
    for block in blocks(page):
        if block.not_run is not None:
            continue
        if block.language in SCRIPT_LANGUAGES:
            out += [line for line in block.text.split("\n") if line.strip() and not line.strip().startswith("#")]
            out = [c for c in out if exempt(c) is None]
        elif block.language == "console":
            out += [c.text for c in console_commands(block) if exempt(c.text) is None]
        elif block.language == "python":
            out.append(block.text)
    return out


# -- matching output --------------------------------------------------------------------------------


def line_pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in expected.split("...")))


def assert_shows(expected: tuple[str, ...], output: str, where: str) -> None:
    """Each expected line (`...` = any text) matches an output line, in order."""
    actual = [line.rstrip() for line in output.split("\n")]
    position = 0
    for want in expected:
        if want.strip() == "...":
            continue
        pattern = line_pattern(want)
        while position < len(actual) and not pattern.fullmatch(actual[position]):
            position += 1
        assert position < len(actual), f"{where}: the output has no line {want!r} (in order)\noutput:\n{output}"
        position += 1


# -- the stand-in cluster ---------------------------------------------------------------------------

WORKFLOWS = "/apis/argoproj.io/v1alpha1/workflows"


def workflow_uids(server: ApiServer) -> set[str]:
    status, body = server.request("GET", WORKFLOWS)
    assert status == 200, body
    return {item["metadata"]["uid"] for item in body["items"]}


def new_workflow(
    server: ApiServer, before: set[str], running: Callable[[], bool], timeout: float = 60
) -> dict[str, Any] | None:
    """The Workflow created since `before` was taken; None if the command ended without creating one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = not running()
        status, body = server.request("GET", WORKFLOWS)
        assert status == 200, body
        fresh = [item for item in body["items"] if item["metadata"]["uid"] not in before]
        if fresh:
            assert len(fresh) == 1, [item["metadata"]["name"] for item in fresh]
            found: dict[str, Any] = fresh[0]
            return found
        if ended:
            return None
        time.sleep(0.2)
    return None


def drive(server: ApiServer, workflow: dict[str, Any]) -> None:
    """Play the controller: the entry DAG's tasks run one after the other and succeed."""
    name, namespace = workflow["metadata"]["name"], workflow["metadata"]["namespace"]
    entry = next(t for t in workflow["spec"]["templates"] if t["name"] == workflow["spec"]["entrypoint"])
    tasks = [task["name"] for task in entry["dag"]["tasks"] if not task["name"].startswith("osmo-")]

    def patch(phase: str, phases: dict[str, str]) -> None:
        nodes: dict[str, Any] = {
            name: {"id": name, "name": name, "displayName": name, "type": "DAG", "templateName": "main", "phase": phase}
        }
        for index, (task, task_phase) in enumerate(phases.items()):
            nodes[f"{name}-{index}"] = {
                "id": f"{name}-{index}",
                "name": f"{name}.{task}",
                "displayName": task,
                "type": "Pod",
                "templateName": f"task-{task}",
                "phase": task_phase,
                "startedAt": f"2026-01-01T00:00:{index:02d}Z",
            }
        body = {"status": {"phase": phase, "startedAt": "2026-01-01T00:00:00Z", "nodes": nodes}}
        path = f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows/{name}"
        status, answer = server.request("PATCH", path, body, content_type="application/merge-patch+json")
        assert status == 200, answer

    patch("Running", {tasks[0]: "Running"})
    for done in range(1, len(tasks)):
        time.sleep(0.3)
        patch("Running", {**dict.fromkeys(tasks[:done], "Succeeded"), tasks[done]: "Running"})
    time.sleep(0.3)
    patch("Succeeded", dict.fromkeys(tasks, "Succeeded"))


def run_waiting(command: str, env: dict[str, str], cwd: Path, server: ApiServer) -> tuple[int, str]:
    """Run a `submit --wait` while playing the controller for the Workflow it creates."""
    before = workflow_uids(server)
    process = subprocess.Popen(
        ["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
    )
    lines: list[str] = []
    pending = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.rstrip().endswith(": Pending"):
                pending.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        workflow = new_workflow(server, before, lambda: process.poll() is None)
        if workflow is None:  # the caller reports the exit code and the output
            process.wait(timeout=60)
            reader.join(timeout=10)
            return process.returncode, "".join(lines)
        assert pending.wait(60), "submit --wait printed no Pending line:\n" + "".join(lines)
        drive(server, workflow)
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
    return code, "".join(lines)


# -- running a page ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Session:
    """One page's run: its directory and environment, and the API server when a command needs it."""

    request: pytest.FixtureRequest
    directory: Path
    env: dict[str, str]
    server: ApiServer | None = None
    server_missing: str | None = None
    skipped: list[str] = dataclasses.field(default_factory=list)
    ran: int = 0

    def cluster(self) -> ApiServer | None:
        if self.server is None and self.server_missing is None:
            try:
                self.server = self.request.getfixturevalue("api_server")
            except pytest.skip.Exception as exc:
                self.server_missing = str(exc)
            else:
                assert self.server is not None
                self.env["KUBECONFIG"] = str(self.server.kubeconfig)
        return self.server


def page_env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "ARGO_TOKEN", "KUBECONFIG", "VIRTUAL_ENV")}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        HOME=str(directory),
        PYTHONUNBUFFERED="1",
        KUBECONFIG=str(directory / "no-cluster-configured"),
    )
    return env


def needs_cluster(command: str) -> bool:
    return bool(re.search(r"\bosmo2argo submit\b", command)) and "--help" not in command


def run_script(session: Session, script: str, where: str, interpreter: list[str]) -> None:
    done = subprocess.run(
        [*interpreter, script],
        cwd=session.directory,
        env=session.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{where}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    assert "\x1b[" not in done.stdout + done.stderr, f"{where}: colour codes in output that is not a terminal"
    session.ran += 1


def run_command(session: Session, command: Command, where: str) -> None:
    if needs_cluster(command.text):
        server = session.cluster()
        if server is None:
            session.skipped.append(f"{where}: {command.text.strip()}")
            return
    if re.search(r"\bsubmit\b.*--wait\b", command.text) and "--dry-run server" not in command.text:
        assert session.server is not None
        code, output = run_waiting(command.text, session.env, session.directory, session.server)
    else:
        done = subprocess.run(
            ["bash", "-c", command.text],
            cwd=session.directory,
            env=session.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        code, output = done.returncode, done.stdout
    assert code == command.exit_code, (
        f"{where}: `{command.text}` exited {code}, the page says {command.exit_code}\n{output}"
    )
    assert "\x1b[" not in output, f"{where}: colour codes in output that is not a terminal"
    assert_shows(command.expected, output, f"{where}: `{command.text}`")
    session.ran += 1


def run_page(request: pytest.FixtureRequest, page: Path, directory: Path) -> Session:
    for name, text in SEEDS.items():
        (directory / name).write_text(text, encoding="utf-8")
    session = Session(request, directory, page_env(directory))
    name = relative(page)
    markers = []
    for block in blocks(page):
        where = f"{name}:{block.line}"
        if block.not_run is not None:
            markers.append(block.not_run)
            continue
        if block.file is not None:
            target = directory / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
            continue
        if block.language in SCRIPT_LANGUAGES:
            script = without_exempt_lines(block.text)
            if not script.strip():
                continue
            if needs_cluster(script) and session.cluster() is None:
                session.skipped.append(f"{where}: the block")
                continue
            run_script(session, "set -euo pipefail\n" + script, where, ["bash", "-c"])
        elif block.language == "console":
            for command in console_commands(block):
                if exempt(command.text) is None:
                    run_command(session, command, f"{name}:{command.line}")
        elif block.language == "python":
            run_script(session, block.text, where, [sys.executable, "-c"])
    assert markers == NOT_RUN.get(name, []), (
        f"{name}: the blocks marked `<!-- not run: ... -->` must be exactly those NOT_RUN lists for the page"
    )
    return session


@pytest.mark.parametrize("page", PAGES, ids=relative)
def test_page_commands_run(request: pytest.FixtureRequest, page: Path, tmp_path: Path) -> None:
    session = run_page(request, page, tmp_path)
    check = PAGE_CHECKS.get(relative(page))
    if check is not None:
        check(session)
    if session.skipped:
        pytest.skip(
            f"ran {session.ran} commands of {relative(page)}; {len(session.skipped)} need the test API server "
            f"({session.server_missing}): " + "; ".join(session.skipped)
        )


def test_every_page_with_commands_is_covered() -> None:
    """The pages list is the README and every docs page; the quick start shows the main commands."""
    assert ROOT / "README.md" in PAGES and ROOT / "docs" / "quickstart.md" in PAGES
    shown = "\n".join(shown_commands(ROOT / "docs" / "quickstart.md"))
    for command in ("validate", "compile", "graph", "submit", "--dry-run server", "--wait", "--check"):
        assert command in shown, f"the quick start runs no `{command}`"


def test_make_demo_recipe_runs() -> None:
    """`make demo` without its venv step: the commands of its recipe, as make prints them."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # Without the caller's make variables: under `make test`, MAKELEVEL would make this make print
    # "Entering directory" lines among the recipe's commands.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    recipe = [line for line in printed.split("\n") if line.strip()]
    assert recipe, printed
    for line in recipe:
        done = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"`{line}` exited {done.returncode}\n{done.stdout}{done.stderr}"


# -- page-specific checks ----------------------------------------------------------------------------


def check_ci_page(session: Session) -> None:
    """The GitHub Actions job and the pre-commit configuration docs/ci.md shows, run on its repository."""
    workflow_file = next(
        (b.file for b in blocks(ROOT / "docs" / "ci.md") if b.file and b.file.startswith(".github/workflows/")), None
    )
    assert workflow_file, "docs/ci.md writes no .github/workflows/ file"
    workflow = yaml.safe_load((session.directory / workflow_file).read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    summary = session.directory / "step-summary.md"
    env = {**session.env, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(session.directory), "CI": "true"}
    scripts = {}
    for step in steps:
        if "run" not in step:
            assert "uses" in step, step
            continue
        if step.get("name") in CI_STEPS_NOT_RUN:
            continue
        scripts[step.get("name", "")] = step["run"]
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=session.directory,
            env={**env, **{k: str(v) for k, v in (step.get("env") or {}).items()}},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"step {step.get('name')!r} exited {done.returncode}\n{done.stdout}{done.stderr}"
    text = summary.read_text(encoding="utf-8")
    assert "```mermaid\nflowchart TD\n" in text, text
    check_precommit_config(session)
    # A stale manifest fails the check step, with a diff.
    check = next(script for script in scripts.values() if "compile --check" in script)
    spec = next(
        p for p in sorted((session.directory / "workflows").glob("*.yaml")) if not p.name.endswith(".argo.yaml")
    )
    spec.write_text(spec.read_text(encoding="utf-8").replace("memory: 1Gi", "memory: 3Gi"), encoding="utf-8")
    stale = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", check], cwd=session.directory, env=env, capture_output=True, text=True
    )
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "+          memory: 3Gi" in stale.stdout and "stale" in stale.stderr, stale.stdout + stale.stderr


def check_precommit_config(session: Session) -> None:
    """Each hook of the page's .pre-commit-config.yaml, as pre-commit would call it on the page's files."""
    config = yaml.safe_load((session.directory / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    manifest = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    files = sorted(
        p.relative_to(session.directory).as_posix()
        for p in session.directory.rglob("*")
        if p.is_file() and not p.relative_to(session.directory).as_posix().startswith(".")
    )
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in hooks} == set(manifest), "the page's configuration uses every hook the repo has"
    for hook in hooks:
        merged = {**manifest[hook["id"]], **hook}
        chosen = [
            f
            for f in files
            if re.search(merged.get("files", ""), f)
            and not re.search(merged.get("exclude", "^$"), f)
            and ("yaml" not in merged.get("types", []) or f.endswith((".yaml", ".yml")))
        ]
        assert chosen, f"hook {hook['id']} gets no files"
        command = [*shlex.split(merged["entry"]), *merged.get("args", []), *chosen]
        done = subprocess.run(command, cwd=session.directory, env=session.env, capture_output=True, text=True)
        assert done.returncode == 0, (
            f"hook {hook['id']}: {command} exited {done.returncode}\n{done.stdout}{done.stderr}"
        )


def check_target_profile_page(session: Session) -> None:
    """Every YAML example of docs/target-profile.md is a valid target profile."""
    from osmo2argo.errors import CompileError
    from osmo2argo.target import load_target

    for block in blocks(ROOT / "docs" / "target-profile.md"):
        if block.language == "yaml":
            try:
                load_target(block.text, f"docs/target-profile.md:{block.line}")
            except CompileError as exc:
                pytest.fail(f"docs/target-profile.md:{block.line}: not a valid target profile: {exc.diagnostics}")


PAGE_CHECKS: dict[str, Callable[[Session], None]] = {
    "docs/ci.md": check_ci_page,
    "docs/target-profile.md": check_target_profile_page,
}


# -- reference pages against the code ----------------------------------------------------------------


def emitted_codes() -> set[str]:
    """Every diagnostic code osmo2argo/ can emit: quoted codes, and the schema codes built from a prefix."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "osmo2argo").rglob("*.py")))
    codes = set(re.findall(r'"([EW]\d{3})"', source))
    prefixes = set(re.findall(r'code_prefix(?:: str)?\s*=\s*"([EW]\d)"', source))
    suffixes = set(re.findall(r"\{code_prefix\}(\d\d)", source))
    assert prefixes and suffixes, "schema.py no longer builds codes from a prefix: update this test"
    return codes | {prefix + suffix for prefix in prefixes for suffix in suffixes}


def listed_codes() -> set[str]:
    """The codes docs/diagnostics.md has a row for (a row `E502` + en dash + `E509` stands for the range)."""
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    listed: set[str] = set()
    for first, last in re.findall(r"^\| ([EW]\d{3})(?:[–-]([EW]\d{3}))? \|", text, re.MULTILINE):
        if last:
            listed |= {f"{first[0]}{n}" for n in range(int(first[1:]), int(last[1:]) + 1)}
        else:
            listed.add(first)
    return listed


def test_diagnostics_page_lists_exactly_the_emitted_codes() -> None:
    emitted, listed = emitted_codes(), listed_codes()
    assert not emitted - listed, f"emitted but not in docs/diagnostics.md: {sorted(emitted - listed)}"
    assert not listed - emitted, f"in docs/diagnostics.md but never emitted: {sorted(listed - emitted)}"


def test_semantics_page_names_only_emitted_codes() -> None:
    text = (ROOT / "docs" / "semantics.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b([EW]\d{3})\b", text))
    assert not named - emitted_codes(), (
        f"docs/semantics.md names codes osmo2argo never emits: {sorted(named - emitted_codes())}"
    )


def schema_fields(
    schema: dict[str, Any], node: dict[str, Any], prefix: str, seen: set[str] | None = None
) -> Iterator[str]:
    """Dotted names of every field of the target schema (`platforms.<name>.nodeSelector`, `topologyKeys[].key`).

    A definition used in several places (the S3 fields of `storage.s3`, `storage.tos`, `storage.swift`)
    is spelled out under its first use only; a Secret reference (`{name, key}`) is one field.
    """
    seen = set() if seen is None else seen
    while "$ref" in node:
        definition = node["$ref"].rsplit("/", 1)[-1]
        if definition == "secretRef" or definition in seen:
            return
        seen.add(definition)
        node = schema["$defs"][definition]
    for option in node.get("anyOf", []):
        yield from schema_fields(schema, option, prefix, seen)
    for name, child in (node.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        yield from schema_fields(schema, child, path, seen)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and (extra.get("$ref") or extra.get("anyOf") or extra.get("properties")):
        yield f"{prefix}.<name>"
        yield from schema_fields(schema, extra, f"{prefix}.<name>", seen)
    items = node.get("items")
    if isinstance(items, dict):
        yield from schema_fields(schema, items, f"{prefix}[]", seen)


def test_target_profile_page_names_every_field() -> None:
    schema = json.loads((ROOT / "schema" / "target.schema.json").read_text(encoding="utf-8"))
    text = (ROOT / "docs" / "target-profile.md").read_text(encoding="utf-8")
    missing = sorted({f for f in schema_fields(schema, schema, "") if f"`{f}`" not in text})
    assert not missing, f"docs/target-profile.md does not describe: {missing}"


# -- the quick start's claims ------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return {**env, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


@pytest.mark.parametrize(
    "load",
    ['eval "$(osmo2argo completion bash)"', 'eval "$(_OSMO2ARGO_COMPLETE=bash_source osmo2argo)"'],
    ids=["completion-command", "click-variable"],
)
def test_bash_completion_completes_commands_and_options(load: str) -> None:
    script = f"""
{load}
complete() {{ COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _osmo2argo_completion osmo2argo; }}
complete osmo2argo gr; echo "${{COMPREPLY[@]}}"
complete osmo2argo submit --dry; echo "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=cli_env(), check=True)
    assert done.stdout.split("\n")[:2] == ["graph", "--dry-run"], done.stdout + done.stderr


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completion_scripts_load(shell: str) -> None:
    if shutil.which(shell) is None:
        missing(
            f"{shell} is not installed",
            f"{shell} is not installed; the bash completion test covers the completion itself",
        )
    if shell == "zsh":
        script = (
            'autoload -Uz compinit && compinit -u; eval "$(osmo2argo completion zsh)"; print -r -- ${_comps[osmo2argo]}'
        )
        expected = "_osmo2argo_completion"
    else:
        script = 'osmo2argo completion fish | source; complete -C "osmo2argo gr"'
        expected = "graph"
    done = subprocess.run([shell, "-c", script], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert expected in [line.split("\t")[0] for line in done.stdout.split("\n")], done.stdout + done.stderr


def run_on_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a command with a pseudo-terminal as stdout and stderr; what it wrote there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(args, stdout=follower, stderr=follower, env=env, cwd=cwd)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("workflow:\n  name: x\n  tasks:\n  - name: t\n    image: yes\n")
    command = [str(VENV_BIN / "osmo2argo"), "validate", "broken.yaml"]
    assert "\x1b[" in run_on_terminal(command, cli_env(), tmp_path)
    assert "\x1b[" not in run_on_terminal(command, cli_env(NO_COLOR="1"), tmp_path)
    piped = subprocess.run(command, capture_output=True, text=True, env=cli_env(), cwd=tmp_path)
    assert piped.returncode == 1 and "error[E201]" in piped.stderr and "\x1b[" not in piped.stderr
