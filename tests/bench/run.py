"""`make bench`: measure osmo2argo side by side with its floor and with hera; write docs/performance.md.

Every comparison is a ratio of two things measured in the same run, in interleaved rounds (A, B,
A, B, ...), so a change in the machine's load during the run hits both sides alike. Each process
is timed from fork to exit with os.wait4, which also gives its CPU time and peak RSS.

    python tests/bench/run.py [--quick] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.generate.shapes import spec  # noqa: E402

BIN = Path(sys.executable).parent
OSMO2ARGO = str(BIN / "osmo2argo")
PYTHON = sys.executable
EXAMPLES = ROOT.parent / "shared" / "osmo-examples"
TARGET = ROOT / "tests" / "targets" / "examples.yaml"
FLOOR = """import sys, yaml
try:
    yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
except yaml.YAMLError:
    pass"""
SHAPES = {"fanout": "fan-out", "chain": "chain", "diamond": "lattice"}
SIZES = (100, 500, 1000, 5000)
IN_PROCESS_RUNS = 3  # per round, after a warm-up run

TARGETS = {
    "compile_vs_floor": 3.0,
    "validate_vs_floor": 2.0,
    "hera_speedup": 10.0,
    "growth_10x": 11.0,
    "rss_mb_5000": 200.0,
    "bytes_per_task_fanout": 300.0,
}


@dataclasses.dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float


def run(argv: Sequence[str], cwd: Path | None = None) -> Sample:
    """Run a process to completion; its wall time, CPU time (user + system) and peak RSS."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    error = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed ({process.returncode}):\n{error.decode(errors='replace')}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def interleaved(variants: dict[str, list[str]], rounds: int, cwd: Path | None = None) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, argv in variants.items():
            samples[name].append(run(argv, cwd))
    return samples


def median(samples: list[Sample], field: str = "wall") -> float:
    return float(statistics.median(getattr(s, field) for s in samples))


@dataclasses.dataclass(frozen=True)
class StartupRow:
    example: str
    floor: list[Sample]
    validate: list[Sample]
    compile: list[Sample]

    def ratio(self, command: str, field: str = "wall") -> float:
        return median(getattr(self, command), field) / median(self.floor, field)


@dataclasses.dataclass(frozen=True)
class ScaleRow:
    shape: str
    tasks: int
    compile: list[Sample]
    bytes_per_task: float
    stages_ms: dict[str, float]  # the best run's, by stage
    totals_ms: list[float]  # in-process total of each round, in round order


@dataclasses.dataclass(frozen=True)
class HeraRow:
    tasks: int
    osmo2argo: list[Sample]
    hera: list[Sample]
    in_process_hera_ms: float
    hera_import_ms: float
    in_process_osmo2argo_ms: float

    def speedup(self, field: str = "wall") -> float:
        return median(self.hera, field) / median(self.osmo2argo, field)


# -- start-up: the OSMO examples -----------------------------------------------------------------


def prepare_examples(work: Path, limit: int | None) -> list[Path]:
    """Copy the examples; give the ones that read local files a stand-in (the corpus lacks them)."""
    copies = []
    for example in sorted(EXAMPLES.glob("*.yaml"))[:limit]:
        copy = work / example.name
        shutil.copy(example, copy)
        for local in re.findall(r"localpath:\s*(\S+)", example.read_text(encoding="utf-8")):
            stand_in = work / local
            if not stand_in.exists():
                stand_in.parent.mkdir(parents=True, exist_ok=True)
                stand_in.write_text("echo stand-in\n", encoding="utf-8")
        copies.append(copy)
    return copies


def startup(work: Path, rounds: int, limit: int | None) -> list[StartupRow]:
    rows = []
    for example in prepare_examples(work, limit):
        common = ["--set", "storage_url=s3://bench/storage"]
        samples = interleaved(
            {
                "floor": [PYTHON, "-c", FLOOR, str(example)],
                "validate": [OSMO2ARGO, "validate", str(example), *common],
                "compile": [OSMO2ARGO, "compile", str(example), *common, "--target", str(TARGET), "-o", os.devnull],
            },
            rounds,
        )
        rows.append(StartupRow(example.stem, samples["floor"], samples["validate"], samples["compile"]))
    return rows


# -- scale: generated specs ----------------------------------------------------------------------


def stage_times(source: Path, rounds: int) -> dict[str, float]:
    """Milliseconds per stage of an in-process compile, the best of `rounds` runs in one process
    after a warm-up run (tests/bench/stages.py)."""
    result = subprocess.run(
        [PYTHON, str(ROOT / "tests" / "bench" / "stages.py"), str(source), str(rounds)],
        check=True,
        capture_output=True,
        text=True,
    )
    return {stage: 1000 * seconds for stage, seconds in json.loads(result.stdout).items()}


def scale(work: Path, rounds: int) -> list[ScaleRow]:
    """Every size of a shape is measured in the same rounds, so a slow spell of the machine
    weighs on all of them and not on one side of a growth ratio."""
    rows = []
    for shape in SHAPES:
        sources = {size: work / f"{shape}-{size}.yaml" for size in SIZES}
        outputs = {size: work / f"{shape}-{size}.argo.yaml" for size in SIZES}
        for size, source in sources.items():
            source.write_text(spec(shape, size), encoding="utf-8")
        samples = interleaved(
            {str(size): [OSMO2ARGO, "compile", str(sources[size]), "-o", str(outputs[size])] for size in SIZES},
            rounds,
        )
        stage_runs: dict[int, list[dict[str, float]]] = {size: [] for size in SIZES}
        for _ in range(rounds):
            for size in SIZES:
                # The best of three runs: a single run of the 5,000-task specs varied from 9.9x to
                # 13.2x the 500-task time between rounds on a 2-core machine (a slow spell hits
                # the long run more often).
                stage_runs[size].append(stage_times(sources[size], IN_PROCESS_RUNS))
        for size in SIZES:
            best = {stage: min(run[stage] for run in stage_runs[size]) for stage in stage_runs[size][0]}
            totals = [run["total"] for run in stage_runs[size]]
            rows.append(ScaleRow(shape, size, samples[str(size)], outputs[size].stat().st_size / size, best, totals))
    return rows


# -- hera: the same 1,000-task manifest ----------------------------------------------------------


def hera(work: Path, rounds: int, size: int = 1000) -> HeraRow:
    source = work / f"hera-fanout-{size}.yaml"
    source.write_text(spec("fanout", size), encoding="utf-8")
    ours, theirs = work / "ours.argo.yaml", work / "hera.argo.yaml"
    builder = [PYTHON, str(ROOT / "tests" / "bench" / "hera_fanout.py"), str(size), str(theirs)]
    samples = interleaved({"osmo2argo": [OSMO2ARGO, "compile", str(source), "-o", str(ours)], "hera": builder}, rounds)
    if _as_data(ours) != _as_data(theirs):
        raise SystemExit("bench: hera_fanout.py no longer builds the manifest osmo2argo compiles; update it")
    hera_stages = json.loads(subprocess.run(builder, check=True, capture_output=True, text=True).stdout)
    return HeraRow(
        tasks=size,
        osmo2argo=samples["osmo2argo"],
        hera=samples["hera"],
        in_process_hera_ms=1000 * (hera_stages["build"] + hera_stages["to_yaml"]),
        hera_import_ms=1000 * hera_stages["import"],
        in_process_osmo2argo_ms=stage_times(source, rounds)["total"],
    )


def _as_data(path: Path) -> object:
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    manifest["spec"]["templates"].sort(key=lambda template: template["name"])
    return manifest


# -- report --------------------------------------------------------------------------------------


def verdict(value: float, limit: float, at_most: bool = True) -> str:
    ok = value <= limit if at_most else value >= limit
    return "met" if ok else "**missed**"


def growth(rows: list[ScaleRow], shape: str, small: int, large: int, in_process: bool) -> float:
    """The median over rounds of time(large) / time(small), each pair measured in the same round:
    a slow spell of the machine then shows in one round's pair, not in one side of the ratio."""

    def values(size: int) -> list[float]:
        row = next(r for r in rows if r.shape == shape and r.tasks == size)
        return row.totals_ms if in_process else [sample.cpu for sample in row.compile]

    return float(statistics.median(a / b for a, b in zip(values(large), values(small), strict=True)))


def plot(rows: list[ScaleRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (times, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for shape, label in SHAPES.items():
        points = [r for r in rows if r.shape == shape]
        tasks = [r.tasks for r in points]
        times.plot(tasks, [1000 * median(r.compile) for r in points], marker="o", label=f"{label}, whole process")
        times.plot(
            tasks, [r.stages_ms["total"] for r in points], marker="x", linestyle="--", label=f"{label}, in process"
        )
        memory.plot(tasks, [max(s.rss_mb for s in r.compile) for r in points], marker="o", label=label)
    for axis in (times, memory):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("tasks")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    times.set_ylabel("compile time (ms)")
    memory.set_ylabel("peak RSS (MB)")
    figure.suptitle("osmo2argo compile: time and memory against task count")
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def report(
    startup_rows: list[StartupRow], scale_rows: list[ScaleRow], hera_row: HeraRow, rounds: int, facts: str
) -> str:
    compile_ratios = [r.ratio("compile") for r in startup_rows]
    validate_ratios = [r.ratio("validate") for r in startup_rows]
    fanout_5000 = next(r for r in scale_rows if r.shape == "fanout" and r.tasks == 5000)
    rss_5000 = max(s.rss_mb for r in scale_rows if r.tasks == 5000 for s in r.compile)
    growth_rows = [
        (SHAPES[shape], growth(scale_rows, shape, 500, 5000, False), growth(scale_rows, shape, 500, 5000, True))
        for shape in SHAPES
    ]
    worst_growth = max(max(whole, inside) for _, whole, inside in growth_rows)
    compile_median, validate_median = statistics.median(compile_ratios), statistics.median(validate_ratios)
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (`tests/bench/run.py`); do not edit by hand. Every ratio compares two",
        "things measured in the same run, in interleaved rounds, so the machine's load affects both sides.",
        facts,
        "",
        "## Targets",
        "",
        *table(
            ["target", "measured", "limit", ""],
            [
                [
                    "small compile vs the floor (median over the examples; worst)",
                    f"{compile_median:.2f}x; {max(compile_ratios):.2f}x",
                    f"at most {TARGETS['compile_vs_floor']:.0f}x",
                    verdict(compile_median, TARGETS["compile_vs_floor"]),
                ],
                [
                    "`validate` vs the floor (median; worst)",
                    f"{validate_median:.2f}x; {max(validate_ratios):.2f}x",
                    f"at most {TARGETS['validate_vs_floor']:.0f}x",
                    verdict(validate_median, TARGETS["validate_vs_floor"]),
                ],
                [
                    "1,000 tasks: hera's time / osmo2argo's (whole process, wall)",
                    f"{hera_row.speedup():.1f}x",
                    f"at least {TARGETS['hera_speedup']:.0f}x",
                    verdict(hera_row.speedup(), TARGETS["hera_speedup"], at_most=False),
                ],
                [
                    "time(5,000 tasks) / time(500 tasks), worst shape and measure",
                    f"{worst_growth:.2f}x",
                    f"at most {TARGETS['growth_10x']:.0f}x",
                    verdict(worst_growth, TARGETS["growth_10x"]),
                ],
                [
                    "peak RSS at 5,000 tasks, worst shape",
                    f"{rss_5000:.0f} MB",
                    f"under {TARGETS['rss_mb_5000']:.0f} MB",
                    verdict(rss_5000, TARGETS["rss_mb_5000"]),
                ],
                [
                    "bytes per task, 5,000-task fan-out",
                    f"{fanout_5000.bytes_per_task:.0f}",
                    f"at most {TARGETS['bytes_per_task_fanout']:.0f}",
                    verdict(fanout_5000.bytes_per_task, TARGETS["bytes_per_task_fanout"]),
                ],
            ],
        ),
        "",
        "## Start-up: the OSMO examples",
        "",
        'The floor is `python -c "import yaml; yaml.safe_load(open(FILE))"` in the same virtual environment.',
        "For specs that use Jinja, PyYAML stops at the first template tag, so the floor is lower than",
        "a full parse and those ratios are pessimistic. `compile` writes to /dev/null with",
        "`tests/targets/examples.yaml` as the target profile; both commands get `--set storage_url=...`.",
        "",
        *table(
            [
                "example",
                "floor ms",
                "validate ms",
                "compile ms",
                "validate/floor",
                "compile/floor",
                "CPU validate/floor",
                "CPU compile/floor",
            ],
            [
                [
                    r.example,
                    f"{1000 * median(r.floor):.0f}",
                    f"{1000 * median(r.validate):.0f}",
                    f"{1000 * median(r.compile):.0f}",
                    f"{r.ratio('validate'):.2f}",
                    f"{r.ratio('compile'):.2f}",
                    f"{r.ratio('validate', 'cpu'):.2f}",
                    f"{r.ratio('compile', 'cpu'):.2f}",
                ]
                for r in startup_rows
            ],
        ),
        "",
        "## Scale: generated specs",
        "",
        "Specs from `tests/generate/shapes.py`: a fan-out (one root, every other task reads it), a chain",
        "(each task reads the previous one) and a lattice (joins of 50-task layers). Whole process is",
        "`osmo2argo compile SPEC -o OUT`; in process is the CPU time of a compile in one process after a",
        f"warm-up, the best of {IN_PROCESS_RUNS} runs in each round, by stage (the table shows each stage's best",
        "round).",
        "",
        "![time and memory against task count](performance.png)",
        "",
        *table(
            [
                "shape",
                "tasks",
                "whole process ms",
                "CPU ms",
                "peak RSS MB",
                "bytes/task",
                "in process ms",
                "load",
                "schema",
                "frontend",
                "lower",
                "emit",
            ],
            [
                [
                    SHAPES[r.shape],
                    str(r.tasks),
                    f"{1000 * median(r.compile):.0f}",
                    f"{1000 * median(r.compile, 'cpu'):.0f}",
                    f"{max(s.rss_mb for s in r.compile):.0f}",
                    f"{r.bytes_per_task:.0f}",
                    *(f"{r.stages_ms[s]:.0f}" for s in ("total", "load", "schema", "frontend", "lower", "emit")),
                ]
                for r in scale_rows
            ],
        ),
        "",
        "Growth from 500 to 5,000 tasks (10x the tasks), the median over rounds of CPU-time ratios in a round:",
        "",
        *table(
            ["shape", "whole process", "in process"],
            [[label, f"{whole:.2f}x", f"{inside:.2f}x"] for label, whole, inside in growth_rows],
        ),
        "",
        "## hera: the same 1,000-task manifest",
        "",
        "`tests/bench/hera_fanout.py` builds, with hera's `Workflow`/`DAG`/`Container`/`Task` and",
        "`to_yaml()`, the manifest osmo2argo compiles from the 1,000-task fan-out: one shared container",
        "template, the leaves in nested DAGs of 200. The bench checks the two manifests are equal as data",
        "before it reports a ratio.",
        "",
        *table(
            ["measure", "hera", "osmo2argo", "hera / osmo2argo"],
            [
                [
                    "whole process, wall",
                    f"{1000 * median(hera_row.hera):.0f} ms",
                    f"{1000 * median(hera_row.osmo2argo):.0f} ms",
                    f"{hera_row.speedup():.1f}x",
                ],
                [
                    "whole process, CPU",
                    f"{1000 * median(hera_row.hera, 'cpu'):.0f} ms",
                    f"{1000 * median(hera_row.osmo2argo, 'cpu'):.0f} ms",
                    f"{hera_row.speedup('cpu'):.1f}x",
                ],
                [
                    "in process after imports, CPU (hera: build + to_yaml, 1 run; osmo2argo: a compile, best run)",
                    f"{hera_row.in_process_hera_ms:.0f} ms",
                    f"{hera_row.in_process_osmo2argo_ms:.0f} ms",
                    f"{hera_row.in_process_hera_ms / hera_row.in_process_osmo2argo_ms:.1f}x",
                ],
                ["importing hera", f"{hera_row.hera_import_ms:.0f} ms", "", ""],
                [
                    "peak RSS",
                    f"{max(s.rss_mb for s in hera_row.hera):.0f} MB",
                    f"{max(s.rss_mb for s in hera_row.osmo2argo):.0f} MB",
                    "",
                ],
            ],
        ),
        "",
        "## Reproduce",
        "",
        "```sh",
        "make bench                      # the full run; about five minutes on 2 cores",
        "make bench BENCH_ARGS=--quick   # fewer rounds and ten examples, for a rough look",
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and no examples beyond ten")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    # Start-up as users have it: with bytecode. Where PYTHONDONTWRITEBYTECODE is set, an edited
    # module would otherwise be compiled from source at every start of every measured process.
    compileall.compile_dir(str(ROOT / "osmo2argo"), quiet=1)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="osmo2argo-bench-") as directory:
        work = Path(directory)
        if not EXAMPLES.is_dir():
            raise SystemExit(f"bench: the OSMO examples are not at {EXAMPLES}")
        startup_rows = startup(work, rounds, 10 if args.quick else None)
        print(f"start-up: {len(startup_rows)} examples", file=sys.stderr)
        scale_rows = scale(work, rounds)
        print("scale: done", file=sys.stderr)
        hera_row = hera(work, rounds)
        print("hera: done", file=sys.stderr)
    out = Path(args.out)
    facts = (
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}; load average"
        f" {load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end; {rounds} rounds per start-up"
        f" figure (medians); the run took {time.perf_counter() - started:.0f} s."
    )
    text = report(startup_rows, scale_rows, hera_row, rounds, facts)
    out.write_text(text, encoding="utf-8")
    plot(scale_rows, out.with_suffix(".png"))
    print(text)


if __name__ == "__main__":
    main()
