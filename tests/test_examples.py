"""The OSMO example corpus (../shared/osmo-examples): every file validates and compiles.

Files read from ../shared; the tests skip with a reason when it is absent (CI always has it).
`localpath` files the corpus does not ship are supplied by a stand-in reader, and a separate
test pins the "file not found" diagnostic without it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from osmo2argo.compiler import Compiled, compile_spec
from osmo2argo.errors import CompileError
from osmo2argo.pipeline import check_spec
from osmo2argo.target import Target, load_target
from osmo2argo.template import Variables

from .conftest import ROOT, require_shared_examples, shared_examples
from .structure import problems

EXAMPLES = shared_examples()
VARIABLES = Variables(set=["storage_url=s3://osmo-examples/storage"])
TARGET_FILE = ROOT / "tests" / "targets" / "examples.yaml"


def stand_in_reader(path: str) -> bytes:
    """Real files where they exist; a small script for the ones the corpus does not ship."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return f"# stand-in for {Path(path).name}\necho stand-in\n".encode()


def examples_target() -> Target:
    return load_target(TARGET_FILE.read_text(encoding="utf-8"), str(TARGET_FILE))


def compile_example(example: Path, target: Target) -> Compiled:
    """An example compiled as every corpus check compiles it: its variables, stand-in files."""
    return compile_spec(
        example.read_text(encoding="utf-8"),
        example.name,
        target=target,
        variables=VARIABLES,
        spec_path=str(example),
        read=stand_in_reader,
    )


def ids(path: Path) -> str:
    return path.stem


@pytest.fixture(scope="module")
def target() -> Target:
    return examples_target()


def test_the_corpus_is_present() -> None:
    require_shared_examples()
    assert len(EXAMPLES) >= 40


@pytest.mark.parametrize("example", EXAMPLES, ids=ids)
def test_example_validates(example: Path) -> None:
    checked = check_spec(
        example.read_text(encoding="utf-8"), example.name, VARIABLES, spec_path=str(example), read=stand_in_reader
    )
    assert checked.workflow.groups


@pytest.mark.parametrize("example", EXAMPLES, ids=ids)
def test_example_compiles(example: Path, target: Target) -> None:
    compiled = compile_example(example, target)
    assert problems(compiled.manifest) == []
    assert yaml.safe_load(compiled.text) == compiled.manifest
    assert compile_example(example, target).text == compiled.text


@pytest.mark.parametrize("example", [e for e in EXAMPLES if "localpath:" in e.read_text(encoding="utf-8")], ids=ids)
def test_missing_localpath_files_are_reported(example: Path) -> None:
    text = example.read_text(encoding="utf-8")
    wanted = sorted(set(re.findall(r"localpath:\s*(\S+)", text)))
    with pytest.raises(CompileError) as caught:
        check_spec(text, example.name, VARIABLES, spec_path=str(example))
    reported = [d for d in caught.value.diagnostics if d.code == "E131"]
    assert reported, caught.value.diagnostics
    for diagnostic in reported:
        assert "does not exist" in diagnostic.message
        assert any(diagnostic.message.startswith(f"The file/path {example.parent / name} ") for name in wanted)
