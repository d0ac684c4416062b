"""`mlirboot plan --graph`: the plan's components and depends_on edges as
Graphviz dot (checked with `dot -Tsvg` when installed) and Mermaid."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlirboot.bootstrap import plangraph
from mlirboot.bootstrap.commands import plan_graph

from .conftest import component, mlirboot, write_plan


@pytest.fixture
def build(tmp_path: Path) -> Path:
    build = tmp_path / "build"
    write_plan(
        build,
        tmp_path / "prefix",
        [
            component("llvm", None, action="system", version="22.1.8", cache_file=None),
            component("offload", None, action="system", version="22.1.8", cache_file=None),
            component(
                "devicertl-nvptx64",
                {"kind": "local", "path": "/src"},
                depends_on=["llvm", "offload"],
            ),
            component(
                "enzyme", {"kind": "local", "path": "/src"}, version="v0.0.302", depends_on=["llvm"]
            ),
            component(
                "pjrt",
                None,
                action="pip",
                pip={"package": "libtpu", "version": "0.1"},
                cache_file=None,
            ),
        ],
    )
    return build


def test_formats_match() -> None:
    assert plan_graph.FORMATS == plangraph.FORMATS


def test_mermaid(build: Path) -> None:
    out = mlirboot("plan", "-B", build, "--graph", "mermaid", check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "graph TD"
    assert '  c_llvm(["llvm<br/>22.1.8<br/>system"])' in lines
    assert '  c_enzyme["enzyme<br/>v0.0.302<br/>built (cmake)"]' in lines
    assert '  c_pjrt[/"pjrt<br/>1.0<br/>built (pip)"/]' in lines
    edges = [line.strip() for line in lines if "-->" in line]
    assert edges == [
        "c_llvm --> c_devicertl_nvptx64",
        "c_llvm --> c_enzyme",
        "c_offload --> c_devicertl_nvptx64",
    ]
    assert "  class c_llvm,c_offload system" in lines
    # Deterministic: the same text again.
    assert mlirboot("plan", "-B", build, "--graph", "mermaid", check=True).stdout == out


def test_dot_text_and_render(build: Path, tmp_path: Path) -> None:
    out = mlirboot("plan", "-B", build, "--graph", check=True).stdout
    assert out.startswith("digraph plan {")
    assert '"llvm" -> "devicertl-nvptx64";' in out
    assert '"offload" -> "devicertl-nvptx64";' in out
    assert '"llvm" [label="llvm\\n22.1.8\\nsystem", shape=ellipse' in out
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=out, capture_output=True, text=True, check=True
    ).stdout
    assert "<svg" in svg and "nvptx64" in svg
    target = tmp_path / "plan.svg"
    assert mlirboot("plan", "-B", build, "-o", target, check=True).returncode == 0
    assert "<svg" in target.read_text()


def test_listing_in_build_order(build: Path) -> None:
    lines = mlirboot("plan", "-B", build, check=True).stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "llvm",
        "offload",
        "devicertl-nvptx64",
        "enzyme",
        "pjrt",
    ]
    assert lines[2].endswith("after: llvm, offload")


def test_render_without_graphviz(build: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = mlirboot("plan", "-B", build, "-o", tmp_path / "g.svg", env={"PATH": str(empty)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install graphviz" in lines[0]
    assert not (tmp_path / "g.svg").exists()


def test_text_outputs_and_bad_names(build: Path, tmp_path: Path) -> None:
    mlirboot("plan", "-B", build, "-o", tmp_path / "g.mmd", check=True)
    assert (tmp_path / "g.mmd").read_text().startswith("graph TD\n")
    mlirboot("plan", "-B", build, "-o", tmp_path / "g.dot", check=True)
    assert (tmp_path / "g.dot").read_text().startswith("digraph plan {")
    for args in (
        ["-o", tmp_path / "g.txt"],
        ["--graph", "mermaid", "-o", tmp_path / "g.svg"],
        ["--graph", "mermaid", "-o", tmp_path / "g.dot"],
    ):
        assert mlirboot("plan", "-B", build, *args).returncode == 2


def test_missing_plan(tmp_path: Path) -> None:
    result = mlirboot("plan", "-B", tmp_path / "nothing")
    assert result.returncode == 2 and "mlirboot configure" in result.stderr
