"""Run the `osmo2argo` command in-process, with its standard streams captured: `run_cli(args)`.

`osmo2argo.cli.main` runs with sys.stdin, sys.stdout and sys.stderr replaced (stdin holds `input`,
with a byte buffer behind it, as the real one has), and with `env` applied to os.environ for the
call (a value of None removes the variable). Nothing is a terminal, so no colour. Exceptions that
escape `main` (there should be none) propagate to the test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
from collections.abc import Iterator, Mapping

from osmo2argo.cli import main


@dataclasses.dataclass(frozen=True)
class CliResult:
    """What a run of the command did."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Standard output, then standard error."""
        return self.stdout + self.stderr


@contextlib.contextmanager
def _environment(env: Mapping[str, str | None]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env}
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cli(
    args: list[str], input: str | bytes | None = None, *, env: Mapping[str, str | None] | None = None
) -> CliResult:
    """Run `osmo2argo ARGS` in this process; its exit code, standard output and standard error."""
    data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = stdin
    try:
        with _environment(env or {}), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(args)
    finally:
        sys.stdin = saved_stdin
    return CliResult(code, stdout.getvalue(), stderr.getvalue())
