"""Submitting a compiled Workflow to a cluster, safely. The only module that imports `kubernetes`.

- One submit creates at most one Workflow. Each invocation stamps the manifest with a fresh
  submission label (`<prefix>/submission: <random id>`); before a retry the submitter looks for a
  Workflow with that label, so a create whose response was lost is never repeated.
- Transient failures (connection refused or reset, timeouts, 429, 5xx) are retried with
  exponential backoff and jitter, honouring Retry-After; everything else fails at once.
- Failures become `SubmitError`s that say what to do: unauthorised, forbidden (with the RBAC verb
  and resource needed), Argo not installed, rejected by the server (field errors mapped back to
  OSMO task names), unreachable, timed out.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

GROUP = "argoproj.io"
VERSION = "v1alpha1"
TRANSIENT_STATUS = {429, 500, 502, 503, 504}
FINAL_PHASES = {"Succeeded", "Failed", "Error"}


class SubmitError(Exception):
    """A cluster failure, explained: what happened and what to do."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status


@dataclasses.dataclass(frozen=True, slots=True)
class Connection:
    """How to reach the cluster, as kubectl users give it."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    request_timeout: float = 30.0
    attempts: int = 6
    max_backoff: float = 20.0


@dataclasses.dataclass(frozen=True, slots=True)
class Submitted:
    """What was created (or validated, under a dry run)."""

    name: str
    namespace: str
    uid: str | None
    dry_run: bool
    attempts: int


Sleep = Callable[[float], None]


def _client(connection: Connection) -> tuple[Any, str]:
    """A CustomObjectsApi and the namespace to use (flag, else kubeconfig context, else in-cluster)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    namespace = connection.namespace
    try:
        if connection.kubeconfig is None and connection.context is None and _in_cluster():
            config.load_incluster_config()
            namespace = namespace or _in_cluster_namespace()
        else:
            contexts, active = config.list_kube_config_contexts(config_file=connection.kubeconfig)
            chosen = (
                next((c for c in contexts if c["name"] == connection.context), None) if connection.context else active
            )
            if connection.context and chosen is None:
                names = ", ".join(sorted(c["name"] for c in contexts))
                raise SubmitError(f"context {connection.context!r} is not in the kubeconfig", hint=f"contexts: {names}")
            config.load_kube_config(config_file=connection.kubeconfig, context=connection.context)
            namespace = namespace or (chosen or {}).get("context", {}).get("namespace") or "default"
    except ConfigException as exc:
        raise SubmitError(
            f"cannot load the Kubernetes configuration: {exc}",
            hint="set KUBECONFIG or pass --kubeconfig, or run inside the cluster",
        ) from None
    configuration = client.Configuration.get_default_copy()
    configuration.retries = False  # this module decides what is retried: a POST never is, blindly
    return client.CustomObjectsApi(client.ApiClient(configuration)), namespace


def _in_cluster() -> bool:
    import os

    return "KUBERNETES_SERVICE_HOST" in os.environ and os.path.exists(
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )


def _in_cluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"


def plural_of(manifest: dict[str, Any]) -> str:
    return "workflowtemplates" if manifest.get("kind") == "WorkflowTemplate" else "workflows"


def submission_label(label_prefix: str) -> str:
    return f"{label_prefix}/submission"


def submit(
    manifest: dict[str, Any],
    connection: Connection,
    *,
    label_prefix: str,
    dry_run: bool = False,
    sleep: Sleep = time.sleep,
) -> Submitted:
    """Create the manifest's Workflow (or WorkflowTemplate) exactly once."""
    api, namespace = _client(connection)
    namespace = connection.namespace or manifest.get("metadata", {}).get("namespace") or namespace
    body = json.loads(json.dumps(manifest))  # our own copy: the caller's manifest stays as compiled
    body.setdefault("metadata", {})["namespace"] = namespace
    submission = secrets.token_hex(8)
    key = submission_label(label_prefix)
    body["metadata"].setdefault("labels", {})[key] = submission
    if not body["metadata"].get("name") and body["metadata"].get("generateName"):
        body["metadata"]["name"] = body["metadata"].pop("generateName") + submission[:5]
    plural = plural_of(body)
    attempt = 0
    while True:
        attempt += 1
        try:
            created = api.create_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                plural,
                body,
                dry_run="All" if dry_run else None,
                field_validation="Strict",
                _request_timeout=connection.request_timeout,
            )
            return _submitted(created, namespace, dry_run, attempt)
        except Exception as exc:  # noqa: BLE001 - classified below; unknown kinds are re-raised
            problem = classify(exc, namespace, plural, body)
            if problem.error.status == 409 and attempt > 1 and not dry_run:
                mine = _find(api, namespace, plural, key, submission, connection)
                if mine is not None:
                    return _submitted(mine, namespace, dry_run, attempt)
            if problem.error.status == 404 and not _ready(api, connection):
                problem = Problem(SubmitError("the API server is starting (not ready yet)", status=503), True)
            if not problem.transient or attempt >= connection.attempts:
                if problem.transient and not dry_run:  # the last create may have landed too
                    existing = _find(api, namespace, plural, key, submission, connection)
                    if existing is not None:
                        return _submitted(existing, namespace, dry_run, attempt)
                raise problem.error from None
            # The create may have reached the server: look before trying again.
            if not dry_run:
                existing = _find(api, namespace, plural, key, submission, connection)
                if existing is not None:
                    return _submitted(existing, namespace, dry_run, attempt)
            sleep(backoff(attempt, problem.retry_after, connection.max_backoff))


def _ready(api: Any, connection: Connection) -> bool:
    """Whether the API server says it is ready (/readyz); a 404 while it is not may be a start-up artefact."""
    try:
        request = api.api_client.param_serialize("GET", "/readyz", auth_settings=["BearerToken"])
        response = api.api_client.call_api(*request, _request_timeout=connection.request_timeout)
    except Exception:  # noqa: BLE001 - unreachable: not ready
        return False
    return response.status == 200 or response.status in (401, 403)  # 401/403: cannot tell, keep the old reading


def _submitted(created: dict[str, Any], namespace: str, dry_run: bool, attempts: int) -> Submitted:
    meta = created.get("metadata", {})
    return Submitted(meta.get("name") or meta.get("generateName", ""), namespace, meta.get("uid"), dry_run, attempts)


def _find(api: Any, namespace: str, plural: str, key: str, value: str, connection: Connection) -> dict[str, Any] | None:
    try:
        found = api.list_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            plural,
            label_selector=f"{key}={value}",
            _request_timeout=connection.request_timeout,
        )
    except Exception:  # noqa: BLE001 - the server is still unwell: the next create attempt decides
        return None
    items = found.get("items") or []
    return items[0] if items else None


def backoff(attempt: int, retry_after: float | None, cap: float) -> float:
    """Exponential backoff with full jitter (0.5 s, 1 s, 2 s, ... up to `cap`), or Retry-After."""
    if retry_after is not None:
        return min(retry_after, cap * 3)
    return random.uniform(0, min(cap, 0.5 * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not security


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """A classified failure: the error to report, and whether retrying may help."""

    error: SubmitError
    transient: bool
    retry_after: float | None = None


def classify(exc: Exception, namespace: str, plural: str, manifest: dict[str, Any]) -> Problem:
    """Turn a client exception into an explained SubmitError, and say whether to retry."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as UrllibError

    if isinstance(exc, SubmitError):
        return Problem(exc, False)
    if isinstance(exc, ApiException):
        return _api_problem(exc, namespace, plural, manifest)
    if isinstance(exc, (UrllibError, ConnectionError, TimeoutError, OSError)):
        reason = str(exc)
        if "timed out" in reason.lower() or "timeout" in type(exc).__name__.lower():
            return Problem(
                SubmitError(
                    "the API server did not answer in time",
                    hint="check the cluster's health; --request-timeout sets how long to wait",
                ),
                True,
            )
        return Problem(
            SubmitError(
                f"cannot reach the API server: {_short(reason)}",
                hint="check the kubeconfig's server address and your network or VPN",
            ),
            True,
        )
    raise exc


def _api_problem(exc: Any, namespace: str, plural: str, manifest: dict[str, Any]) -> Problem:
    status = int(exc.status or 0)
    body = _body(exc.body)
    message = body.get("message") if isinstance(body, dict) else None
    retry_after = _retry_after(exc.headers)
    if status in TRANSIENT_STATUS:
        text = "the API server is throttling requests (429)" if status == 429 else f"the API server failed ({status})"
        return Problem(
            SubmitError(text, status=status, hint="retried with backoff; try again later"), True, retry_after
        )
    if status == 401:
        return Problem(
            SubmitError(
                "unauthorised: the API server refused the credentials of the kubeconfig",
                status=status,
                hint="log in again (refresh the token) or pick another --context",
            ),
            False,
        )
    if status == 403:
        return Problem(
            SubmitError(
                f"forbidden: {message or 'the API server refused the request'}",
                status=status,
                hint=f"your user needs RBAC permission to 'create' '{plural}.{GROUP}' in "
                f"namespace '{namespace}' (a Role or ClusterRole with that verb and resource)",
            ),
            False,
        )
    if status == 404:
        return Problem(
            SubmitError(
                f"the cluster does not serve {plural}.{GROUP}: Argo Workflows (its CRDs) is not installed there",
                status=status,
                hint="install Argo Workflows, or check --context points at the right cluster",
            ),
            False,
        )
    if status in (400, 422):
        return Problem(
            SubmitError(
                "the API server rejected the manifest:\n" + _field_errors(body, manifest),
                status=status,
                hint="this is a bug in osmo2argo if the manifest was compiled by it; please report",
            ),
            False,
        )
    return Problem(SubmitError(f"the API server answered {status}: {message or exc.reason}", status=status), False)


def _body(raw: Any) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {"message": str(raw)[:500]}


def _retry_after(headers: Any) -> float | None:
    try:
        value = (headers or {}).get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_TEMPLATE_PATH = re.compile(r"spec\.templates\[(\d+)\]")


def _field_errors(body: Any, manifest: dict[str, Any]) -> str:
    """The server's field errors, each with the OSMO task or group its template stands for."""
    causes = (body.get("details") or {}).get("causes") or [] if isinstance(body, dict) else []
    lines = []
    for cause in causes or [{"message": body.get("message", "") if isinstance(body, dict) else str(body)}]:
        field = cause.get("field", "")
        text = cause.get("message", "")
        owner = _owner(field or text, manifest)
        where = f"{field}: " if field else ""
        lines.append(f"  {where}{text}" + (f" ({owner})" if owner else ""))
    return "\n".join(lines)


def _owner(text: str, manifest: dict[str, Any]) -> str | None:
    match = _TEMPLATE_PATH.search(text)
    if not match:
        return None
    templates = manifest.get("spec", {}).get("templates", [])
    index = int(match.group(1))
    if index >= len(templates):
        return None
    template = templates[index]
    meta = template.get("metadata", {})
    for key, value in {**meta.get("labels", {}), **meta.get("annotations", {})}.items():
        if key.endswith("/task-name") or key.endswith("/task"):
            return f"OSMO task {value}"
    return f"template {template.get('name')}"


def _short(text: str) -> str:
    return text if len(text) < 300 else text[:300] + "..."


# -- following a workflow -----------------------------------------------------------------------


def watch(
    name: str, connection: Connection, namespace: str, *, timeout: float | None = None
) -> Iterator[dict[str, Any]]:
    """Each new state of the Workflow until it ends (a watch, re-established when it drops)."""
    from kubernetes import watch as kube_watch

    api, _ = _client(connection)
    deadline = None if timeout is None else time.monotonic() + timeout
    resource_version = None
    failures = 0
    while True:
        stream = kube_watch.Watch()
        try:
            kwargs: dict[str, Any] = {"field_selector": f"metadata.name={name}", "timeout_seconds": 60}
            if resource_version:
                kwargs["resource_version"] = resource_version
            for event in stream.stream(
                api.list_namespaced_custom_object, GROUP, VERSION, namespace, "workflows", **kwargs
            ):
                obj = event["object"]
                if event["type"] == "DELETED":
                    raise SubmitError(f"workflow {name} was deleted while being watched")
                resource_version = obj.get("metadata", {}).get("resourceVersion", resource_version)
                failures = 0
                yield obj
                if obj.get("status", {}).get("phase") in FINAL_PHASES:
                    return
        except SubmitError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dropped watch is re-established
            problem = classify(exc, namespace, "workflows", {})
            failures += 1
            if not problem.transient and getattr(exc, "status", None) != 410:
                raise problem.error from None
            if getattr(exc, "status", None) == 410:  # the resource version is too old: list again
                resource_version = None
            if failures > connection.attempts:
                raise problem.error from None
            time.sleep(backoff(failures, problem.retry_after, connection.max_backoff))
        finally:
            stream.stop()
        if deadline is not None and time.monotonic() > deadline:
            raise SubmitError(f"workflow {name} did not finish within the --wait timeout")


# -- the Argo Server path -----------------------------------------------------------------------


def submit_via_argo_server(
    manifest: dict[str, Any],
    url: str,
    token: str | None,
    namespace: str,
    *,
    verify_ssl: bool = True,
    dry_run: bool = False,
    request_timeout: float = 30.0,
) -> Submitted:
    """Create the Workflow through the Argo Server's API with hera's WorkflowsService."""
    import functools

    from hera.exceptions import HeraException
    from hera.workflows import WorkflowsService
    from hera.workflows.models import Workflow, WorkflowCreateRequest

    model = Workflow.model_validate(manifest)
    dropped = dropped_fields(manifest, model.model_dump(by_alias=True, exclude_none=True, mode="json"))
    if dropped:
        raise SubmitError(
            f"hera's models would drop {', '.join(dropped[:5])} on the way to the Argo Server",
            hint="submit with --via kubernetes (the default), which sends the manifest as compiled",
        )
    service = WorkflowsService(host=url, token=token, verify_ssl=verify_ssl, namespace=namespace)
    # hera sets no timeout on its requests: a silent server would hang the submit for ever.
    service.session.request = functools.partial(  # type: ignore[method-assign]
        service.session.request, timeout=request_timeout
    )
    request = WorkflowCreateRequest(workflow=model, server_dry_run=dry_run or None)
    try:
        created = service.create_workflow(request, namespace=namespace)
    except HeraException as exc:
        status = getattr(exc, "status_code", None)
        raise SubmitError(
            f"the Argo Server refused the workflow: {exc}",
            status=status,
            hint="check --token (or ARGO_TOKEN) and the server URL",
        ) from None
    except Exception as exc:  # noqa: BLE001 - network failures of the Argo Server path
        raise SubmitError(f"cannot reach the Argo Server at {url}: {_short(str(exc))}") from None
    return Submitted(created.metadata.name or "", namespace, created.metadata.uid, dry_run, 1)


def dropped_fields(sent: Any, kept: Any, path: str = "") -> list[str]:
    """Paths of `sent` that a model round trip (`kept`) lost: fields hera does not know."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        lost = [f"{path}.{key}".lstrip(".") for key in sent if key not in kept]
        for key in sent:
            if key in kept:
                lost += dropped_fields(sent[key], kept[key], f"{path}.{key}")
        return lost
    if isinstance(sent, list) and isinstance(kept, list):
        lost = [f"{path}[{index}]" for index in range(len(kept), len(sent))]  # items hera left out
        pairs = enumerate(zip(sent, kept, strict=False))
        return lost + [item for index, (a, b) in pairs for item in dropped_fields(a, b, f"{path}[{index}]")]
    return []
