"""Running the CLI as a separate process and measuring it: exit code, output, wall time, peak RSS."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def slowdown(reference: float = 0.05) -> float:
    """How much slower than an idle machine this one is right now (at least 1).

    The median of three runs of a 1M-iteration pure-Python loop, divided by `reference`, what such a
    loop takes on an idle machine with CPython 3.11. Wall-clock bounds are multiplied by it, so a
    test asserts "within N seconds on an idle machine" even on a shared, loaded CI runner.
    """
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        runs.append(time.perf_counter() - started)
    return max(1.0, sorted(runs)[1] / reference)


def maxrss_bytes(usage: Any) -> int:
    """`ru_maxrss` in bytes (Linux reports KiB, macOS bytes)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return int(usage.ru_maxrss) * scale


@dataclasses.dataclass(frozen=True)
class Run:
    """One finished (or killed) CLI process."""

    code: int
    stdout: bytes
    stderr: bytes
    seconds: float
    cpu_seconds: float
    peak_rss: int
    timed_out: bool

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")


def run_cli(
    args: list[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    python_code: str | None = None,
    cwd: Path = ROOT,
    memory_limit: int | None = None,
) -> Run:
    """Run `python -m osmo2argo.cli ARGS` (or `python -c CODE ARGS`) and measure that process tree.

    The child gets its own session, so a timeout kills it and anything it started. Output goes to
    temporary files (no pipe can fill up), and `wait4` on the child gives the peak RSS of it and of
    the children it waited for (the Jinja render process). `memory_limit` caps the child's address
    space (RLIMIT_AS), for inputs that could otherwise take the machine's memory.
    """

    def limit() -> None:  # pragma: no cover - runs in the child
        if memory_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    argv = [sys.executable, "-c", python_code] if python_code is not None else [sys.executable, "-m", "osmo2argo.cli"]
    argv += args
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=limit if memory_limit is not None else None,  # noqa: PLW1509 - the test process has no threads
        )
        # Reap the child here, not through Popen.wait, to get its resource usage.
        timed_out = False
        while True:
            done, status, usage = os.wait4(process.pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - started > timeout:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Run(
            code=process.returncode,
            stdout=out.read(),
            stderr=err.read(),
            seconds=seconds,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            peak_rss=maxrss_bytes(usage),
            timed_out=timed_out,
        )
