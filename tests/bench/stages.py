"""CPU time of each stage of one compile inside one process, after a warm-up run.

Usage: python stages.py SPEC [REPEAT]  (prints JSON: the best seconds of each stage over REPEAT runs)

Whole-process figures include the interpreter's start and the imports; these do not, so they show
how the work itself grows with the size of the spec. CPU time rather than wall-clock time, so
that other work on the machine during a round does not count as ours.
"""

from __future__ import annotations

import gc
import json
import sys
import time

from osmo2argo import emit, gc_pause, schema, template
from osmo2argo.frontend import Options, build
from osmo2argo.lower import lower
from osmo2argo.target import default_target


def run_once(text: str, name: str) -> dict[str, float]:
    # As osmo2argo.compiler runs a compile: the cyclic collector paused, after the previous run's
    # garbage is gone (else its generation-2 scans of the earlier runs' data would be timed here).
    gc.collect()
    with gc_pause.paused():
        return _stages(text, name)


def _stages(text: str, name: str) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.process_time()
    rendered = template.render_workflow(text, name, template.Variables())
    times["load"] = time.process_time() - start
    start = time.process_time()
    assert not schema.check(rendered.document)
    times["schema"] = time.process_time() - start
    start = time.process_time()
    workflow, _ = build(rendered.document, Options(set_env={}))
    times["frontend"] = time.process_time() - start
    start = time.process_time()
    lowered = lower(workflow, default_target())
    times["lower"] = time.process_time() - start
    start = time.process_time()
    emit.to_yaml([lowered.manifest], source=name)
    times["emit"] = time.process_time() - start
    times["total"] = sum(times.values())
    return times


def main() -> None:
    path = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    run_once(text, path)  # warm-up: first-use caches (regexes, the schema) are start-up, not work
    runs = [run_once(text, path) for _ in range(repeat)]
    print(json.dumps({stage: min(run[stage] for run in runs) for stage in runs[0]}))


if __name__ == "__main__":
    main()
