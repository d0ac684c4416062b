"""`config show` names, for each leaf, the layer that wrote it (built-in,
profile, the user's file, the command line, --set), or the model's default
when none did: never the layer that wrote a neighbour or an ancestor."""

from __future__ import annotations

import json
from pathlib import Path

from mlirboot.bootstrap.config import CONFIGS_DIR


def _line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of `path` that starts with `text`."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.lstrip().startswith(text))


def test_config_show_names_the_layer_that_set_each_leaf(cli, tmp_path: Path):
    (tmp_path / "c.yaml").write_text(
        "targets: [host]\n"
        "sources:\n"
        "  llvm:\n"
        "    use: tarball\n"
        "    tarball:\n"
        "      url: https://example.org/llvm.tar.xz\n"
        "      sha256: '" + "0" * 64 + "'\n"
    )
    result = cli(
        "config",
        "show",
        "--config",
        "c.yaml",
        "--profile",
        "debug",
        "--target",
        "host",
        "--set",
        "llvm.assertions=true",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    rows = {r["key"]: (r["layer"], r["where"]) for r in json.loads(result.stdout)}
    toolchain = CONFIGS_DIR / "toolchain.yaml"
    debug = CONFIGS_DIR / "profiles" / "debug.yaml"
    assert rows["provider"] == (
        "built-in",
        f"configs/toolchain.yaml:{_line_of(toolchain, 'provider:')}",
    )
    assert rows["llvm.build_type"] == (
        "profile debug",
        f"configs/profiles/debug.yaml:{_line_of(debug, 'build_type:')}",
    )
    assert rows["llvm.cmake.LLVM_USE_SPLIT_DWARF"] == (
        "profile debug",
        f"configs/profiles/debug.yaml:{_line_of(debug, 'LLVM_USE_SPLIT_DWARF:')}",
    )
    assert rows["sources.llvm.tarball.url"] == ("c.yaml", "c.yaml:6")
    assert rows["sources.llvm.use"] == ("c.yaml", "c.yaml:4")
    # c.yaml wrote into sources.llvm; the git pin beside it is still the built-in's.
    assert rows["sources.llvm.git.commit"] == (
        "built-in",
        f"configs/toolchain.yaml:{_line_of(toolchain, 'commit:')}",
    )
    assert rows["targets"] == ("command line", "--target host")
    assert rows["profile"] == ("command line", "--profile debug")
    assert rows["llvm.assertions"] == ("--set", "--set llvm.assertions=true")
    # Neighbours of what a layer set are not that layer's.
    assert rows["llvm.link_dylib"] == (
        "built-in",
        f"configs/toolchain.yaml:{_line_of(toolchain, 'link_dylib:')}",
    )
    # Never written by any layer: the model's default, even inside a mapping a layer wrote.
    assert rows["sources.llvm.tarball.strip"] == ("default", "model default")
    assert rows["mlir.cmake"] == ("default", "model default")
    assert rows["build.jobs"] == ("default", "model default")


def test_set_does_not_claim_its_siblings(cli):
    """The issue's case: after --set llvm.assertions=true, llvm.cmake {} was
    said to come from --set."""
    result = cli("config", "show", "--target", "host", "--set", "llvm.assertions=true")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert lines["llvm.cmake"].endswith("{}  # default (model default)")
    assert lines["llvm.assertions"].endswith("# --set (--set llvm.assertions=true)")
    assert sum("# --set" in line for line in lines.values()) == 1


def test_set_of_a_mapping_claims_only_its_keys(cli):
    result = cli("config", "show", "--target", "host", "--set", "llvm={assertions: true}", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["key"]: (r["layer"], r["where"]) for r in json.loads(result.stdout)}
    assert rows["llvm.assertions"] == ("--set", "--set llvm={assertions: true}")
    assert rows["llvm.build_type"][0] == "profile release"
    assert rows["llvm.tools"][0] == "built-in"
    assert rows["llvm.cmake"] == ("default", "model default")
