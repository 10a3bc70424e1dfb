"""Argo's own tools for the conformance tests: `argo lint --offline` and a real API server.

`make tools` builds them from their Go modules into `.tools/` (tests/tools/build-argo.sh and
build-apiserver.sh). Outside CI the conformance tests skip with a reason when the tools are
missing; under CI (the CI environment variable set) a missing tool is a failure, never a skip.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
ADMIN_TOKEN = "osmo2argo-admin"
READONLY_TOKEN = "osmo2argo-readonly"
NAMESPACE = "argo"


def _missing(what: str) -> None:
    message = f"{what} is missing: run `make tools` (builds Argo's CLI and the test API server from Go modules)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI never skips the conformance checks")
    pytest.skip(message)


def argo_clis() -> dict[str, Path]:
    """`{"v3.7.18": path, "v4.0.7": path}`: the argo CLIs `make tools` built, newest last."""
    found = {p.name.removeprefix("argo-"): p for p in sorted((TOOLS / "bin").glob("argo-v*")) if os.access(p, os.X_OK)}
    return dict(sorted(found.items(), key=lambda item: [int(x) for x in item[0].lstrip("v").split(".")]))


def require_argo() -> dict[str, Path]:
    clis = argo_clis()
    if not clis:
        _missing("the argo CLI (.tools/bin/argo-v*)")
    return clis


def lint(cli: Path, paths: Sequence[Path]) -> tuple[int, str]:
    """`argo lint --offline` on files; (exit code, output)."""
    done = subprocess.run(
        [str(cli), "lint", "--offline", "--kinds=workflows,workflowtemplates", "-o", "simple", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1", "KUBECONFIG": os.devnull},
    )
    return done.returncode, done.stdout + done.stderr


def newest_crds() -> Path:
    """Argo's full CRDs of the newest line built (v4: 200-item limits and CEL rules)."""
    versions = sorted((TOOLS / "crds").glob("argo-v*"), key=lambda p: [int(x) for x in p.name[6:].split(".")])
    if not versions:
        _missing("Argo's CRDs (.tools/crds/argo-v*)")
    return versions[-1]


@dataclasses.dataclass
class ApiServer:
    """A running test API server with Argo's CRDs."""

    url: str
    ca: str
    data_dir: Path
    kubeconfig: Path
    process: subprocess.Popen[str]
    crd_files: list[Path]
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str = ADMIN_TOKEN,
        timeout: float = 30,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """One API request; `content_type="application/merge-patch+json"` for a merge PATCH."""
        context = ssl.create_default_context(cadata=self.ca)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, raw.decode("utf-8", "replace")

    def dry_run(self, manifest: dict[str, Any]) -> tuple[int, Any]:
        """Server-side dry-run create with strict field validation, in the manifest's namespace."""
        namespace = manifest["metadata"].get("namespace", NAMESPACE)
        plural = "workflowtemplates" if manifest["kind"] == "WorkflowTemplate" else "workflows"
        path = f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/{plural}?dryRun=All&fieldValidation=Strict"
        return self.request("POST", path, manifest)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        started = start_api_server(self.crd_files, self.data_dir, self.port)
        self.process, self.url, self.ca = started.process, started.url, started.ca


def start_api_server(
    crd_files: Sequence[Path], data_dir: Path | None = None, port: int = 0, timeout: float = 300
) -> ApiServer:
    binary = TOOLS / "bin" / "osmo2argo-apiserver"
    if not os.access(binary, os.X_OK):
        _missing("the test API server (.tools/bin/osmo2argo-apiserver)")
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="osmo2argo-apiserver-"))
    kubeconfig = data_dir / "kubeconfig"
    command = [
        str(binary),
        "--listen",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(data_dir / "etcd"),
        "--kubeconfig-out",
        str(kubeconfig),
        "--admin-token",
        ADMIN_TOKEN,
        "--readonly-token",
        READONLY_TOKEN,
    ]
    for crd in crd_files:
        command += ["--crd-dir", str(crd)]
    log = open(data_dir / "server.log", "a")  # noqa: SIM115 - the server writes to it until stopped
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("READY ") or not line:
            break
    if not line.startswith("READY "):
        process.kill()
        tail = (data_dir / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the test API server did not start: {line!r}\n{tail}")
    url = line.split()[1]
    import yaml

    config = yaml.safe_load(kubeconfig.read_text())
    import base64

    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    return ApiServer(url, ca, data_dir, kubeconfig, process, list(crd_files), int(url.rsplit(":", 1)[1]))


@pytest.fixture(scope="session")
def api_server() -> Iterator[ApiServer]:
    """One API server with Argo's Workflow and WorkflowTemplate CRDs for the whole session."""
    crds = newest_crds()
    files = [crds / "argoproj.io_workflows.yaml", crds / "argoproj.io_workflowtemplates.yaml"]
    server = start_api_server(files)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)
