"""`osmo2argo submit` against a real API server: the CLI as users run it, checked by what ends up on the server.

Every submit runs `python -m osmo2argo.cli submit ...` in a subprocess with KUBECONFIG pointing at the test
API server (tests/apiserver), or at a fault-injecting proxy in front of it. Each test works in a namespace of
its own (the server does not check that namespaces exist), so "exactly one Workflow" is counted over the
whole namespace, not only over the submission label the submitter stamps.

Section 8 runs a real `argo server` (the newest argo CLI built) on the test API server, which answers the
few core-API calls it makes (tests/apiserver/argo_server_shim.go).

Marked `cluster`; needs `make tools` (skips with a reason outside CI, fails under CI).
"""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import json
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .argo_tools import ADMIN_TOKEN, READONLY_TOKEN, ApiServer, require_argo, start_api_server
from .conftest import ROOT

pytestmark = pytest.mark.cluster

HELLO = ROOT / "tests" / "examples" / "hello.yaml"
LABEL = "osmo2argo.nvidia.com/submission"
WORKFLOWS = "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows"
MERGE_PATCH = "application/merge-patch+json"
EXPIRED_TOKEN = "expired-token"
CREATED = re.compile(r"^(?P<namespace>[^/\s]+)/(?P<name>\S+) created$", re.MULTILINE)

# What each injected fault did, printed at the end of the module (pytest -s shows it).
FAULT_RECORD: list[str] = []


# -- running the CLI ----------------------------------------------------------------------------


def cli_env(kubeconfig: Path | str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARGO_TOKEN", "KUBECONFIG")}
    return {**env, "KUBECONFIG": str(kubeconfig), "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


def submit_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "osmo2argo.cli", "submit", *args]


def run_submit(kubeconfig: Path | str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        submit_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env(kubeconfig), cwd=ROOT
    )


def explain(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"


def workflows(server: ApiServer, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
    path = WORKFLOWS.format(namespace=namespace) + (f"?labelSelector={selector}" if selector else "")
    status, body = server.request("GET", path)
    assert status == 200, body
    items: list[dict[str, Any]] = body["items"]
    return items


def only_workflow(server: ApiServer, namespace: str) -> dict[str, Any]:
    """The one Workflow of the namespace; it must carry a submission label."""
    found = workflows(server, namespace)
    assert len(found) == 1, [w["metadata"]["name"] for w in found]
    assert re.fullmatch(r"[0-9a-f]{16}", found[0]["metadata"]["labels"].get(LABEL, "")), found[0]["metadata"]
    assert len(workflows(server, namespace, f"{LABEL}={found[0]['metadata']['labels'][LABEL]}")) == 1
    return found[0]


def kubeconfig_copy(server: ApiServer, path: Path, *, url: str | None = None, token: str | None = None) -> Path:
    """The server's kubeconfig, optionally pointing at another URL (a proxy) or with another admin token."""
    config = yaml.safe_load(server.kubeconfig.read_text())
    if url is not None:
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = url
    if token is not None:
        for user in config["users"]:
            if user["name"] == "admin":
                user["user"]["token"] = token
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def namespace() -> str:
    return f"submit-{secrets.token_hex(4)}"


@pytest.fixture(scope="module", autouse=True)
def fault_record() -> Iterator[None]:
    yield
    if FAULT_RECORD:
        print("\nfaults injected and how each ended:\n  " + "\n  ".join(FAULT_RECORD))


# -- 1. creating ----------------------------------------------------------------------------------


def test_create_compiles_the_spec_and_creates_one_labelled_workflow(api_server: ApiServer, namespace: str) -> None:
    done = run_submit(api_server.kubeconfig, str(HELLO), "-n", namespace)
    assert done.returncode == 0, explain(done)
    printed = CREATED.search(done.stdout)
    assert printed, explain(done)
    workflow = only_workflow(api_server, namespace)
    assert printed["namespace"] == namespace
    assert printed["name"] == workflow["metadata"]["name"]
    assert workflow["metadata"]["name"].startswith("hello-osmo2argo-")
    assert workflow["metadata"]["labels"]["osmo2argo.nvidia.com/workflow"] == "hello-osmo2argo"
    assert [t["name"] for t in workflow["spec"]["templates"]] == ["main", "task-write", "task-read"]


def test_create_json_output_and_ui_link(api_server: ApiServer, namespace: str, tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(f"uiUrl: https://argo.example.com/\nnamespace: {namespace}\n")

    done = run_submit(api_server.kubeconfig, str(HELLO), "--target", str(target), "--output", "json")
    assert done.returncode == 0, explain(done)
    result = json.loads(done.stdout)
    workflow = only_workflow(api_server, namespace)
    assert result["name"] == workflow["metadata"]["name"]
    assert result["namespace"] == namespace
    assert result["uid"] == workflow["metadata"]["uid"]
    assert result["dryRun"] is False
    assert result["attempts"] == 1
    assert result["url"] == f"https://argo.example.com/workflows/{namespace}/{result['name']}"

    done = run_submit(api_server.kubeconfig, str(HELLO), "--target", str(target))
    assert done.returncode == 0, explain(done)
    printed = CREATED.search(done.stdout)
    assert printed, explain(done)
    assert f"https://argo.example.com/workflows/{namespace}/{printed['name']}" in done.stdout.splitlines()
    assert len(workflows(api_server, namespace)) == 2  # one per submit


# -- 2. server-side dry run -------------------------------------------------------------------------


def compiled_manifest() -> dict[str, Any]:
    from osmo2argo.compiler import compile_spec

    return compile_spec(HELLO.read_text(encoding="utf-8"), HELLO.name).manifest


def test_dry_run_creates_nothing(api_server: ApiServer, namespace: str) -> None:
    done = run_submit(api_server.kubeconfig, str(HELLO), "-n", namespace, "--dry-run", "server", "--output", "json")
    assert done.returncode == 0, explain(done)
    result = json.loads(done.stdout)
    assert result["dryRun"] is True
    assert result["namespace"] == namespace
    assert result["name"].startswith("hello-osmo2argo-")
    assert workflows(api_server, namespace) == []


def test_dry_run_strict_rejection_names_the_osmo_task(api_server: ApiServer, namespace: str, tmp_path: Path) -> None:
    manifest = compiled_manifest()
    assert manifest["spec"]["templates"][2]["name"] == "task-read"
    manifest["spec"]["templates"][2]["container"]["imagePullPolicyy"] = "Always"  # a typo: unknown field
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(manifest))

    done = run_submit(api_server.kubeconfig, "--manifest", str(path), "-n", namespace, "--dry-run", "server")
    assert done.returncode == 3, explain(done)
    assert "the API server rejected the manifest" in done.stderr
    assert 'unknown field "spec.templates[2].container.imagePullPolicyy" (OSMO task read)' in done.stderr
    assert workflows(api_server, namespace) == []


def test_dry_run_rejects_more_templates_than_argo_allows(api_server: ApiServer, namespace: str, tmp_path: Path) -> None:
    manifest = compiled_manifest()
    templates = manifest["spec"]["templates"]
    templates += [{**templates[1], "name": f"copy-{i}"} for i in range(201 - len(templates))]
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(manifest))

    done = run_submit(api_server.kubeconfig, "--manifest", str(path), "-n", namespace, "--dry-run", "server")
    assert done.returncode == 3, explain(done)
    assert "spec.templates: Too many: 201: must have at most 200 items" in done.stderr
    assert workflows(api_server, namespace) == []


def test_schema_error_in_a_template_is_mapped_by_field(api_server: ApiServer, namespace: str, tmp_path: Path) -> None:
    manifest = compiled_manifest()
    manifest["spec"]["templates"][1]["container"]["image"] = 42  # write's image: not a string
    path = tmp_path / "typed.yaml"
    path.write_text(yaml.safe_dump(manifest))

    done = run_submit(api_server.kubeconfig, "--manifest", str(path), "-n", namespace)
    assert done.returncode == 3, explain(done)
    assert "spec.templates[1].container.image: Invalid value" in done.stderr
    assert "(OSMO task write)" in done.stderr
    assert workflows(api_server, namespace) == []


# -- 3. and 4. clusters that cannot take the workflow ------------------------------------------------


@pytest.fixture(scope="module")
def bare_server() -> Iterator[ApiServer]:
    """An API server without Argo's CRDs, on a fresh data directory."""
    server = start_api_server([])
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


def test_argo_not_installed(bare_server: ApiServer, namespace: str) -> None:
    done = run_submit(bare_server.kubeconfig, str(HELLO), "-n", namespace)
    assert done.returncode == 3, explain(done)
    assert "the cluster does not serve workflows.argoproj.io: Argo Workflows (its CRDs) is not installed" in (
        done.stderr
    )
    assert "hint: install Argo Workflows" in done.stderr


def test_unauthorised(api_server: ApiServer, namespace: str, tmp_path: Path) -> None:
    kubeconfig = kubeconfig_copy(api_server, tmp_path / "kubeconfig", token=EXPIRED_TOKEN)
    done = run_submit(kubeconfig, str(HELLO), "-n", namespace)
    assert done.returncode == 3, explain(done)
    assert "osmo2argo: unauthorised: the API server refused the credentials" in done.stderr
    assert workflows(api_server, namespace) == []


def test_forbidden_names_the_rbac_rule_needed(api_server: ApiServer, namespace: str) -> None:
    done = run_submit(api_server.kubeconfig, str(HELLO), "-n", namespace, "--context", "readonly")
    assert done.returncode == 3, explain(done)
    assert "osmo2argo: forbidden:" in done.stderr
    assert f"needs RBAC permission to 'create' 'workflows.argoproj.io' in namespace '{namespace}'" in done.stderr
    assert 'User "readonly" cannot create resource "workflows"' in done.stderr
    assert workflows(api_server, namespace) == []


# -- 5. an API server that goes away ----------------------------------------------------------------


def test_unreachable_then_restarted_during_a_submit(api_server: ApiServer, namespace: str, tmp_path: Path) -> None:
    """The server stops: a submit gives up after its retries; a submit running across a restart succeeds once.

    Uses the session's server (a second one would cost ~20 s to start) and leaves it running again.
    """
    kubeconfig = kubeconfig_copy(api_server, tmp_path / "kubeconfig")  # the restart rewrites the server's own
    restarted = threading.Event()

    def restart() -> None:
        time.sleep(2)  # the CLI is running and its first attempts are refused
        api_server.restart()
        restarted.set()

    restarter = threading.Thread(target=restart, daemon=True)
    process: subprocess.Popen[str] | None = None
    api_server.stop()
    try:
        started = time.monotonic()
        done = run_submit(kubeconfig, str(HELLO), "-n", namespace, "--retries", "2", "--max-backoff", "0.2")
        assert done.returncode == 3, explain(done)
        assert "osmo2argo: cannot reach the API server:" in done.stderr
        assert "Connection refused" in done.stderr
        assert "hint: check the kubeconfig's server address" in done.stderr
        FAULT_RECORD.append(
            f"server stopped, --retries 2: exit 3 'cannot reach the API server' in {time.monotonic() - started:.1f} s"
        )

        # A submit that keeps retrying (~1 s apart) while the server comes back on the same port and data.
        process = subprocess.Popen(
            submit_command(str(HELLO), "-n", namespace, "--output", "json", "--retries", "120", "--max-backoff", "1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(kubeconfig),
            cwd=ROOT,
        )
        started = time.monotonic()
        restarter.start()
        stdout, stderr = process.communicate(timeout=150)
        took = time.monotonic() - started
        restarter.join(timeout=120)
        done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        assert done.returncode == 0, explain(done)
        result = json.loads(stdout)
        assert result["attempts"] > 1, result  # the submit did meet the outage
        workflow = only_workflow(api_server, namespace)
        assert workflow["metadata"]["name"] == result["name"]
        FAULT_RECORD.append(
            f"server restarted during a submit: created after {result['attempts']} attempts, {took:.1f} s; 1 workflow"
        )
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if restarter.is_alive():
            restarter.join(timeout=120)
        if not restarted.is_set():
            api_server.restart()  # leave the session's server running for the tests after this one


# -- 6. throttling and faults, injected by a proxy ----------------------------------------------------


@dataclasses.dataclass
class Fault:
    """What the proxy does to the next `times` requests of `method` on Workflows.

    status: answer `status` (with `headers`) without forwarding; reset: reset the connection without
    forwarding; drop: forward (the server acts on it), then reset instead of relaying the answer;
    delay: hold the request `seconds` (the client gives up), then forward it.
    """

    method: str
    action: str
    status: int = 0
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    times: int = 1


@dataclasses.dataclass
class Exchange:
    """One request the proxy saw, what it did, and what the server answered (if it was forwarded)."""

    at: float
    method: str
    path: str
    action: str
    upstream: int | None = None
    answer: dict[str, Any] | None = None


class FaultProxy(http.server.ThreadingHTTPServer):
    """A TLS-terminating HTTP proxy on loopback in front of the test API server, injecting faults.

    It presents the API server's own serving certificate, so a kubeconfig that differs from the server's
    only in the port is trusted as is. Faults apply to requests on `.../workflows`, in order.
    """

    daemon_threads = True

    def __init__(self, server: ApiServer, faults: list[Fault]) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = server
        self.faults = faults
        self.log: list[Exchange] = []
        self.lock = threading.Lock()
        self.busy = 0
        pki = server.data_dir / "etcd" / "pki"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki / "apiserver.crt", pki / "apiserver.key")
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: it looks the address up in DNS
        self.server_name, self.server_port = "127.0.0.1", self.socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def take(self, method: str, path: str) -> Fault | None:
        if "/workflows" not in path:
            return None
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def forward(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        context = ssl.create_default_context(cadata=self.upstream.ca)
        connection = http.client.HTTPSConnection("127.0.0.1", self.upstream.port, context=context, timeout=30)
        try:
            skip = {"host", "connection", "content-length", "accept-encoding", "keep-alive"}
            connection.request(
                method, path, body=body or None, headers={k: v for k, v in headers.items() if k.lower() not in skip}
            )
            response = connection.getresponse()
            data = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() in ("content-type", "retry-after")}
            return response.status, kept, data
        finally:
            connection.close()

    def posts(self) -> list[Exchange]:
        return [e for e in self.log if e.method == "POST"]

    def settle(self, timeout: float = 30) -> None:
        """Wait until no request is being handled (a delayed create may still be on its way)."""
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.busy += 1
        try:
            self.relay()
        finally:
            with self.server.lock:
                self.server.busy -= 1

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def relay(self) -> None:
        proxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = proxy.take(self.command, self.path)
        exchange = Exchange(time.monotonic(), self.command, self.path, fault.action if fault else "forward")
        proxy.log.append(exchange)
        if fault is not None and fault.action == "status":
            reason = http.HTTPStatus(fault.status).phrase
            message = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": f"injected: {reason}"}
            self.answer(
                fault.status, {"Content-Type": "application/json", **fault.headers}, json.dumps(message).encode()
            )
            return
        if fault is not None and fault.action == "reset":
            self.reset()
            return
        if fault is not None and fault.action == "delay":
            time.sleep(fault.seconds)
        status, headers, data = proxy.forward(self.command, self.path, self.headers, body)
        exchange.upstream = status
        try:
            exchange.answer = json.loads(data)
        except ValueError:
            exchange.answer = None
        if fault is not None and fault.action == "drop":
            self.reset()
            return
        try:
            self.answer(status, headers, data)
        except OSError:  # the client gave up waiting (a delayed request)
            self.close_connection = True

    def answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reset(self) -> None:
        """Abort the connection with a TCP reset: no answer, no TLS close."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.rfile.close()
        self.close_connection = True


@pytest.fixture
def proxied(api_server: ApiServer, tmp_path: Path) -> Iterator[tuple[FaultProxy, Path]]:
    proxy = FaultProxy(api_server, [])
    try:
        yield proxy, kubeconfig_copy(api_server, tmp_path / "kubeconfig", url=proxy.url)
    finally:
        proxy.close()


QUICK = ("--retries", "4", "--max-backoff", "0.5")

FAULTS = {
    "429 with Retry-After: 1": [Fault("POST", "status", 429, {"Retry-After": "1"})],
    "503 twice": [Fault("POST", "status", 503, times=2)],
    "connection reset before the response": [Fault("POST", "reset")],
    "create reached the server, response dropped": [Fault("POST", "drop")],
    "429, reset, then the response of the create dropped": [
        Fault("POST", "status", 429, {"Retry-After": "0"}),
        Fault("POST", "reset"),
        Fault("POST", "drop"),
    ],
}


@pytest.mark.parametrize("case", list(FAULTS))
def test_transient_faults_end_in_exactly_one_workflow(
    api_server: ApiServer, namespace: str, proxied: tuple[FaultProxy, Path], case: str
) -> None:
    proxy, kubeconfig = proxied
    proxy.faults = [dataclasses.replace(f) for f in FAULTS[case]]
    started = time.monotonic()
    done = run_submit(kubeconfig, str(HELLO), "-n", namespace, "--output", "json", *QUICK)
    took = time.monotonic() - started
    assert done.returncode == 0, explain(done)
    result = json.loads(done.stdout)
    workflow = only_workflow(api_server, namespace)
    assert result["name"] == workflow["metadata"]["name"]
    posts = proxy.posts()
    assert result["attempts"] == len(posts), [(e.action, e.upstream) for e in proxy.log]
    assert all(f.times == 0 for f in proxy.faults), "every fault was injected"
    dropped = [e for e in posts if e.action == "drop"]
    if dropped:  # the create whose answer was lost is the one reported, not repeated
        assert dropped[0].answer is not None
        assert dropped[0].answer["metadata"]["name"] == result["name"]
        assert posts[-1] is dropped[0]
    if case.startswith("429 with Retry-After"):
        assert posts[1].at - posts[0].at >= 0.95, "Retry-After: 1 was honoured"
    FAULT_RECORD.append(
        f"{case}: exit 0 after {result['attempts']} create attempt(s), {len(proxy.log)} requests, {took:.1f} s; "
        f"1 workflow"
    )


def test_persistent_throttling_gives_up_after_the_retries(
    api_server: ApiServer, namespace: str, proxied: tuple[FaultProxy, Path]
) -> None:
    proxy, kubeconfig = proxied
    proxy.faults = [Fault("POST", "status", 429, {"Retry-After": "0"}, times=100)]
    done = run_submit(kubeconfig, str(HELLO), "-n", namespace, "--retries", "3", "--max-backoff", "0.1")
    assert done.returncode == 3, explain(done)
    assert "osmo2argo: the API server is throttling requests (429)" in done.stderr
    assert len(proxy.posts()) == 4  # the first attempt and 3 retries
    assert workflows(api_server, namespace) == []
    FAULT_RECORD.append("429 on every create, --retries 3: exit 3 'throttling' after 4 attempts; 0 workflows")


def test_a_rejection_is_not_retried(api_server: ApiServer, namespace: str, proxied: tuple[FaultProxy, Path]) -> None:
    proxy, kubeconfig = proxied
    proxy.faults = [Fault("POST", "status", 422)]
    done = run_submit(kubeconfig, str(HELLO), "-n", namespace, *QUICK)
    assert done.returncode == 3, explain(done)
    assert "the API server rejected the manifest" in done.stderr
    assert len(proxy.posts()) == 1
    assert workflows(api_server, namespace) == []
    FAULT_RECORD.append("422 on the create: exit 3 'rejected' after 1 attempt (not retried); 0 workflows")


LOST_TRACK: dict[str, tuple[list[Fault], tuple[str, ...]]] = {
    # The create lands and its answer is lost; the look-up for it then fails (503): the submitter
    # takes "could not look" for "not there" and creates again.
    "response dropped, then the look-up fails": ([Fault("POST", "drop"), Fault("GET", "status", 503)], QUICK),
    # The server takes longer than --request-timeout: the client gives up, looks (nothing yet),
    # creates again; then the first create lands too.
    "create slower than --request-timeout": ([Fault("POST", "delay", seconds=3)], QUICK),
    # The last attempt lands and its answer is lost: nothing looks for it before giving up.
    "response of the last attempt dropped (--retries 0)": ([Fault("POST", "drop")], ("--retries", "0")),
}


@pytest.mark.parametrize("case", list(LOST_TRACK))
def test_creates_the_submitter_loses_track_of(
    api_server: ApiServer, namespace: str, proxied: tuple[FaultProxy, Path], case: str
) -> None:
    """Exit 0 with exactly one Workflow, or a failure with none: the invariant a retrying script relies on."""
    proxy, kubeconfig = proxied
    faults, options = LOST_TRACK[case]
    proxy.faults = [dataclasses.replace(f) for f in faults]
    done = run_submit(kubeconfig, str(HELLO), "-n", namespace, "--output", "json", "--request-timeout", "1", *options)
    proxy.settle()
    created = workflows(api_server, namespace)
    FAULT_RECORD.append(
        f"{case}: exit {done.returncode}, {len(proxy.posts())} create attempts, {len(created)} workflow(s)"
    )
    assert done.returncode == 0, explain(done)
    only_workflow(api_server, namespace)


# -- 7. --wait --------------------------------------------------------------------------------------


class Watched:
    """A `submit --wait` running in the background, its output read line by line as it comes."""

    def __init__(self, kubeconfig: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            submit_command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(kubeconfig),
            cwd=ROOT,
        )
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.arrived: queue.Queue[tuple[str, str]] = queue.Queue()
        self.readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr))
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, name: str, stream: Any) -> None:
        for line in stream:
            self.lines[name].append(line.rstrip("\n"))
            self.arrived.put((name, line.rstrip("\n")))

    def expect(self, name: str, pattern: str, timeout: float = 60) -> re.Match[str]:
        """Wait for a line of stdout or stderr matching `pattern` (a regular expression)."""
        deadline = time.monotonic() + timeout
        for line in list(self.lines[name]):
            if found := re.fullmatch(pattern, line):
                return found
        while time.monotonic() < deadline:
            try:
                stream, line = self.arrived.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.arrived.empty():
                    break
                continue
            if stream == name and (found := re.fullmatch(pattern, line)):
                return found
        self.finish(timeout=5)
        raise AssertionError(f"no {name} line matching {pattern!r}; output: {self.lines}")

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self.readers:
                reader.join(timeout=5)
        return code


def node(workflow: str, task: str, phase: str, started: str) -> dict[str, Any]:
    return {
        "id": f"{workflow}-{task}",
        "name": f"{workflow}.{task}",
        "displayName": task,
        "type": "Pod",
        "templateName": f"task-{task}",
        "phase": phase,
        "startedAt": started,
    }


def set_status(server: ApiServer, namespace: str, name: str, phase: str, tasks: dict[str, str]) -> None:
    """Merge-patch the Workflow's status as the controller would: its phase and one Pod node per task."""
    nodes = {
        name: {"id": name, "name": name, "displayName": name, "type": "DAG", "templateName": "main", "phase": phase}
    }
    for i, (task, task_phase) in enumerate(tasks.items()):
        nodes[f"{name}-{task}"] = node(name, task, task_phase, f"2026-01-01T00:00:0{i}Z")
    patch = {"status": {"phase": phase, "startedAt": "2026-01-01T00:00:00Z", "nodes": nodes}}
    status, body = server.request(
        "PATCH", WORKFLOWS.format(namespace=namespace) + f"/{name}", patch, content_type=MERGE_PATCH
    )
    assert status == 200, body


@pytest.mark.parametrize(("outcome", "code"), [("Succeeded", 0), ("Failed", 5), ("Error", 6)])
def test_wait_follows_the_workflow_to_its_end(api_server: ApiServer, namespace: str, outcome: str, code: int) -> None:
    watched = Watched(api_server.kubeconfig, str(HELLO), "-n", namespace, "--wait")
    name = watched.expect("stdout", rf"{namespace}/(hello-osmo2argo-\w+) created")[1]
    watched.expect("stderr", rf"{name}: Pending")  # the watch has seen the new Workflow
    set_status(api_server, namespace, name, "Running", {"write": "Running"})
    watched.expect("stderr", r"  write \(task\): Running")
    set_status(api_server, namespace, name, "Running", {"write": "Succeeded", "read": "Running"})
    watched.expect("stderr", r"  read \(task\): Running")
    set_status(api_server, namespace, name, outcome, {"write": "Succeeded", "read": outcome})
    assert watched.finish() == code, watched.lines
    assert watched.lines["stderr"] == [
        f"{name}: Pending",
        f"{name}: Running",
        "  write (task): Running",
        "  write (task): Succeeded",
        "  read (task): Running",
        f"{name}: {outcome}",
        f"  read (task): {outcome}",
    ]
    assert watched.lines["stdout"] == [f"{namespace}/{name} created"]


def test_interrupting_wait_leaves_the_workflow_running(api_server: ApiServer, namespace: str) -> None:
    watched = Watched(api_server.kubeconfig, str(HELLO), "-n", namespace, "--wait")
    name = watched.expect("stdout", rf"{namespace}/(hello-osmo2argo-\w+) created")[1]
    set_status(api_server, namespace, name, "Running", {"write": "Running"})
    watched.expect("stderr", r"  write \(task\): Running")
    watched.process.send_signal(signal.SIGINT)
    assert watched.finish() == 130, watched.lines
    assert watched.lines["stderr"][-1] == f"stopped watching; workflow {namespace}/{name} keeps running"
    workflow = only_workflow(api_server, namespace)
    assert workflow["metadata"]["name"] == name
    assert workflow["status"]["phase"] == "Running"


# -- 8. through the Argo Server ----------------------------------------------------------------------

# `argo server` lists and watches ClusterWorkflowTemplates when allowed to (it asks with a
# SelfSubjectAccessReview), and a create waits for that cache to sync: it needs the kind to exist.
# A schemaless CRD stands in for Argo's full one, which would add ~7 s to the server's start.
CWFT_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "clusterworkflowtemplates.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "scope": "Cluster",
        "names": {
            "kind": "ClusterWorkflowTemplate",
            "listKind": "ClusterWorkflowTemplateList",
            "plural": "clusterworkflowtemplates",
            "singular": "clusterworkflowtemplate",
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def argo_server(api_server: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`argo server` (the newest argo CLI built) on the test API server, reachable over plain HTTP.

    --auth-mode=client and server: a request with a bearer token acts with that token on the API
    server (so the test API server's tokens decide), one without acts as the Argo Server itself.
    The test API server answers the core-API calls it makes (tests/apiserver/argo_server_shim.go).
    """
    cli = list(require_argo().values())[-1]
    status, body = api_server.request("POST", CRDS, CWFT_CRD)
    assert status in (201, 409), body
    deadline = time.monotonic() + 60
    while api_server.request("GET", "/apis/argoproj.io/v1alpha1/clusterworkflowtemplates")[0] != 200:
        assert time.monotonic() < deadline, "the ClusterWorkflowTemplate CRD was not served in time"
        time.sleep(0.1)
    port = free_port()
    log_path = tmp_path_factory.mktemp("argo-server") / "argo-server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(cli), "server", "--auth-mode=client", "--auth-mode=server", "--namespaced", "--namespace", "argo",
             "--secure=false", "--kubeconfig", str(api_server.kubeconfig), "--port", str(port), "--loglevel", "info"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "KUBECONFIG": str(api_server.kubeconfig)},  # client mode reads it, not the flag
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "Argo Server started successfully" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                log_text = log_path.read_text(errors="replace")
                stale = "get configmaps" in log_text  # a test API server built before its argo-server shim
                pytest.fail(
                    "argo server did not start"
                    + (" (rebuild the test API server: make tools)" if stale else "")
                    + f":\n{log_text[-3000:]}"
                )
            time.sleep(0.1)
        # "Started" is logged before the server's HTTP gateway has reached its own gRPC listener; a
        # request in that window gets a 503 ("connection refused") while gRPC backs off. Ready is
        # when a call through the gateway answers.
        while _gateway_status(port) != 200:
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()  # it does not exit on SIGTERM
        process.wait()
        api_server.request("DELETE", CRDS + "/clusterworkflowtemplates.argoproj.io")


def _gateway_status(port: int) -> int:
    """The status of GET /api/v1/version (answered by gRPC, through the HTTP gateway); 0 if unreachable."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/api/v1/version", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def pruned(value: Any) -> Any:
    """`value` without empty mappings, lists and strings, at any depth (Go's omitempty, both ways)."""
    if isinstance(value, dict):
        return {k: pruned(v) for k, v in value.items() if pruned(v) not in ({}, [], None, "")}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def via_argo(url: str, *args: str) -> tuple[str, ...]:
    return ("--via", "argo-server", "--argo-server", url, *args)


def test_via_argo_server_creates_the_workflow_as_compiled(
    api_server: ApiServer, argo_server: str, namespace: str, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "absent"  # this path does not read the kubeconfig
    done = run_submit(kubeconfig, str(HELLO), *via_argo(argo_server, "-n", namespace, "--output", "json"))
    assert done.returncode == 0, explain(done)
    result = json.loads(done.stdout)
    [workflow] = workflows(api_server, namespace)
    assert (result["name"], result["uid"]) == (workflow["metadata"]["name"], workflow["metadata"]["uid"])
    assert result["namespace"] == namespace
    # The Argo Server's Go types add empty structs (`arguments: {}`) and drop empty strings: compare without.
    assert pruned(workflow["spec"]) == pruned(compiled_manifest()["spec"])

    done = run_submit(kubeconfig, str(HELLO), *via_argo(argo_server, "-n", namespace, "--dry-run", "server"))
    assert done.returncode == 0, explain(done)
    assert re.fullmatch(rf"{namespace}/hello-osmo2argo-\w+ validated \(dry run\)\n", done.stdout), explain(done)
    assert len(workflows(api_server, namespace)) == 1  # the dry run created nothing


def test_via_argo_server_sends_the_token(api_server: ApiServer, argo_server: str, namespace: str) -> None:
    """The token reaches the API server through the Argo Server (client auth mode): its rights decide."""
    done = run_submit(os.devnull, str(HELLO), *via_argo(argo_server, "-n", namespace, "--token", READONLY_TOKEN))
    assert done.returncode == 3, explain(done)
    assert "osmo2argo: the Argo Server refused the workflow:" in done.stderr
    assert 'User "readonly" cannot create resource "workflows"' in done.stderr, explain(done)
    assert workflows(api_server, namespace) == []

    done = subprocess.run(
        submit_command(str(HELLO), *via_argo(argo_server, "-n", namespace)),
        capture_output=True,
        text=True,
        timeout=120,
        env={**cli_env(os.devnull), "ARGO_TOKEN": ADMIN_TOKEN},
        cwd=ROOT,
    )
    assert done.returncode == 0, explain(done)
    printed = CREATED.search(done.stdout)
    assert printed, explain(done)
    [workflow] = workflows(api_server, namespace)
    assert workflow["metadata"]["name"] == printed["name"]


def test_via_argo_server_rejection(api_server: ApiServer, argo_server: str, namespace: str, tmp_path: Path) -> None:
    manifest = compiled_manifest()
    templates = manifest["spec"]["templates"]
    templates += [{**templates[1], "name": f"copy-{i}"} for i in range(201 - len(templates))]
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = run_submit(os.devnull, "--manifest", str(path), *via_argo(argo_server, "-n", namespace))
    assert done.returncode == 3, explain(done)
    assert "osmo2argo: the Argo Server refused the workflow:" in done.stderr
    assert "must have at most 200 items" in done.stderr, explain(done)
    assert workflows(api_server, namespace) == []


def test_via_argo_server_keeps_fields_it_does_not_know(
    api_server: ApiServer, argo_server: str, namespace: str, tmp_path: Path
) -> None:
    """A manifest field is either submitted or refused: never silently dropped on the way."""
    manifest = compiled_manifest()
    manifest["spec"]["templates"][2]["container"]["imagePullPolicyy"] = "Always"
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = run_submit(os.devnull, "--manifest", str(path), *via_argo(argo_server, "-n", namespace))
    assert done.returncode == 3, explain(done)
    assert "imagePullPolicyy" in done.stderr
    assert workflows(api_server, namespace) == []


def test_via_argo_server_that_does_not_answer() -> None:
    """--request-timeout bounds the wait for an Argo Server that accepts the connection and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nothing ever reads or answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        done = subprocess.run(
            submit_command(str(HELLO), *via_argo(url, "-n", "argo", "--request-timeout", "2")),
            capture_output=True,
            text=True,
            timeout=10,
            env=cli_env(os.devnull),
            cwd=ROOT,
        )
    assert done.returncode == 3, explain(done)
    assert f"osmo2argo: cannot reach the Argo Server at {url}:" in done.stderr
