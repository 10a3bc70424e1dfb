"""A thin typed layer over the Argo objects osmo2argo emits (and only those fields).

These are `TypedDict`s: at run time they are the plain dicts the emitter writes, so building a
manifest costs no more than building dicts, while mypy checks every key and value type against
Argo's API (github.com/argoproj/argo-workflows pkg/apis/workflow/v1alpha1/workflow_types.go).
Key order in the emitted YAML is the order in which the lowering inserts keys, so builders insert
`name` first and group related keys the way Argo's own examples do.

They exist for mypy only: creating two dozen TypedDict classes would cost every start-up 4 ms,
and nothing needs them at run time (the lowering writes dict literals), so at run time this
module is empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TypedDict

    class ObjectMeta(TypedDict, total=False):
        name: str
        generateName: str
        namespace: str
        labels: dict[str, str]
        annotations: dict[str, str]

    class SecretKeySelector(TypedDict):
        name: str
        key: str

    class EnvVarSource(TypedDict, total=False):
        secretKeyRef: SecretKeySelector
        fieldRef: dict[str, str]

    class EnvVar(TypedDict, total=False):
        name: str
        value: str
        valueFrom: EnvVarSource

    class VolumeMount(TypedDict, total=False):
        name: str
        mountPath: str
        subPath: str
        readOnly: bool

    class ResourceRequirements(TypedDict, total=False):
        requests: dict[str, str]
        limits: dict[str, str]

    class Container(TypedDict, total=False):
        name: str
        image: str
        imagePullPolicy: str
        command: list[str]
        args: list[str]
        env: list[EnvVar]
        resources: ResourceRequirements
        securityContext: dict[str, Any]
        volumeMounts: list[VolumeMount]
        mirrorVolumeMounts: bool

    class S3Artifact(TypedDict, total=False):
        endpoint: str
        bucket: str
        region: str
        insecure: bool
        key: str
        accessKeySecret: SecretKeySelector
        secretKeySecret: SecretKeySelector
        sessionTokenSecret: SecretKeySelector
        roleARN: str
        useSDKCreds: bool

    class GCSArtifact(TypedDict, total=False):
        bucket: str
        key: str
        serviceAccountKeySecret: SecretKeySelector

    class AzureArtifact(TypedDict, total=False):
        endpoint: str
        container: str
        blob: str
        accountKeySecret: SecretKeySelector
        useSDKCreds: bool

    class Artifact(TypedDict, total=False):
        name: str
        path: str
        optional: bool
        mode: int
        archive: dict[str, dict[str, Any]]
        raw: dict[str, str]
        s3: S3Artifact
        gcs: GCSArtifact
        azure: AzureArtifact
        fromExpression: str

    class Parameter(TypedDict, total=False):
        name: str
        value: str

    class Inputs(TypedDict, total=False):
        parameters: list[Parameter]
        artifacts: list[Artifact]

    class Outputs(TypedDict, total=False):
        artifacts: list[Artifact]

    class Arguments(TypedDict, total=False):
        parameters: list[Parameter]
        artifacts: list[Artifact]

    class RetryStrategy(TypedDict, total=False):
        limit: int
        retryPolicy: str
        expression: str
        backoff: dict[str, Any]

    class LifecycleHook(TypedDict, total=False):
        template: str
        arguments: Arguments
        expression: str

    class DAGTask(TypedDict, total=False):
        name: str
        template: str
        depends: str
        dependencies: list[str]
        arguments: Arguments
        continueOn: dict[str, bool]
        hooks: dict[str, LifecycleHook]

    class DAGTemplate(TypedDict, total=False):
        tasks: list[DAGTask]
        failFast: bool

    class ResourceTemplate(TypedDict, total=False):
        action: str
        setOwnerReference: bool
        manifest: str

    class Template(TypedDict, total=False):
        name: str
        metadata: ObjectMeta
        inputs: Inputs
        outputs: Outputs
        daemon: bool
        activeDeadlineSeconds: int
        pendingTimeout: str
        retryStrategy: RetryStrategy
        schedulerName: str
        priorityClassName: str
        nodeSelector: dict[str, str]
        tolerations: list[dict[str, Any]]
        affinity: dict[str, Any]
        podSpecPatch: str
        volumes: list[dict[str, Any]]
        initContainers: list[Container]
        sidecars: list[Container]
        container: Container
        dag: DAGTemplate
        resource: ResourceTemplate

    class WorkflowSpec(TypedDict, total=False):
        entrypoint: str
        serviceAccountName: str
        arguments: Arguments
        podMetadata: ObjectMeta
        workflowMetadata: ObjectMeta
        podGC: dict[str, Any]
        ttlStrategy: dict[str, Any]
        artifactRepositoryRef: dict[str, str]
        templates: list[Template]

    class Workflow(TypedDict):
        apiVersion: str
        kind: str
        metadata: ObjectMeta
        spec: WorkflowSpec
