"""`osmo2argo graph`: ids, escaping, edges and shapes, the CLI, and goldens for the example corpus.

Goldens live in tests/graph-golden/<example stem>.mmd (one .dot too) and are rewritten only with
`pytest tests/test_graph.py --update-golden` (refused when CI is set); read the diff before
committing it. The example corpus comes from ../shared and the golden tests skip without it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest

from osmo2argo import ir
from osmo2argo.graph import dot_text, mermaid_text, render, safe_ids, short_url
from osmo2argo.pipeline import check_spec

from .cli_runner import run_cli
from .conftest import require_shared_examples, shared_examples
from .test_examples import VARIABLES, stand_in_reader

GRAPH_GOLDEN = Path(__file__).resolve().parent / "graph-golden"
EXAMPLES = shared_examples()
DOT_EXAMPLE = "cookbook__dnn_training__torchrun_reschedule__train"

# Every Mermaid line render() writes, with labels allowed only characters that cannot end or
# confuse them (specials are `#NN;` entities, line breaks `<br>`).
LABEL = r'"(?:[^"#&<>|\[\](){}`\n]|#\d+;|<br>)*"'
ID = r"[a-z][a-z0-9_]*"
MERMAID_LINE = re.compile(
    rf"flowchart TD"
    rf"|    subgraph {ID}\[{LABEL}\]"
    rf"|(?:    |        ){ID}(?:\[{LABEL}\]|\{{\{{{LABEL}\}}\}}|\(\[{LABEL}\]\))"
    rf"|    end"
    rf"|    {ID} (?:-->|-\.->)\|{LABEL}\| {ID}"
)
DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'


def graph_of(text: str, fmt: str = "mermaid") -> str:
    return render(check_spec(text, "spec.yaml").workflow, fmt)


def assert_plausible_mermaid(text: str) -> None:
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    bad = [line for line in lines if not MERMAID_LINE.fullmatch(line)]
    assert bad == []
    assert sum(line.lstrip().startswith("subgraph ") for line in lines) == lines.count("    end")


def assert_plausible_dot(text: str) -> None:
    assert text.endswith("}\n")
    # With every quoted string removed, no quote or backslash may be left over.
    bare = re.sub(DOT_STRING, "S", text)
    assert '"' not in bare
    assert "\\" not in bare
    assert bare.count("{") == bare.count("}")


# --- ids and escaping --------------------------------------------------------------------------


def test_ids_are_safe_and_distinct_for_names_differing_in_case_or_dash() -> None:
    names = ["Train", "train", "TRAIN", "a-b", "a_b", "a_b_2", "end", "x-ray"]
    ids = safe_ids(names, "t_")
    assert len(set(ids.values())) == len(names)
    assert all(re.fullmatch(r"t_[a-z0-9_]+", i) for i in ids.values())
    assert ids["Train"] == "t_train"
    assert ids["train"] == "t_train_2"
    assert ids["a-b"] == "t_a_b"
    assert ids["a_b"] == "t_a_b_2"
    assert ids["a_b_2"] == "t_a_b_2_2"  # its natural id was taken by the clash above
    assert ids["end"] == "t_end"  # never the bare Mermaid keyword


def test_ids_are_stable_for_a_repeated_name() -> None:
    assert safe_ids(["a", "a", "A"], "g_") == {"a": "g_a", "A": "g_a_2"}


def test_mermaid_text_escapes_every_special_character() -> None:
    raw = 'a"b#c<d>e|f[g]h(i)j{k}l&m`n\no'
    escaped = mermaid_text(raw)
    assert escaped == "a#34;b#35;c#60;d#62;e#124;f#91;g#93;h#40;i#41;j#123;k#125;l#38;m#96;n<br>o"
    assert re.fullmatch(r'(?:[^"#&<>|\[\](){}`\n]|#\d+;|<br>)*', escaped)


def test_mermaid_text_keeps_plain_names_and_unicode() -> None:
    assert mermaid_text("★ train_model-2 s3://b/x:y") == "★ train_model-2 s3://b/x:y"


def test_dot_text_escapes_backslashes_quotes_and_newlines() -> None:
    assert dot_text('a\\b"c\nd\r\ne') == 'a\\\\b\\"c\\nd\\ne'
    tricky = 'x\\"'
    assert re.fullmatch(DOT_STRING, '"' + dot_text(tricky) + '"')


@pytest.mark.parametrize(
    ("url", "short"),
    [
        ("s3://bucket/data/", "s3://bucket/data/"),
        (
            "s3://my-bucket/a/very/long/path/to/some/training/run/outputs/final/",
            "s3://my-bucket/…/to/some/training/run/outputs/final/",
        ),
        ("gs://bucket/" + "x" * 60 + "/model.pt", "gs://bucket/…/model.pt"),
        ("s3://bucket/a/" + "y" * 60, "s3://bucket/a/" + "y" * 39 + "…"),
        (
            "azure://account/container/one/two/three/four/five/six/seven/eight",
            "azure://account/container/…/four/five/six/seven/eight",
        ),
        (
            "swift://endpoint.example.com/AUTH_account/bucket/a/b/c/d/e/f",
            "swift://endpoint.example.com/AUTH_account/bucket/…/d/e/f",
        ),
        (
            "tos://tos-cn-beijing.volces.com/bucket/some/deeply/nested/prefix/here/x",
            "tos://tos-cn-beijing.volces.com/bucket/…/prefix/here/x",
        ),
        # A run-scoped URL keeps the segment before its token, or all such URLs would look alike.
        (
            "s3://osmo-examples/storage/isaac-sim-cosmos-warehouse-sample/{{workflow_id}}/",
            "s3://osmo-examples/…/isaac-sim-cosmos-warehouse-sample/{{workflow_id}}/",
        ),
        ("s3://" + "b" * 60, "s3://" + "b" * 60),  # the bucket is never cut
        ("s3://" + "b" * 60 + "/x", "s3://" + "b" * 60 + "/x"),  # nothing to elide
    ],
)
def test_short_url_keeps_scheme_and_bucket(url: str, short: str) -> None:
    assert short_url(url) == short


# --- what the graph shows ----------------------------------------------------------------------

GROUPS = """
workflow:
  name: pipe
  groups:
  - name: prep
    tasks:
    - name: fetch
      lead: true
      image: ubuntu
      command: [sh]
      inputs:
      - url: s3://raw/data/
      outputs:
      - dataset: {name: cleaned}
    - name: Fetch_Aux
      image: ubuntu
      command: [sh]
  - name: train
    tasks:
    - name: trainer
      lead: true
      image: ubuntu
      command: [sh]
      inputs:
      - task: fetch
      - dataset: {name: cleaned}
      - dataset: {name: cleaned:v1}
      - task: old-run-7:trainer
      outputs:
      - url: s3://models/run/
    - name: helper
      image: ubuntu
      command: [sh]
      inputs:
      - task: Fetch_Aux
"""


def test_groups_leads_and_labelled_edges() -> None:
    graph = graph_of(GROUPS)
    assert graph == (
        "flowchart TD\n"
        '    subgraph g_prep["prep"]\n'
        '        t_fetch{{"★ fetch"}}\n'
        '        t_fetch_aux["Fetch_Aux"]\n'
        "    end\n"
        '    subgraph g_train["train"]\n'
        '        t_trainer{{"★ trainer"}}\n'
        '        t_helper["helper"]\n'
        "    end\n"
        '    d_1(["s3://raw/data/"])\n'
        '    d_2(["dataset cleaned:v1"])\n'
        '    d_3(["output of old-run-7:trainer"])\n'
        '    d_4(["s3://models/run/"])\n'
        '    d_1 -->|"input:0"| t_fetch\n'
        '    t_fetch -->|"output as input:0"| t_trainer\n'
        '    t_fetch -->|"dataset cleaned as input:1"| t_trainer\n'
        '    d_2 -->|"input:2"| t_trainer\n'
        '    d_3 -->|"input:3"| t_trainer\n'
        '    t_trainer -->|"output"| d_4\n'
        '    t_fetch_aux -->|"output as input:0"| t_helper\n'
    )
    assert_plausible_mermaid(graph)


def test_groups_as_dot() -> None:
    graph = graph_of(GROUPS, "dot")
    assert graph.startswith('digraph "pipe" {\n')
    assert '    subgraph "cluster_g_prep" {\n        label="prep";\n' in graph
    assert '"t_fetch" [label="★ fetch", shape=hexagon];' in graph
    assert '"d_2" [label="dataset cleaned:v1", style="rounded"];' in graph
    assert '"t_fetch" -> "t_trainer" [label="dataset cleaned as input:1"];' in graph
    assert_plausible_dot(graph)


TASKS = """
workflow:
  name: chain
  tasks:
  - name: make
    image: ubuntu
    command: [sh]
    outputs:
    - dataset: {name: research/shards}
    - dataset: {name: unread}
  - name: use
    image: ubuntu
    command: [sh]
    inputs:
    - dataset: {name: research/shards:latest}
"""


def test_tasks_mode_is_plain_nodes_and_an_unread_dataset_output_is_a_node() -> None:
    assert graph_of(TASKS) == (
        "flowchart TD\n"
        '    t_make["make"]\n'
        '    t_use["use"]\n'
        '    d_1(["dataset unread"])\n'
        '    t_make -->|"output"| d_1\n'
        '    t_make -->|"dataset research/shards:latest as input:0"| t_use\n'
    )


def test_a_dataset_written_in_the_same_group_is_read_from_outside() -> None:
    spec = """
workflow:
  name: same
  groups:
  - name: g
    tasks:
    - name: w
      lead: true
      image: ubuntu
      command: [sh]
      outputs:
      - dataset: {name: ds}
    - name: r
      image: ubuntu
      command: [sh]
      inputs:
      - dataset: {name: ds}
"""
    graph = graph_of(spec)
    # OSMO adds no edge for it (the reader gets the version from before the run), so neither do we.
    assert "t_w -->" in graph
    assert '    d_1(["dataset ds"])\n' in graph
    assert '    d_1 -->|"input:0"| t_r\n' in graph
    assert '    t_w -->|"output"| d_1\n' in graph
    assert "as input" not in graph


def test_explicit_one_task_group_is_a_subgraph_without_a_lead_mark() -> None:
    spec = """
workflow:
  name: one
  groups:
  - name: solo-group
    tasks:
    - name: solo
      image: ubuntu
      command: [sh]
"""
    assert graph_of(spec) == 'flowchart TD\n    subgraph g_solo_group["solo-group"]\n        t_solo["solo"]\n    end\n'


def test_urls_with_odd_characters_render_escaped() -> None:
    odd = 's3://bucket/we"ird#<x>|[y]{z}(w)&`q/'
    spec = f"""
workflow:
  name: odd
  tasks:
  - name: t
    image: ubuntu
    command: [sh]
    inputs:
    - url: '{odd}'
    outputs:
    - url: 's3://out/{{{{workflow_id}}}}/a"b'
"""
    mermaid = graph_of(spec)
    assert_plausible_mermaid(mermaid)
    assert '    d_1(["s3://bucket/we#34;ird#35;#60;x#62;#124;#91;y#93;#123;z#125;#40;w#41;#38;#96;q/"])\n' in mermaid
    assert '    d_2(["s3://out/#123;#123;workflow_id#125;#125;/a#34;b"])\n' in mermaid
    dot = graph_of(spec, "dot")
    assert_plausible_dot(dot)
    assert '"d_1" [label="s3://bucket/we\\"ird#<x>|[y]{z}(w)&`q/", style="rounded"];' in dot


def test_long_urls_keep_the_full_text_as_a_dot_tooltip() -> None:
    url = "s3://bucket/" + "/".join(f"part{i}" for i in range(20)) + "/"
    spec = f"""
workflow:
  name: long
  tasks:
  - name: t
    image: ubuntu
    command: [sh]
    outputs:
    - url: {url}
"""
    assert '(["s3://bucket/…/part14/part15/part16/part17/part18/part19/"])' in graph_of(spec)
    assert f'tooltip="{url}"' in graph_of(spec, "dot")


def _task(name: str, group: str, *, lead: bool = True, inputs: tuple[ir.Input, ...] = ()) -> ir.Task:
    return ir.Task(
        name=name,
        group=group,
        image=ir.Text(("ubuntu",)),
        command=(ir.Text(("sh",)),),
        args=(),
        lead=lead,
        environment=(),
        secret_env=(),
        secret_dirs=(),
        inputs=inputs,
        outputs=(),
        files=(),
        resources=ir.Resources("default"),
        host_mounts=(),
        exit_rules=(),
        checkpoints=(),
        privileged=False,
        host_network=False,
        kpis=(),
        download_type=None,
        cache_size=None,
    )


def _workflow(groups: tuple[ir.Group, ...], mode: Literal["tasks", "groups"] = "groups") -> ir.Workflow:
    return ir.Workflow("wf", (), ir.Timeout(None, None), groups, mode, "wf.yaml")


def test_names_differing_only_in_case_or_dash_get_separate_nodes() -> None:
    # The frontend rejects such a workflow (E308), but the ids must not rely on it.
    source = _task("Data-Prep", "g")
    other = _task("data_prep", "g2", inputs=(ir.TaskInput(0, "Data-Prep", None, None),))
    workflow = _workflow(
        (
            ir.Group("g", (source,), True, True, True, ()),
            ir.Group("g2", (other,), True, True, True, ("g",)),
        ),
        "tasks",
    )
    graph = render(workflow, "mermaid")
    assert graph == (
        "flowchart TD\n"
        '    t_data_prep["Data-Prep"]\n'
        '    t_data_prep_2["data_prep"]\n'
        '    t_data_prep -->|"output as input:0"| t_data_prep_2\n'
    )


def test_an_ordering_no_task_edge_shows_becomes_a_dashed_group_edge() -> None:
    first = ir.Group("First", (_task("a", "First"), _task("b", "First", lead=False)), True, True, False, ())
    second = ir.Group("second", (_task("c", "second"),), True, True, False, ("First",))
    workflow = _workflow((first, second))
    assert render(workflow, "mermaid").endswith('    g_first -.->|"after"| g_second\n')
    dot = render(workflow, "dot")
    assert '"t_a" -> "t_c" [label="after", style=dashed, ltail="cluster_g_first", lhead="cluster_g_second"];' in dot
    assert_plausible_dot(dot)


def test_the_peer_rule_adds_no_group_edge_when_a_task_edge_shows_it() -> None:
    graph = graph_of(GROUPS)
    assert "-.->" not in graph
    assert "g_prep -->" not in graph


def test_render_is_deterministic_and_rejects_unknown_formats() -> None:
    workflow = check_spec(GROUPS, "spec.yaml").workflow
    assert render(workflow, "mermaid") == render(workflow, "mermaid")
    assert render(workflow, "dot") == render(workflow, "dot")
    with pytest.raises(ValueError, match="unknown graph format"):
        render(workflow, "svg")


def test_the_module_imports_no_heavy_dependency() -> None:
    code = (
        "import sys, osmo2argo.graph\n"
        "print(sorted(m for m in ('jinja2', 'hera', 'kubernetes', 'jsonschema') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_graphviz_accepts_the_dot_output() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz `dot` is missing; .ci/run installs it and CI never skips this check")
        pytest.skip("Graphviz `dot` is not installed on this machine (apt-get install graphviz)")
    odd = GROUPS.replace("s3://raw/data/", "'s3://raw/d\"a\\\\t#a<b>{c}|/'")
    first = ir.Group("First", (_task("a", "First"), _task("b", "First", lead=False)), True, True, False, ())
    second = ir.Group("second", (_task("c", "second"),), True, True, False, ("First",))
    for text in (graph_of(odd, "dot"), render(_workflow((first, second)), "dot")):
        result = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""


# --- the command -------------------------------------------------------------------------------


def test_cli_prints_mermaid_by_default(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(GROUPS, encoding="utf-8")
    result = run_cli(["graph", str(spec)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == graph_of(GROUPS)
    assert result.stderr == ""


def test_cli_prints_dot_and_reads_stdin() -> None:
    result = run_cli(["graph", "-", "--format", "dot"], input=GROUPS)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == graph_of(GROUPS, "dot")


def test_cli_takes_template_variables() -> None:
    spec = GROUPS.replace("name: pipe", "name: {{ wf_name }}")
    result = run_cli(["graph", "-", "--format", "dot", "--set-string", "wf_name=renamed"], input=spec)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('digraph "renamed" {\n')


def test_cli_prints_warnings_on_stderr_and_the_graph_on_stdout() -> None:
    spec = """
workflow:
  name: late
  tasks:
  - name: reader
    image: ubuntu
    command: [sh]
    inputs:
    - dataset: {name: ds}
  - name: writer
    image: ubuntu
    command: [sh]
    outputs:
    - dataset: {name: ds}
"""
    result = run_cli(["graph", "-"], input=spec, env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    assert "W301" in result.stderr
    # Read before it is written: the reader gets the version from before the run, so one data node.
    assert result.stdout == (
        "flowchart TD\n"
        '    t_reader["reader"]\n'
        '    t_writer["writer"]\n'
        '    d_1(["dataset ds"])\n'
        '    d_1 -->|"input:0"| t_reader\n'
        '    t_writer -->|"output"| d_1\n'
    )


def test_cli_reports_an_invalid_spec_on_stderr_with_exit_1() -> None:
    spec = GROUPS.replace("- task: fetch", "- task: fetchh")
    result = run_cli(["graph", "-"], input=spec, env={"NO_COLOR": "1"})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "E311" in result.stderr
    assert "fetchh" in result.stderr


def test_cli_reports_a_missing_file_with_exit_1(tmp_path: Path) -> None:
    result = run_cli(["graph", str(tmp_path / "absent.yaml")], env={"NO_COLOR": "1"})
    assert result.exit_code == 1
    assert "E109" in result.stderr


def test_cli_rejects_an_unknown_format() -> None:
    result = run_cli(["graph", "-", "--format", "svg"], input=GROUPS)
    assert result.exit_code == 2


# --- goldens for the example corpus ------------------------------------------------------------


def example_graph(example: Path, fmt: str) -> str:
    checked = check_spec(
        example.read_text(encoding="utf-8"), example.name, VARIABLES, spec_path=str(example), read=stand_in_reader
    )
    return render(checked.workflow, fmt)


def check_golden(golden: Path, actual: str, update: bool) -> None:
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.is_file(), f"{golden.name} is missing; run pytest tests/test_graph.py --update-golden"
    assert actual == golden.read_text(encoding="utf-8")


def test_every_example_has_a_graph_golden() -> None:
    require_shared_examples()
    stems = {e.stem for e in EXAMPLES}
    stored = {p.stem for p in GRAPH_GOLDEN.glob("*.mmd")}
    assert stored - stems == set(), "graph goldens for examples that no longer exist"
    assert DOT_EXAMPLE in stems


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_graph_golden(example: Path, update_golden: bool) -> None:
    graph = example_graph(example, "mermaid")
    assert_plausible_mermaid(graph)
    check_golden(GRAPH_GOLDEN / f"{example.stem}.mmd", graph, update_golden)


def test_example_dot_golden(update_golden: bool) -> None:
    require_shared_examples()
    graph = example_graph(next(e for e in EXAMPLES if e.stem == DOT_EXAMPLE), "dot")
    assert_plausible_dot(graph)
    check_golden(GRAPH_GOLDEN / f"{DOT_EXAMPLE}.dot", graph, update_golden)
