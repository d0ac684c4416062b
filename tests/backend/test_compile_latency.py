"""Compile latency without other code: consecutive pass-only stages share one
mlir-opt process (every stage still writes its temps file and op counts), and
the launcher's object comes from the compile cache's objects/ when its source,
flags and toolchain are the same."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from mbtest import llvm_ir_text
from mlirboot.backend import compile_cache
from mlirboot.backend.driver import compile_program, opt_report
from mlirboot.backend.program import DTYPES, ITEMSIZE
from mlirboot.bootstrap.toolset import system_manifest

PROGRAMS = Path(__file__).parent / "programs"


def _without_locations(path: Path) -> str:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#loc")]
    return "\n".join(re.sub(r"\s*loc\((?:[^()]|\([^()]*\))*\)", "", line) for line in lines)


def _stages(art) -> dict[str, dict]:
    return {s["name"]: s for s in art.meta["stages"]}


@pytest.mark.parametrize(
    ("program", "target", "opt"),
    [
        ("mlp.mlir", "host", "O2"),
        ("chain_alloc_dealloc.mlir", "host", "O0"),
        ("mlp.mlir", "offload-host", "O2"),
    ],
)
def test_merged_stages_write_every_stage_and_the_same_code(
    tmp_path: Path, program: str, target: str, opt: str
):
    arts = {}
    for merge in (True, False):
        name = "merged" if merge else "alone"
        arts[name] = compile_program(
            PROGRAMS / program,
            target=target,
            opt=opt,
            out=tmp_path / name,
            save_temps=tmp_path / f"{name}-temps",
            options={"merge_stages": merge},
        )
    merged, alone = _stages(arts["merged"]), _stages(arts["alone"])
    assert list(merged) == list(alone)
    grouped = [s for s in merged.values() if s.get("merged_into") is not None]
    assert grouped, "no stages shared an mlir-opt process"
    assert not any(s.get("merged_into") is not None for s in alone.values())
    for name, stage in merged.items():
        # Every stage has its own file and op counts, as when run alone.
        assert stage["output"] == alone[name]["output"]
        assert stage["ops"] == alone[name]["ops"], name
        assert (tmp_path / "merged-temps" / Path(stage["output"]).name).exists() or not stage[
            "output"
        ].startswith("temps/")
        if stage.get("merged_into") is not None:
            first = next(s for s in merged.values() if s["index"] == stage["merged_into"])
            assert first.get("merged_into") is None and first["seconds"] > 0
            assert stage["seconds"] == 0.0
    # The code generated is the same, byte for byte (but for the input file's
    # device and inode in OpenMP offload entry names, another in any compile).
    compared = 0
    for path in sorted((tmp_path / "alone-temps").glob("*")):
        if path.suffix in (".ll", ".bc"):
            other = tmp_path / "merged-temps" / path.name
            assert llvm_ir_text(other) == llvm_ir_text(path), path.name
            compared += 1
    assert compared
    # The last merged stage's file is what the next stage reads: the same IR
    # (locations aside: a block argument's unprinted location is where its
    # file was parsed, a path in each compile's own work dir).
    last = [s for s in merged.values() if s["output"].endswith(".mlir")][-1]
    name = Path(last["output"]).name
    assert _without_locations(tmp_path / "merged-temps" / name) == _without_locations(
        tmp_path / "alone-temps" / name
    )
    assert "ran in stage" in opt_report(arts["merged"].meta)


def _check_matmul(art) -> None:
    """programs/matmul.mlir's result against numpy."""
    a = np.arange(64 * 128, dtype=np.float32).reshape(64, 128) / 1000
    b = np.ones((128, 32), np.float32)
    np.testing.assert_allclose(art.run(a, b)[0], a @ b, rtol=1e-5)


def test_the_schedule_stages_share_one_process(tmp_path: Path):
    """The matmul schedule's stages (one transform library, preloaded once)
    run in one mlir-opt process, with deallocation and the lowering after them."""
    art = compile_program(PROGRAMS / "matmul.mlir", target="host", opt="O2", out=tmp_path / "a")
    stages = _stages(art)
    first = stages["schedule"]
    assert first.get("merged_into") is None and first["seconds"] > 0
    for name in ("bufferize", "schedule-vectors", "deallocate", "to-llvm"):
        assert stages[name]["merged_into"] == first["index"], name
    _check_matmul(art)


def test_two_transform_libraries_never_share_a_process():
    """A run preloads one transform library (a second one's named sequences
    would clash): a stage with another library starts a new group."""
    from types import SimpleNamespace

    from mlirboot.backend.driver import merge_groups
    from mlirboot.backend.stages import Stage

    stages = [
        Stage("a", passes=["cse"], transform_library="matmul"),
        Stage("b", passes=["cse"]),
        Stage("c", passes=["cse"], transform_library="matmul-threads"),
        Stage("d", passes=["cse"], transform_library="matmul-threads"),
        Stage("e", passes=["cse"]),
    ]
    ctx = SimpleNamespace(options={}, opt="O2")
    groups = merge_groups(ctx, stages)  # type: ignore[arg-type]
    assert [[s.name for s in g] for g in groups] == [["a", "b"], ["c", "d", "e"]]


def test_input_dependent_passes_are_checked_after_a_merged_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A merged run chooses each stage's input-dependent passes (_input_passes:
    hoist-static-allocs, drop-deallocs) from the group's input; the dumps then
    show each stage's real input, and where that asks for other passes the
    stages run again one by one. Here a no-op pass is asked for wherever the
    input holds memref.alloc: not the schedule's input, but bufferize's
    output, so the schedule's group cannot stand."""
    from mlirboot.backend import driver

    real = driver._input_passes

    def choose(passes, load, current):
        passes, load = real(passes, load, current)
        extra = ["cse"] if passes and "memref.alloc" in current.read_text() else []
        return [*passes, *extra], load

    monkeypatch.setattr(driver, "_input_passes", choose)
    art = compile_program(PROGRAMS / "matmul.mlir", target="host", opt="O2", out=tmp_path / "a")
    stages = _stages(art)
    for name in ("schedule", "bufferize", "schedule-vectors", "deallocate"):
        assert stages[name].get("merged_into") is None, name
        assert stages[name]["seconds"] > 0, name
    _check_matmul(art)


def test_a_failing_merged_run_is_reported_as_its_stage(tmp_path: Path):
    """A merged run that fails is rerun stage by stage: the error names the
    stage whose passes failed, not the group's first."""
    from mlirboot.bootstrap.errors import MlirbootError

    with pytest.raises(MlirbootError) as err:
        compile_program(
            PROGRAMS / "mlp.mlir",
            target="host",
            out=tmp_path / "a",
            options={"stage_passes": {"to-loops": ["no-such-pass"]}},
        )
    assert "host/to-loops" in str(err.value)


@pytest.fixture
def objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLIRBOOT_COMPILE_CACHE", "on")
    root = tmp_path / "objects"
    monkeypatch.setattr(compile_cache, "objects_root", lambda: root)
    return root


def test_the_launcher_object_is_reused(objects: Path, tmp_path: Path):
    first = compile_program(
        PROGRAMS / "matmul.mlir",
        target="host",
        out=tmp_path / "a",
        use_cache=False,
        save_temps=tmp_path / "ta",
    )
    second = compile_program(
        PROGRAMS / "matmul.mlir",
        target="host",
        out=tmp_path / "b",
        use_cache=False,
        save_temps=tmp_path / "tb",
    )
    assert first.meta["info"]["launcher_object"] == "compiled"
    assert second.meta["info"]["launcher_object"] == "cached"
    # The launcher's and the scratch allocator's (the same for every program).
    assert len(list(objects.glob("*.o"))) == 2
    name = Path(first.meta["files"]["launcher_object"]).name
    assert (tmp_path / "ta" / name).read_bytes() == (tmp_path / "tb" / name).read_bytes()
    assert not (tmp_path / "tb" / name.replace(".o", "-clang.log")).exists()
    # Another signature is another object.
    third = compile_program(
        PROGRAMS / "mlp.mlir", target="host", out=tmp_path / "c", use_cache=False
    )
    assert third.meta["info"]["launcher_object"] == "compiled"
    assert len(list(objects.glob("*.o"))) == 3


def test_the_launcher_key_changes_with_the_toolchain(objects: Path):
    manifest = system_manifest()
    key = compile_cache.object_key("int main(){}", "clang", ["-c"], manifest)
    assert key == compile_cache.object_key("int main(){}", "clang", ["-c"], manifest)
    assert key != compile_cache.object_key("int main(){return 1;}", "clang", ["-c"], manifest)
    assert key != compile_cache.object_key("int main(){}", "clang", ["-c", "-O2"], manifest)
    other_tools = {**manifest.tools, "clang": "/elsewhere/clang"}
    other = dataclasses.replace(manifest, tools=other_tools)
    assert key != compile_cache.object_key("int main(){}", "clang", ["-c"], other)
    relocked = dataclasses.replace(manifest, lock_hash="another")
    assert key != compile_cache.object_key("int main(){}", "clang", ["-c"], relocked)


def test_off_means_no_object_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLIRBOOT_COMPILE_CACHE", "off")
    root = tmp_path / "objects"
    monkeypatch.setattr(compile_cache, "objects_root", lambda: root)
    art = compile_program(PROGRAMS / "matmul.mlir", target="host", out=tmp_path / "a")
    assert art.meta["info"]["launcher_object"] == "compiled"
    assert not root.exists()


def test_itemsizes_are_numpys():
    np = pytest.importorskip("numpy")
    assert {k: np.dtype(v).itemsize for k, v in DTYPES.items()} == ITEMSIZE


def test_json_documents_merged_into(tmp_path: Path):
    art = compile_program(PROGRAMS / "mlp.mlir", target="host", out=tmp_path / "a")
    meta = json.loads((art.path / "artifact.json").read_text())
    assert any("merged_into" in s and s["merged_into"] is not None for s in meta["stages"])


def test_a_merged_plugin_stage_reports_what_it_specialized(tmp_path: Path):
    """A stage that loads the pass plugin reports the named ops its
    mlirboot-specialize-generic-ops made (upstream's naming pass is silent)
    whether it ran alone or merged with the stages before it. Here to-loops
    (merged after deallocate and simplify) runs only that pass, optimize
    none (so the program's generic batch matmul reaches it unnamed), and
    to-llvm does to-loops' own work first."""
    from mlirboot.backend.pipeline import load as load_pipeline

    stages = {s.name: s for s in load_pipeline("host").stages}
    passes = {
        "optimize": [],
        "to-loops": ["mlirboot-specialize-generic-ops"],
        "to-llvm": [*stages["to-loops"].passes_for("O1"), *stages["to-llvm"].passes_for("O1")],
    }
    remarks = {}
    for merge in (True, False):
        art = compile_program(
            PROGRAMS / "batch_generic.mlir",
            target="host",
            opt="O1",
            out=tmp_path / str(merge),
            options={
                "merge_stages": merge,
                "stage_passes": passes,
            },
        )
        merged = _stages(art)["to-loops"].get("merged_into") is not None
        assert merged == merge
        remarks[merge] = [r["what"] for r in art.meta["remarks"] if r["stage"] == "to-loops"]
    assert remarks[True] == remarks[False]
    assert any("recognized linalg.generic as linalg." in r for r in remarks[True])
