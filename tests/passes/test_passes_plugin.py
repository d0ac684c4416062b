"""The plugin helper module: registration through mlir-opt, cache key, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlirboot.backend.passes import plugin as passes_plugin
from mlirboot.bootstrap import proc
from mlirboot.bootstrap.errors import UsageError

from .harness import MLIR_OPT


def test_mlir_opt_lists_the_plugin_passes(plugin: Path) -> None:
    res = proc.run([MLIR_OPT, f"--load-pass-plugin={plugin}", "--help"], stage="mlir-opt --help")
    for name in passes_plugin.PLUGIN_PASSES:
        assert f"--{name}" in res.output
    assert "tile-sizes" in res.output and "use-forall" in res.output


def test_plugin_is_cached_by_source_hash(plugin: Path) -> None:
    assert plugin.name == passes_plugin.PLUGIN_NAME
    assert plugin.parent.name == f"passes-{passes_plugin.source_hash()}"
    # A second request is a cache hit: same file, no rebuild.
    mtime = plugin.stat().st_mtime_ns
    again = passes_plugin.cached_plugin(Path("/nonexistent"), cache_root=plugin.parent.parent)
    assert again == plugin and again.stat().st_mtime_ns == mtime


def test_source_hash_tracks_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "src"
    shutil.copytree(
        passes_plugin.source_dir(),
        copy,
        ignore=shutil.ignore_patterns("test", "__pycache__", "*.py"),
    )
    monkeypatch.setattr(passes_plugin, "source_dir", lambda: copy)
    before = passes_plugin.source_hash()
    assert {p.name for p in passes_plugin.source_files()} >= {
        "CMakeLists.txt",
        "Plugin.cpp",
        "RaiseLoopsToLinalg.cpp",
    }
    with (copy / "Plugin.cpp").open("a") as f:
        f.write("// changed\n")
    assert passes_plugin.source_hash() != before


def test_build_rejects_a_folder_without_mlir(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"MLIRConfig\.cmake"):
        passes_plugin.build_plugin(tmp_path / "b", tmp_path)


def test_pipeline_strings() -> None:
    assert passes_plugin.PASS_PIPELINE.startswith("builtin.module(func.func(")
    order = [
        passes_plugin.RAISE_LOOPS,
        passes_plugin.SPECIALIZE_GENERICS,
        passes_plugin.REASSOCIATE_CHAINS,
        passes_plugin.FUSE_ELEMENTWISE,
    ]
    positions = [passes_plugin.PASS_PIPELINE.index(p) for p in order]
    assert positions == sorted(positions)
    custom = passes_plugin.pass_pipeline(tile_sizes=[4, 16])
    assert f"{passes_plugin.FUSE_ELEMENTWISE}{{tile-sizes=4,16}}" in custom


def test_custom_tile_sizes_reach_the_pass(plugin: Path, tmp_path: Path) -> None:
    mlp = Path(__file__).resolve().parents[2] / "examples" / "mlp.mlir"
    res = proc.run(
        [
            MLIR_OPT,
            mlp,
            "-o",
            tmp_path / "out.mlir",
            *passes_plugin.mlir_opt_args(
                plugin, pipeline=passes_plugin.pass_pipeline(tile_sizes=[4, 16])
            ),
        ],
        stage="mlir-opt mlp",
    )
    assert res.output.count("fused elementwise consumer into linalg.matmul (tiles 4x16)") == 2
    assert "tensor<4x16xf32>" in (tmp_path / "out.mlir").read_text()
