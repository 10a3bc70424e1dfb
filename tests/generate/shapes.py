"""Large OSMO specs of a given shape: fan-out, chain, diamond lattice, independent tasks.

The specs are what a user generates with Jinja loops: many tasks alike but for their names,
arguments and inputs. They stay valid OSMO (names, inputs declared before use).
"""

from __future__ import annotations

SHAPES = ("fanout", "chain", "diamond", "independent")


def _task(name: str, parents: list[str]) -> str:
    lines = [
        f"  - name: {name}",
        "    image: ubuntu:24.04",
        "    command: [bash, -c]",
        f"    args: ['echo {name} > {{{{output}}}}/result.txt']",
    ]
    if parents:
        lines.append("    inputs:")
        lines += [f"    - task: {parent}" for parent in parents]
    return "\n".join(lines)


def spec(shape: str, size: int, width: int = 50) -> str:
    """An OSMO spec of `size` tasks. `width` is the diamond lattice's fan-out."""
    tasks: list[str] = []
    if shape == "fanout":
        tasks.append(_task("root", []))
        tasks += [_task(f"leaf-{i}", ["root"]) for i in range(1, size)]
    elif shape == "chain":
        tasks.append(_task("step-0", []))
        tasks += [_task(f"step-{i}", [f"step-{i - 1}"]) for i in range(1, size)]
    elif shape == "independent":
        tasks += [_task(f"task-{i}", []) for i in range(size)]
    elif shape == "diamond":
        # join-0 -> width tasks -> join-1 -> width tasks -> join-2 ...
        count = 0
        level = 0
        tasks.append(_task("join-0", []))
        count = 1
        while count < size:
            middle = [f"mid-{level}-{i}" for i in range(min(width, size - count))]
            tasks += [_task(name, [f"join-{level}"]) for name in middle]
            count += len(middle)
            if count < size:
                level += 1
                tasks.append(_task(f"join-{level}", middle))
                count += 1
    else:
        raise ValueError(shape)
    return (
        "workflow:\n  name: scale-"
        + shape
        + "\n  resources:\n    default: {cpu: 1, memory: 1Gi}\n  tasks:\n"
        + "\n".join(tasks)
        + "\n"
    )
