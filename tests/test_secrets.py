"""Secrets never leak: not from the environment, not from credential files, not into any output.

osmo2argo never sees a credential's value: an OSMO spec names credentials and their keys, and the
target profile maps them to Kubernetes Secret names. So the tests check that

(a) a spec's `credentials` compile only to `secretKeyRef`s and `secret` volumes that name a Secret
    and a key, never to a value;
(b) values planted in the environment of the process that runs osmo2argo (AWS_SECRET_ACCESS_KEY,
    ARGO_TOKEN, a KUBECONFIG file with a token, ~/.aws/credentials, ...) never appear in its
    output: manifests, warnings, `--format json`/`github` diagnostics, `--debug` output or an
    internal-error message (an internal error is simulated by replacing a pipeline function);
(c) a template that reads a variable named like a secret gets a diagnostic that does not echo the
    environment, and a template that reaches for `os.environ` through the sandbox is refused.

Every CLI run gets a small, made-up environment (never the real one), and every byte it writes,
to stdout, stderr or an output file, is scanned for the marker.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from osmo2argo.compiler import compile_spec
from osmo2argo.errors import CompileError
from osmo2argo.pipeline import check_spec
from osmo2argo.target import load_target

from .measure import Run, run_cli

MARKER = "SECRET-MARKER-7f3a9c"
MARKER_CORE = "7f3a9c"  # what any echo, even a partial one, would contain
TIMEOUT_S = 60.0

SPEC = """\
workflow:
  name: creds
  tasks:
  - name: train
    image: ubuntu:24.04
    command: [bash, -c, 'test -n "$GITHUB_TOKEN" && ls /root/.aws /etc/registry']
    credentials:
      github-pat:
        GITHUB_TOKEN: github-pat
      ngc:
        NGC_API_KEY: api-key
      aws-creds: /root/.aws
      registry_Login: /etc/registry
    environment:
      AWS_REGION: us-west-2
    inputs:
    - url: s3://my-bucket/data/
    outputs:
    - url: s3://my-bucket/models/
"""

TARGET = """\
storage:
  s3:
    endpoint: s3.amazonaws.com
    region: us-west-2
    accessKeySecret: {name: s3-creds, key: accessKey}
    secretKeySecret: {name: s3-creds, key: secretKey}
credentials:
  github-pat: {secret: gh-secret, keys: [github-pat]}
  ngc: ngc-secret
  aws-creds: {secret: aws-secret, keys: [credentials, config]}
"""

# A template that reads variables named like secrets, and one that tries to reach os.environ.
UNDEFINED_SECRET_SPEC = """\
workflow:
  name: creds
  tasks:
  - name: a
    image: ubuntu:24.04
    command: [echo, "{{ AWS_SECRET_ACCESS_KEY }}", "{{ ARGO_TOKEN }}", "{{ env.GITHUB_TOKEN }}"]
"""

ESCAPE_SPECS = {
    "lipsum-globals": "{{ lipsum.__globals__['os'].environ['AWS_SECRET_ACCESS_KEY'] }}",
    "cycler-globals": "{{ cycler.__init__.__globals__.os.environ.AWS_SECRET_ACCESS_KEY }}",
    "self-context": "{{ self._TemplateReference__context.environment.globals }}",
    "format-string": "{0.__init__.__globals__[os].environ}",
    "attr-filter": "{{ (lipsum|attr('__globals__')).os.environ }}",
}


def _escape_spec(expression: str) -> str:
    if not expression.startswith("{{"):
        expression = "{{ '" + expression + "'.format(cycler) }}"
    return (
        "workflow:\n  name: creds\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n"
        f'    command: [echo, "{expression}"]\n'
    )


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: planted
  cluster:
    server: {server}
    insecure-skip-tls-verify: true
users:
- name: planted
  user:
    token: {marker}-kube-token
    username: admin
    password: {marker}-kube-password
contexts:
- name: planted
  context: {{cluster: planted, user: planted, namespace: ns}}
current-context: planted
"""


def assert_no_marker(where: str, *texts: str | bytes) -> None:
    """No planted value in any of `texts`; a failure shows only a small window around it."""
    for text in texts:
        data = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
        found = data.find(MARKER_CORE)
        assert found < 0, f"{where}: a planted secret leaks: ...{data[max(found - 100, 0) : found + 60]!r}..."


def assert_clean_run(where: str, run: Run, *codes: int) -> None:
    assert not run.timed_out, f"{where}: still running after {TIMEOUT_S:g} s"
    assert_no_marker(where, run.stdout, run.stderr)
    assert run.code in codes, f"{where}: exit {run.code}, expected {codes}:\n{run.err[-2000:]}"


@pytest.fixture
def planted(tmp_path: Path) -> dict[str, str]:
    """A made-up environment full of planted secrets, with files that hold more of them."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {MARKER}-id\naws_secret_access_key = {MARKER}-aws-file\n"
    )
    (home / ".kube").mkdir()
    kubeconfig = KUBECONFIG.format(server="https://127.0.0.1:1", marker=MARKER)
    (home / ".kube" / "config").write_text(kubeconfig)
    (home / ".netrc").write_text(f"machine github.com login x password {MARKER}-netrc\n")
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {"nvcr.io": {"auth": f"{MARKER}-docker"}}}))
    gcp = tmp_path / "gcp.json"
    gcp.write_text(json.dumps({"type": "service_account", "private_key": f"{MARKER}-gcp"}))
    planted_kubeconfig = tmp_path / "kubeconfig"
    planted_kubeconfig.write_text(kubeconfig)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "AWS_ACCESS_KEY_ID": f"{MARKER}-aws-id",
        "AWS_SECRET_ACCESS_KEY": f"{MARKER}-aws",
        "AWS_SESSION_TOKEN": f"{MARKER}-aws-session",
        "ARGO_TOKEN": f"Bearer {MARKER}-argo",
        "GITHUB_TOKEN": f"{MARKER}-github",
        "NGC_API_KEY": f"{MARKER}-ngc",
        "OSMO_TOKEN": f"{MARKER}-osmo",
        "AZURE_STORAGE_KEY": f"{MARKER}-azure",
        "GOOGLE_APPLICATION_CREDENTIALS": str(gcp),
        "KUBECONFIG": str(planted_kubeconfig),
    }


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    written = {
        "spec": SPEC,
        "target": TARGET,
        "undefined": UNDEFINED_SECRET_SPEC,
        "invalid": SPEC.replace("image: ubuntu:24.04", "image: [ubuntu]"),
    }
    paths = {}
    for name, text in written.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        paths[name] = path
    return paths


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# -- (a) credentials become references, never values ------------------------------------------------


def test_credentials_compile_to_secret_references_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_SECRET_ACCESS_KEY": MARKER, "ARGO_TOKEN": MARKER, "GITHUB_TOKEN": MARKER}.items():
        monkeypatch.setenv(name, value)
    compiled = compile_spec(SPEC, "creds.yaml", target=load_target(TARGET, "target.yaml"))
    assert_no_marker("manifest", compiled.text)
    assert_no_marker("warnings", *(f"{d.message} {d.hint}" for d in compiled.warnings))

    selectors = []
    for node in _walk(compiled.manifest):
        if not isinstance(node, dict):
            continue
        assert "stringData" not in node, "the manifest must not carry Secret data"
        assert node.get("kind") != "Secret"
        for key, value in node.items():
            if key == "secretKeyRef" or (key.endswith("Secret") and isinstance(value, dict)):
                assert set(value) <= {"name", "key", "optional"}, f"{key} holds more than a reference: {value}"
                selectors.append((key, value["name"], value["key"]))
    assert ("secretKeyRef", "gh-secret", "github-pat") in selectors
    assert ("secretKeyRef", "ngc-secret", "api-key") in selectors
    assert {(k, n, s) for k, n, s in selectors if k != "secretKeyRef"} == {
        ("accessKeySecret", "s3-creds", "accessKey"),
        ("secretKeySecret", "s3-creds", "secretKey"),
    }

    template = next(t for t in compiled.manifest["spec"]["templates"] if t.get("container"))
    env = {e["name"]: e for e in template["container"]["env"]}
    for name in ("GITHUB_TOKEN", "NGC_API_KEY"):
        assert "value" not in env[name] and set(env[name]["valueFrom"]) == {"secretKeyRef"}
    volumes = [v for v in template["volumes"] if "secret" in v]
    assert all(set(v["secret"]) <= {"secretName", "items", "defaultMode", "optional"} for v in volumes)
    assert sorted(v["secret"]["secretName"] for v in volumes) == ["aws-secret", "registry-login"]
    mounts = [m for m in template["container"]["volumeMounts"] if m["name"].startswith("credential-")]
    assert all(m.get("readOnly") is True for m in mounts)


# -- (b) the environment never reaches any output ------------------------------------------------


def test_validate_and_compile_outputs_carry_no_planted_secret(
    planted: dict[str, str], files: dict[str, Path], tmp_path: Path
) -> None:
    spec, target, invalid = str(files["spec"]), str(files["target"]), str(files["invalid"])
    out = tmp_path / "out.yaml"
    runs: list[tuple[str, list[str], tuple[int, ...]]] = [
        ("validate (text, with a warning)", ["validate", spec], (0,)),
        ("validate --format json", ["validate", spec, "--format", "json"], (0,)),
        ("validate --format github", ["validate", spec, "--format", "github"], (0,)),
        ("validate --debug", ["validate", spec, "--debug"], (0,)),
        ("validate invalid --format json", ["validate", invalid, "--format", "json"], (1,)),
        ("validate invalid --debug", ["validate", invalid, "--debug"], (1,)),
        ("compile to stdout", ["compile", spec, "--target", target], (0,)),
        ("compile --debug", ["compile", spec, "--target", target, "--debug"], (0,)),
        ("compile --strict (warning becomes an error)", ["compile", spec, "--target", target, "--strict"], (1,)),
        (
            "compile -o FILE --format json",
            ["compile", spec, "--target", target, "-o", str(out), "--format", "json"],
            (0,),
        ),
        ("compile invalid --format github", ["compile", invalid, "--format", "github", "--debug"], (1,)),
        ("target --default", ["target", "--default"], (0,)),
        ("target --check", ["target", "--check", target], (0,)),
    ]
    for where, args, codes in runs:
        run = run_cli(args, timeout=TIMEOUT_S, env=planted)
        assert_clean_run(where, run, *codes)
        assert "Traceback" not in run.err, f"{where}:\n{run.err[-2000:]}"
    assert_no_marker("compile -o FILE", out.read_text())
    manifest = yaml.safe_load(out.read_text())
    assert manifest["kind"] == "Workflow"


def test_the_json_diagnostics_of_a_template_that_reads_secret_names_echo_nothing(
    planted: dict[str, str], files: dict[str, Path]
) -> None:
    run = run_cli(["validate", str(files["undefined"]), "--format", "json"], timeout=TIMEOUT_S, env=planted)
    assert_clean_run("validate undefined --format json", run, 1)
    diagnostics = json.loads(run.out)
    assert [d["code"] for d in diagnostics] == ["E122"]
    assert "AWS_SECRET_ACCESS_KEY" in diagnostics[0]["message"]  # the name, never the value


INTERNAL_ERROR = """\
import os
import sys

import osmo2argo.{module} as patched


def exploding(*args, **kwargs):
    token = os.environ.get("AWS_SECRET_ACCESS_KEY")  # a secret in a local of the failing frame
    assert token
    raise RuntimeError("simulated internal error in {module}.{function}")


setattr(patched, "{function}", exploding)
from osmo2argo.cli import main

sys.argv[0] = "osmo2argo"
sys.exit(main())
"""


@pytest.mark.parametrize(
    ("command", "module", "function"),
    [("compile", "compiler", "lower"), ("validate", "frontend", "build")],
    ids=["lowering", "frontend"],
)
def test_an_internal_error_reports_no_secret(
    planted: dict[str, str], files: dict[str, Path], command: str, module: str, function: str
) -> None:
    code = INTERNAL_ERROR.format(module=module, function=function)
    args = [command, str(files["spec"])] + (["--target", str(files["target"])] if command == "compile" else [])
    quiet = run_cli(args, timeout=TIMEOUT_S, env=planted, python_code=code)
    assert_clean_run(f"{command} with an internal error", quiet, 4)
    assert "internal error (RuntimeError)" in quiet.err
    assert "Traceback" not in quiet.err and "simulated internal error" not in quiet.err

    debug = run_cli([*args, "--debug"], timeout=TIMEOUT_S, env=planted, python_code=code)
    assert_clean_run(f"{command} --debug with an internal error", debug, 4)
    assert "Traceback (most recent call last)" in debug.err
    assert f"simulated internal error in {module}.{function}" in debug.err


# -- (c) templates cannot read the environment -------------------------------------------------------


def test_a_template_reading_secret_names_gets_undefined_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_SECRET_ACCESS_KEY", "ARGO_TOKEN", "env", "GITHUB_TOKEN"):
        monkeypatch.setenv(name, f"{MARKER}-{name}")
    with pytest.raises(CompileError) as caught:
        check_spec(UNDEFINED_SECRET_SPEC, "undefined.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E122"
    assert "'AWS_SECRET_ACCESS_KEY' is undefined" in diagnostic.message
    span = diagnostic.span
    assert_no_marker("E122", diagnostic.message, diagnostic.hint or "", (span.rendered_line or "") if span else "")


@pytest.mark.parametrize("expression", list(ESCAPE_SPECS.values()), ids=list(ESCAPE_SPECS))
def test_a_template_cannot_reach_os_environ(monkeypatch: pytest.MonkeyPatch, expression: str) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", MARKER)
    with pytest.raises(CompileError) as caught:
        check_spec(_escape_spec(expression), "escape.yaml")
    codes = {d.code for d in caught.value.diagnostics}
    assert codes == {"E123"}, [d.message for d in caught.value.diagnostics]
    for d in caught.value.diagnostics:
        assert_no_marker("E123", d.message, d.hint or "", (d.span.rendered_line or "") if d.span else "")


def test_a_template_cannot_reach_os_environ_through_the_cli(planted: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "escape.yaml"
    for name, expression in ESCAPE_SPECS.items():
        path.write_text(_escape_spec(expression))
        run = run_cli(["validate", str(path), "--debug"], timeout=TIMEOUT_S, env=planted)
        assert_clean_run(f"sandbox escape {name}", run, 1)
        assert "error[E123]" in run.err


# -- files a spec or its path can point at -------------------------------------------------------------


def test_localpath_cannot_pull_the_environment_into_the_manifest(planted: dict[str, str], tmp_path: Path) -> None:
    """A spec under review names files of the machine that compiles it: each is refused with E133.

    The spec sits in its own checkout directory, as in CI; the credentials are elsewhere.
    """
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "environ").symlink_to("/proc/self/environ")  # a symlink committed in a pull request
    spec = checkout / "exfiltrate.yaml"
    spec.write_text(
        "workflow:\n  name: exfiltrate\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [cat, /tmp/e]\n"
        "    files:\n    - path: /tmp/e\n      localpath: /proc/self/environ\n"
        f"    - path: /tmp/k\n      localpath: {planted['KUBECONFIG']}\n"
        "    - path: /tmp/s\n      localpath: environ\n"
        "    - path: /tmp/h\n      localpath: ../home/.aws/credentials\n"
    )
    run = run_cli(["compile", str(spec)], timeout=TIMEOUT_S, env=planted)
    assert not run.timed_out
    assert_no_marker("compile with localpath: /proc/self/environ", run.stdout, run.stderr)
    assert run.code == 1
    assert run.err.count("error[E133]") == 4, run.err


def test_files_root_widens_the_tree_localpath_may_read(tmp_path: Path) -> None:
    """--files-root DIR lets a spec in a subdirectory read a shared file above it, and only that tree."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.sh").write_text("echo shared\n")
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "wf.yaml"
    spec.write_text(
        "workflow:\n  name: wf\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [sh, /tmp/run.sh]\n"
        "    files:\n    - path: /tmp/run.sh\n      localpath: ../scripts/run.sh\n"
    )
    refused = run_cli(["compile", str(spec)], timeout=TIMEOUT_S)
    assert refused.code == 1 and "error[E133]" in refused.err, refused.err
    allowed = run_cli(["compile", str(spec), "--files-root", str(tmp_path)], timeout=TIMEOUT_S)
    assert allowed.code == 0, allowed.err
    assert "echo shared" in allowed.out


def test_a_spec_symlinked_to_the_environment_is_not_echoed(planted: dict[str, str], tmp_path: Path) -> None:
    link = tmp_path / "spec.yaml"
    link.symlink_to("/proc/self/environ")
    run = run_cli(["validate", str(link)], timeout=TIMEOUT_S, env=planted)
    assert run.code == 1
    assert_no_marker("validate of a symlink to /proc/self/environ", run.stdout, run.stderr)


# -- submit: the one command that reads credentials -----------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """An API server that refuses everything with 401 and remembers the Authorization headers it saw."""

    seen: ClassVar[list[str]] = []

    def _refuse(self) -> None:
        type(self).seen.append(self.headers.get("Authorization", ""))
        body = json.dumps(
            {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized", "code": 401}
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def refusing_server() -> Iterator[str]:
    _Recorder.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _has_submit(planted: dict[str, str]) -> bool:
    return run_cli(["submit", "--help"], timeout=TIMEOUT_S, env=planted).code == 0


def test_submit_failures_do_not_echo_tokens(
    planted: dict[str, str], files: dict[str, Path], refusing_server: str, tmp_path: Path
) -> None:
    if not _has_submit(planted):
        pytest.skip("this build has no submit command")
    spec, target = str(files["spec"]), str(files["target"])
    kubeconfig = tmp_path / "kubeconfig-local"
    kubeconfig.write_text(KUBECONFIG.format(server=refusing_server, marker=MARKER))
    runs = [
        ("submit, unreachable API server", ["submit", spec, "--target", target, "--request-timeout", "5"], planted),
        (
            "submit --debug, API server answers 401",
            ["submit", spec, "--target", target, "--request-timeout", "5", "--debug"],
            {**planted, "KUBECONFIG": str(kubeconfig)},
        ),
        (
            "submit --via argo-server, server answers 401",
            ["submit", spec, "--target", target, "--via", "argo-server", "--argo-server", refusing_server, "--debug"],
            planted,
        ),
        (
            "submit --via argo-server, unreachable",
            ["submit", spec, "--target", target, "--via", "argo-server", "--argo-server", "http://127.0.0.1:1"],
            planted,
        ),
    ]
    for where, args, env in runs:
        run = run_cli(args, timeout=TIMEOUT_S, env=env)
        print(f"{where}: exit {run.code} in {run.seconds:.1f} s: {run.err.strip()[-300:]}")
        assert_clean_run(where, run, 3)
        assert "Traceback" not in run.err, f"{where}:\n{run.err[-2000:]}"
    # The planted tokens were really used (so the runs above tested something): the server saw them.
    assert any(MARKER in header for header in _Recorder.seen), "no planted token reached the server"
