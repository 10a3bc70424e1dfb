"""Build the 1,000-task fan-out manifest with hera's high-level API, as a hera user would.

The workflow is the one `osmo2argo compile` produces for `tests.generate.shapes.spec("fanout", N)`:
a root task, a container template shared by every leaf (its name passed as a parameter), and the
leaves split into nested DAGs of at most 200 tasks (Argo's per-DAG limit). run.py checks that the
two manifests are equal as data, so the comparison is between two ways of producing the same
bytes' worth of Argo, not between a small manifest and a large one.

Usage: python hera_fanout.py N OUT  (prints the in-process build and to_yaml seconds as JSON)
"""

from __future__ import annotations

import json
import sys
import time

START = time.perf_counter()

from hera.workflows import (  # noqa: E402 - the import is part of what is measured
    DAG,
    Container,
    Env,
    Parameter,
    Resources,
    S3Artifact,
    Task,
    Workflow,
)
from hera.workflows.models import (  # noqa: E402
    ArchiveStrategy,
    EmptyDirVolumeSource,
    NoneStrategy,
    Volume,
    VolumeMount,
)

IMPORTED = time.perf_counter()
PART_SIZE = 200
OUTPUT = "/osmo/data/output"


def _container(name: str, task: str, args: str, inputs: list[Parameter | S3Artifact]) -> Container:
    return Container(
        name=name,
        image="ubuntu:24.04",
        image_pull_policy="Always",
        command=["bash", "-c"],
        args=[args],
        env=[Env(name="NVIDIA_VISIBLE_DEVICES", value="")],
        inputs=inputs,
        outputs=[
            S3Artifact(
                name="output",
                path=OUTPUT,
                key="osmo/{{workflow.name}}/" + task,
                optional=True,
                archive=ArchiveStrategy(none=NoneStrategy()),
            )
        ],
        resources=Resources(
            cpu_request="1",
            cpu_limit="1",
            memory_request="1Gi",
            memory_limit="1Gi",
            ephemeral_request="1Gi",
            ephemeral_limit="1Gi",
        ),
        labels={"osmo2argo.nvidia.com/task": task},
        volumes=[Volume(name="osmo-output", empty_dir=EmptyDirVolumeSource())],
        volume_mounts=[VolumeMount(name="osmo-output", mount_path=OUTPUT)],
    )


def build(size: int) -> Workflow:
    leaves = [f"leaf-{i}" for i in range(1, size)]
    parts = [leaves[i : i + PART_SIZE] for i in range(0, len(leaves), PART_SIZE)]
    with Workflow(
        generate_name="scale-fanout-",
        entrypoint="main",
        labels={"osmo2argo.nvidia.com/workflow": "scale-fanout"},
        annotations={"osmo2argo.nvidia.com/workflow-name": "scale-fanout"},
    ) as workflow:
        root = _container("task-root", "root", f"echo root > {OUTPUT}/result.txt", [])
        shared = _container(
            "osmo-shared-leaf-1",
            "{{inputs.parameters.task}}",
            "echo {{inputs.parameters.task}} > " + OUTPUT + "/result.txt",
            [
                S3Artifact(name="input-0", path="/osmo/data/input/0", key="osmo/{{workflow.name}}/root", optional=True),
                Parameter(name="task"),
            ],
        )
        part_dags = []
        with DAG(name="osmo-part-1-1") as first:
            Task(name="root", template=root)
        part_dags.append(first)
        for number, names in enumerate(parts, start=2):
            with DAG(name=f"osmo-part-1-{number}") as part:
                for name in names:
                    Task(name=name, template=shared, arguments=[Parameter(name="task", value=name)])
            part_dags.append(part)
        with DAG(name="main"):
            head = Task(name="part-1", template=first)
            for number, part in enumerate(part_dags[1:], start=2):
                head >> Task(name=f"part-{number}", template=part)
    return workflow


def main() -> None:
    size, out = int(sys.argv[1]), sys.argv[2]
    built_start = time.process_time()
    workflow = build(size)
    built = time.process_time()
    text = workflow.to_yaml()
    dumped = time.process_time()
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(json.dumps({"import": IMPORTED - START, "build": built - built_start, "to_yaml": dumped - built}))


if __name__ == "__main__":
    main()
