"""The hostile-input corpus: every case ends in the expected diagnostic, in bounded time and memory.

Each case in tests/hostile/ (and each generated one below, too large to commit) starts with

    # hostile: what the input does
    # expect: E103            (the diagnostic code it must produce, or `ok` when it must be accepted)
    # hint: spaces, not tabs  (optional: text one diagnostic's hint must contain)
    # xfail: why              (optional: a known compiler problem; the case is a strict xfail)

A case is read as the CLI reads a file (bytes, `decode_source`, then `check_spec`) in a forked
child process, so a case that hangs or exhausts memory is killed soon after the time bound instead
of taking the test run with it, and the child's CPU time and peak RSS are measured by `wait4`. A handful of cases
also run through `python -m osmo2argo.cli validate` to measure the whole process.

Bounds: the issue asks for about TARGET_TIME_S per case; the assertion is TIME_BOUND_S because CI
machines vary: CPU time must stay under it, and wall-clock time under it times the machine's current
slowdown (`measure.slowdown`, at least 1), so a loaded runner does not fail a case that is fast on
an idle one. Every time and peak RSS is recorded; the module prints the slowest case and the largest
peak RSS at the end (and a full table with `pytest -s` or OSMO2ARGO_HOSTILE_REPORT=FILE).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from osmo2argo.errors import CompileError
from osmo2argo.pipe_reader import read_until
from osmo2argo.pipeline import check_spec
from osmo2argo.source import MAX_SOURCE_BYTES, decode_source

from .measure import maxrss_bytes, run_cli, slowdown

HOSTILE = Path(__file__).parent / "hostile"

TARGET_TIME_S = 3.0  # what the issue asks for; slower cases are listed in the summary
TIME_BOUND_S = 10.0  # what the tests assert (wall clock: times the machine's slowdown)
KILL_AFTER = 1.2  # a case still running at 1.2 x its wall-clock bound is killed (and fails)
RSS_BOUND_BYTES = 1024 * 1024 * 1024  # 1 GiB peak RSS, for the checking process and the CLI

_HEADER = re.compile(r"^# (hostile|expect|hint|xfail): ?(.*)$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile input: where its bytes are (or how to make them) and what it must produce."""

    name: str
    expect: str
    what: str
    hint: str | None = None
    xfail: str | None = None
    path: Path | None = None
    make: Callable[[], bytes] | None = None
    slow: bool = False


def headers(raw: bytes) -> dict[str, str]:
    """The `# key: value` lines of a case, whatever its encoding (UTF-16 and UTF-32 cases too)."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        text = raw.decode("utf-32", errors="replace")
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    elif len(raw) > 1 and raw[1:2] == b"\x00":  # UTF-16 LE without a byte-order mark
        text = raw.decode("utf-16-le", errors="replace")
    else:
        text = raw[:4096].removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    found: dict[str, str] = {}
    text = text[:4096].replace("\r\n", "\n").replace("\r", "\n")  # CRLF and CR-only cases
    for key, value in _HEADER.findall(text):
        found.setdefault(key, value.strip())
    return found


def static_case(path: Path) -> Case:
    found = headers(path.read_bytes())
    return Case(
        name=path.stem,
        expect=found.get("expect", ""),
        what=found.get("hostile", ""),
        hint=found.get("hint"),
        xfail=found.get("xfail"),
        path=path,
    )


# -- generated cases: too large (or too long a line) to commit -------------------------------------

_TASK = "  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [echo, hello]\n"


def _header(what: str, expect: str, xfail: str | None = None) -> str:
    lines = f"# hostile: {what}\n# expect: {expect}\n"
    return lines + (f"# xfail: {xfail}\n" if xfail else "")


def _deep_flow_sequences() -> bytes:
    return ("workflow:\n  name: deep\n  x: " + "[" * 10_000 + "]" * 10_000 + "\n" + _TASK).encode()


def _deep_flow_mappings() -> bytes:
    return ("workflow:\n  name: deep\n  x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n" + _TASK).encode()


def _deep_flow_mixed() -> bytes:
    return ("workflow:\n  name: deep\n  x: " + "[{a: " * 10_000 + "1" + "}]" * 10_000 + "\n" + _TASK).encode()


def _deep_block_sequences() -> bytes:
    return ("workflow:\n  name: deep\n  x:\n  " + "- " * 10_000 + "x\n" + _TASK).encode()


def _deep_block_mappings() -> bytes:
    # One more space per level: 5,000 levels is 12.5 MB, the deepest block mapping under the size limit.
    lines = "".join(" " * (level + 3) + "k:\n" for level in range(5_000))
    return ("workflow:\n  name: deep\n  x:\n" + lines + " " * 5_004 + "v\n").encode()


def _scalar(size: int) -> bytes:
    head = b'workflow:\n  name: big\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [echo, "'
    return head + b"x" * size + b'"]\n'


def _comments(size: int) -> bytes:
    line = b"# " + b"c" * 1021 + b"\n"
    return ("workflow:\n  name: big\n" + _TASK).encode() + line * (size // len(line) + 1)


def _args(count: int) -> bytes:
    items = "".join(f"    - a{i}\n" for i in range(count))
    return (
        "workflow:\n  name: big\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [echo]\n    args:\n"
        + items
    ).encode()


def _environment(count: int) -> bytes:
    items = "".join(f"      V{i}: value{i}\n" for i in range(count))
    return (
        "workflow:\n  name: big\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [env]\n"
        "    environment:\n" + items
    ).encode()


def _tasks(count: int) -> bytes:
    tasks = "".join(f"  - name: t{i}\n    image: ubuntu:24.04\n    command: [echo, hi]\n" for i in range(count))
    return ("workflow:\n  name: big\n  tasks:\n" + tasks).encode()


def _jinja_loop(count: int) -> bytes:
    return (
        "workflow:\n  name: big\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [echo]\n    args:\n"
        f"{{% for i in range({count}) %}}\n    - a{{{{ i }}}}\n{{% endfor %}}\n"
    ).encode()


def _jinja_expressions(count: int, expression: str = "suffix") -> bytes:
    items = "".join(f"    - a{i}-{{{{ {expression} }}}}\n" for i in range(count))
    return (
        "default-values:\n  suffix: x\nworkflow:\n  name: big\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n"
        "    command: [echo]\n    args:\n" + items
    ).encode()


def _repeated_block_with_error(lines: int) -> bytes:
    # A loop repeats a long block; one schema error makes the diagnostics map rendered lines back.
    block = "".join(f"    - a{i}\n" for i in range(lines))
    return (
        "workflow:\n  name: big\n  tasks:\n{% for i in range(2) %}\n  - name: t{{ i }}\n    image: ubuntu:24.04\n"
        "    command: [echo]\n    args:\n" + block + "{% endfor %}\n  bogus: 1\n"
    ).encode()


def _schema_errors(count: int) -> bytes:
    items = "".join(f"    - [a{i}]\n" for i in range(count))
    return (
        "workflow:\n  name: big\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [echo]\n    args:\n"
        + items
    ).encode()


def _top_level_keys(count: int) -> bytes:
    return ("workflow:\n  name: big\n" + _TASK + "".join(f"k{i}: 1\n" for i in range(count))).encode()


def _long_line_error(size: int) -> bytes:
    return (
        b'workflow:\n  name: big\n  tasks:\n  - {name: a, image: ubuntu, command: [echo, "'
        + b"x" * size
        + b'"], bogus: 1}\n'
    )


MiB = 1024 * 1024
GENERATED: list[tuple[str, str, str, Callable[[], bytes], str | None]] = [
    (
        "gen-deep-flow-sequences-10k",
        "10,000 nested flow sequences [[[...]]]",
        "E104",
        _deep_flow_sequences,
        None,
    ),
    ("gen-deep-flow-mappings-10k", "10,000 nested flow mappings {a: {a: ...}}", "E104", _deep_flow_mappings, None),
    ("gen-deep-flow-mixed-10k", "10,000 levels of [{a: [{a: ...}]}]", "E104", _deep_flow_mixed, None),
    (
        "gen-deep-block-sequences-10k",
        "10,000 nested block sequences on one line: - - - - x",
        "E104",
        _deep_block_sequences,
        None,
    ),
    (
        "gen-deep-block-mappings-5k",
        "5,000 nested block mappings, one space per level (12.5 MB)",
        "E104",
        _deep_block_mappings,
        None,
    ),
    ("gen-scalar-20mb", "a 20 MB scalar (the file is over the 16 MiB limit)", "E102", lambda: _scalar(20 * MiB), None),
    ("gen-scalar-15mb", "a 15 MB scalar, under the limit; accepted", "ok", lambda: _scalar(15 * MiB), None),
    ("gen-comments-17mb", "17 MB of comments after a valid spec", "E102", lambda: _comments(17 * MiB), None),
    ("gen-args-100k", "one task with 100,000 args; accepted", "ok", lambda: _args(100_000), None),
    (
        "gen-environment-50k",
        "one task with 50,000 environment variables (100,000 nodes); accepted",
        "ok",
        lambda: _environment(50_000),
        None,
    ),
    ("gen-tasks-25k", "25,000 tasks (100,000 nodes); accepted", "ok", lambda: _tasks(25_000), None),
    (
        "gen-jinja-loop-100k",
        "a 3-line loop that renders 100,000 args; accepted",
        "ok",
        lambda: _jinja_loop(100_000),
        None,
    ),
    (
        "gen-jinja-expressions-100k",
        "100,000 args each with a {{ variable }}; accepted (names only: rendered without Jinja)",
        "ok",
        lambda: _jinja_expressions(100_000),
        None,
    ),
    (
        "gen-jinja-filters-100k",
        # A known limit, pinned: Jinja's compile time grows faster than linearly (10,000 expressions
        # took 2.8 s of CPU, 40,000 took 14.5 s here), so this is refused by the render bound.
        "100,000 args each with a {{ variable | filter }}: refused by the 2 s render bound",
        "E121",
        lambda: _jinja_expressions(100_000, "suffix | upper"),
        None,
    ),
    (
        "gen-repeated-block-with-error-20k",
        "a loop repeats a 20,000-line block, and one key is unknown",
        "E203",
        lambda: _repeated_block_with_error(20_000),
        None,
    ),
    (
        "gen-schema-errors-20k",
        "20,000 args that are lists: 20,000 diagnostics",
        "E201",
        lambda: _schema_errors(20_000),
        None,
    ),
    (
        "gen-top-level-keys-100k",
        "100,000 unknown top-level keys",
        "E110",
        lambda: _top_level_keys(100_000),
        None,
    ),
    ("gen-long-line-error-15mb", "a diagnostic on a 15 MB line", "E203", lambda: _long_line_error(15 * MiB), None),
]


def generated_case(name: str, what: str, expect: str, make: Callable[[], bytes], xfail: str | None) -> Case:
    def with_header() -> bytes:
        return _header(what, expect, xfail).encode() + make()

    return Case(name=name, expect=expect, what=what, xfail=xfail, make=with_header, slow=True)


STATIC = [static_case(path) for path in sorted(HOSTILE.glob("*.yaml"))]
CASES = STATIC + [generated_case(*row) for row in GENERATED]
BY_NAME = {case.name: case for case in CASES}

# Cases that also run through the CLI, to measure the whole process (start-up, reading, reporting).
CLI_CASES = {
    "billion-laughs-sequences": None,
    "recursive-anchor-mapping": None,
    "gen-deep-flow-mappings-10k": None,
    "gen-deep-block-mappings-5k": None,
    "gen-scalar-20mb": None,
    "gen-scalar-15mb": None,
    "gen-args-100k": None,
    "utf16-le-bom": None,
    "tabs-for-indentation": None,
    "jinja-nested-ranges": None,
    "jinja-string-times-billion": None,
    "jinja-escape-cycler-os-popen": None,
    "jinja-include-local-file": None,
    "gen-long-line-error-15mb": None,
    "gen-schema-errors-20k": None,
}


# -- measuring ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Measurement:
    """What one run of one case did."""

    case: str
    how: str
    outcome: str
    codes: list[str]
    seconds: float
    cpu_seconds: float
    slowdown: float
    peak_rss: int
    detail: str = ""
    output_bytes: int = 0


RESULTS: list[Measurement] = []


@pytest.fixture(scope="session")
def case_files(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Case], Path]:
    """The file of a case: the committed one, or the generated one written once per session."""
    folder = tmp_path_factory.mktemp("hostile")

    def path_of(case: Case) -> Path:
        if case.path is not None:
            return case.path
        assert case.make is not None
        path = folder / f"{case.name}.yaml"
        if not path.exists():
            path.write_bytes(case.make())
        return path

    return path_of


def _check_in_child(path: Path) -> dict[str, Any]:
    """Runs in the forked child: read the file as the CLI does and check it."""
    started = time.monotonic()
    try:
        raw = path.read_bytes()
        text = decode_source(raw, str(path))
        checked = check_spec(text, str(path), spec_path=str(path))
    except CompileError as exc:
        errors = [d for d in exc.diagnostics if d.is_error]
        return {
            "outcome": "error",
            "codes": sorted({d.code for d in errors}),
            "count": len(errors),
            "messages": [f"{d.code}: {d.message[:300]}" for d in errors[:5]],
            "hints": sorted({d.hint for d in errors if d.hint})[:20],
            "seconds": time.monotonic() - started,
        }
    except BaseException as exc:  # noqa: BLE001 - a crash is what this test looks for
        return {
            "outcome": "crash",
            "codes": [],
            "messages": [f"{type(exc).__name__}: {str(exc)[:300]}"],
            "traceback": traceback.format_exc()[-4000:],
            "seconds": time.monotonic() - started,
        }
    return {
        "outcome": "ok",
        "codes": sorted({d.code for d in checked.warnings}),
        "messages": [f"{d.code}: {d.message[:300]}" for d in checked.warnings[:5]],
        "hints": [],
        "seconds": time.monotonic() - started,
    }


def run_forked(path: Path, timeout: float) -> tuple[dict[str, Any], float, float, int]:
    """(result, wall seconds, CPU seconds, peak RSS in bytes) of checking `path` in a forked child process."""
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.setpgid(0, 0)  # its own process group: a kill also reaches the Jinja render child
            os.close(read_fd)
            payload = json.dumps(_check_in_child(path)).encode()
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001 - the parent reports a missing result
            code = 1
        os._exit(code)
    os.close(write_fd)
    answer = read_until(read_fd, started + timeout)
    timed_out = answer is None
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # the child and its Jinja render process
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # in case it had not reached setpgid yet
    _, _, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - started
    cpu = usage.ru_utime + usage.ru_stime
    if timed_out:
        killed = {"outcome": "timeout", "codes": [], "messages": [f"killed after {timeout:.0f} s"]}
        return killed, seconds, cpu, maxrss_bytes(usage)
    try:
        result: dict[str, Any] = json.loads(answer or b"")
    except ValueError:
        result = {"outcome": "died", "codes": [], "messages": ["the checking process died without a result"]}
    return result, seconds, cpu, maxrss_bytes(usage)


# -- the tests ---------------------------------------------------------------------------------------


def _params(cases: list[Case], xfails: Callable[[Case], str | None]) -> Iterator[Any]:
    for case in cases:
        marks: list[Any] = []
        reason = xfails(case)
        if reason:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        if case.slow:
            marks.append(pytest.mark.slow)
        yield pytest.param(case, id=case.name, marks=marks)


def test_the_corpus_is_large_enough() -> None:
    assert len(STATIC) >= 30
    assert len(CASES) >= 50


@pytest.mark.parametrize("case", STATIC, ids=lambda c: c.name)
def test_every_committed_case_says_what_it_expects(case: Case) -> None:
    assert case.what, f"{case.name} has no '# hostile:' line"
    assert re.fullmatch(r"ok|[EW]\d{3}", case.expect), f"{case.name}: '# expect: {case.expect}' is not a code or ok"
    assert case.path is not None and case.path.stat().st_size < 256 * 1024, "generate large cases instead"


@pytest.mark.parametrize("case", list(_params(CASES, lambda c: c.xfail)))
def test_hostile_case(case: Case, case_files: Callable[[Case], Path]) -> None:
    path = case_files(case)
    factor = slowdown()
    bound = TIME_BOUND_S * factor
    result, seconds, cpu, peak = run_forked(path, timeout=bound * KILL_AFTER)
    outcome = str(result["outcome"])
    detail = "; ".join(result["messages"])[:300]
    RESULTS.append(
        Measurement(case.name, "check_spec", outcome, list(result["codes"]), seconds, cpu, factor, peak, detail)
    )
    print(
        f"{case.name}: {outcome} {result['codes']} in {seconds:.2f} s ({cpu:.2f} s CPU, machine slowdown "
        f"{factor:.1f}), peak RSS {peak / MiB:.0f} MiB"
    )
    assert outcome not in ("crash", "died"), f"{case.name} crashed:\n{result.get('traceback', result['messages'])}"
    assert outcome != "timeout", f"{case.name} was still running after {seconds:.0f} s and was killed"
    if case.expect == "ok":
        assert outcome == "ok", f"{case.name} must be accepted, got {result['messages']}"
    else:
        assert outcome == "error", f"{case.name} must be refused with {case.expect}, but it was accepted"
        assert case.expect in result["codes"], f"{case.name}: expected {case.expect}, got {result['messages']}"
    if case.hint:
        assert any(case.hint in hint for hint in result.get("hints", [])), f"no hint mentions {case.hint!r}"
    assert cpu < TIME_BOUND_S, f"{case.name} used {cpu:.1f} s of CPU (bound {TIME_BOUND_S:g} s)"
    assert seconds < bound, f"{case.name} took {seconds:.1f} s (bound {TIME_BOUND_S:g} s x slowdown {factor:.1f})"
    assert peak < RSS_BOUND_BYTES, f"{case.name} peaked at {peak / MiB:.0f} MiB"


@pytest.mark.parametrize(
    "case", list(_params([BY_NAME[name] for name in CLI_CASES], lambda c: c.xfail or CLI_CASES[c.name]))
)
def test_hostile_case_through_the_cli(case: Case, case_files: Callable[[Case], Path]) -> None:
    path = case_files(case)
    factor = slowdown()
    bound = TIME_BOUND_S * factor
    run = run_cli(["validate", str(path)], timeout=bound * KILL_AFTER)
    codes = sorted(set(re.findall(r"error\[(E\d{3})\]", run.err)))
    outcome = "timeout" if run.timed_out else f"exit {run.code}"
    output = len(run.stdout) + len(run.stderr)
    RESULTS.append(
        Measurement(
            case.name,
            "cli validate",
            outcome,
            codes,
            run.seconds,
            run.cpu_seconds,
            factor,
            run.peak_rss,
            run.err[-300:],
            output,
        )
    )
    print(
        f"{case.name} (CLI): {outcome} {codes} in {run.seconds:.2f} s ({run.cpu_seconds:.2f} s CPU, machine "
        f"slowdown {factor:.1f}), peak RSS {run.peak_rss / MiB:.0f} MiB, {len(run.stderr):,} bytes on stderr"
    )
    assert not run.timed_out, f"{case.name}: the CLI was still running after {run.seconds:.0f} s"
    assert "Traceback (most recent call last)" not in run.err, run.err[-3000:]
    assert run.code in (0, 1, 2), f"exit {run.code} (4 is an internal error):\n{run.err[-3000:]}"
    if case.expect == "ok":
        assert run.code == 0, run.err[-3000:]
    else:
        assert run.code == 1, run.err[-3000:]
        assert case.expect in codes, f"expected {case.expect}, got {codes}: {run.err[-2000:]}"
    assert run.cpu_seconds < TIME_BOUND_S, f"the CLI used {run.cpu_seconds:.1f} s of CPU (bound {TIME_BOUND_S:g} s)"
    assert run.seconds < bound, f"the CLI took {run.seconds:.1f} s (bound {TIME_BOUND_S:g} s x slowdown {factor:.1f})"
    assert run.peak_rss < RSS_BOUND_BYTES, f"the CLI peaked at {run.peak_rss / MiB:.0f} MiB"


# -- specific properties ------------------------------------------------------------------------------


def _require(condition: bool, message: str) -> None:
    """A precondition of an xfail test: its failure is a real failure, never the expected one."""
    if not condition:
        pytest.fail(message)


def test_a_spec_larger_than_the_limit_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    """`validate` of a spec symlinked to /dev/zero must end in E102, not read until memory runs out."""
    link = tmp_path / "spec.yaml"
    link.symlink_to("/dev/zero")
    run = run_cli(["validate", str(link)], timeout=TIME_BOUND_S * slowdown() * 3, memory_limit=RSS_BOUND_BYTES)
    print(
        f"validate /dev/zero: exit {run.code} in {run.seconds:.2f} s, "
        f"peak RSS {run.peak_rss / MiB:.0f} MiB: {run.err.strip()[:300]}"
    )
    _require(not run.timed_out, "validate /dev/zero did not end")
    _require("Traceback" not in run.err, run.err[-2000:])
    assert run.code == 1 and "error[E102]" in run.err, f"exit {run.code}: {run.err.strip()[:300]}"


def test_the_library_entry_point_bounds_the_size_too() -> None:
    text = _scalar(MAX_SOURCE_BYTES + 1).decode()
    try:
        check_spec(text, "big.yaml")
    except CompileError as exc:
        codes = {d.code for d in exc.diagnostics}
    else:
        codes = set()
    assert "E102" in codes


def test_diagnostics_do_not_echo_terminal_control_sequences() -> None:
    """A diagnostic quotes a source line; raw ESC/BEL/NUL from a hostile file must not reach the terminal."""
    case = HOSTILE / "terminal-escape-on-line-one.yaml"
    run = run_cli(["validate", str(case)], timeout=TIME_BOUND_S * slowdown())
    _require(run.code == 1 and "error[E112]" in run.err, f"exit {run.code}: {run.err[-2000:]}")
    controls = sorted({f"0x{ord(c):02x}" for c in run.err if ord(c) < 0x20 and c not in "\n\t"})
    assert not controls, f"control characters {controls} reach stderr"


def test_a_control_character_is_reported_where_it_is() -> None:
    text = 'workflow:\n  name: wf\n  tasks:\n  - name: a\n    image: ubuntu:24.04\n    command: [echo, "a\x00b"]\n'
    with pytest.raises(CompileError) as caught:
        check_spec(text, "nul.yaml")
    (diagnostic,) = caught.value.diagnostics
    _require(diagnostic.code == "E100" and diagnostic.span is not None, str(diagnostic))
    assert diagnostic.span is not None
    assert diagnostic.span.line == 6, diagnostic  # the NUL is on line 6, column 23


def test_a_template_with_crlf_line_endings_reports_the_right_line() -> None:
    text = (
        "workflow:\r\n  name: wf\r\n  tasks:\r\n  - name: a\r\n    image: ubuntu:24.04\r\n"
        "    command: [echo, \"{{ 'hi' }}\"]\r\n    bogus: 1\r\n"
    )
    with pytest.raises(CompileError) as caught:
        check_spec(text, "crlf.yaml")
    (diagnostic,) = caught.value.diagnostics
    _require(diagnostic.code == "E203" and diagnostic.span is not None, str(diagnostic))
    assert diagnostic.span is not None
    assert diagnostic.span.line == 7, diagnostic


def test_a_rendered_spec_that_is_too_large_is_refused_by_the_output_limit() -> None:
    """The output limit and the memory limit are two different diagnostics with the same code."""
    case = BY_NAME["jinja-output-limit"]
    assert case.path is not None
    result, _, _, _ = run_forked(case.path, timeout=TIME_BOUND_S * slowdown())
    assert result["codes"] == ["E124"]
    assert "larger than" in result["messages"][0]


# -- the summary ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not RESULTS:
        return
    lines = [f"hostile corpus: {len(STATIC)} committed + {len(GENERATED)} generated cases; {len(RESULTS)} runs"]
    factors = sorted(m.slowdown for m in RESULTS)
    lines.append(
        f"machine slowdown against an idle machine during the runs: {factors[0]:.1f} to {factors[-1]:.1f} "
        f"(median {factors[len(factors) // 2]:.1f}); times below are raw wall-clock seconds"
    )
    slowest = max(RESULTS, key=lambda m: m.seconds)
    largest = max(RESULTS, key=lambda m: m.peak_rss)
    lines.append(
        f"slowest: {slowest.case} ({slowest.how}) {slowest.seconds:.2f} s ({slowest.cpu_seconds:.2f} s CPU) "
        f"-> {slowest.outcome} {slowest.codes}"
    )
    lines.append(f"largest peak RSS: {largest.case} ({largest.how}) {largest.peak_rss / MiB:.0f} MiB")
    over = [m for m in RESULTS if m.seconds > TARGET_TIME_S]
    lines.append(
        f"over {TARGET_TIME_S:g} s: " + (", ".join(f"{m.case} ({m.how}) {m.seconds:.1f} s" for m in over) or "none")
    )
    lines.append(
        f"{'case':44} {'how':13} {'outcome':9} {'codes':14} {'seconds':>8} {'CPU s':>7} {'slow':>5} {'RSS MiB':>8} "
        f"{'out bytes':>11}"
    )
    for m in sorted(RESULTS, key=lambda m: -m.seconds):
        lines.append(
            f"{m.case:44} {m.how:13} {m.outcome:9} {','.join(m.codes)[:14]:14} {m.seconds:8.2f} {m.cpu_seconds:7.2f} "
            f"{m.slowdown:5.1f} {m.peak_rss / MiB:8.0f} {m.output_bytes:11,}"
        )
    report = "\n".join(lines)
    print("\n" + report)
    out = os.environ.get("OSMO2ARGO_HOSTILE_REPORT")
    if out:
        Path(out).write_text(
            json.dumps([dataclasses.asdict(m) for m in RESULTS], indent=1) + "\n" + report + "\n", encoding="utf-8"
        )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        for line in lines[:5]:
            reporter.write_line(line)
