"""Every broken config gives one line naming file:line and key path, exit 2,
and leaves the build dir untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BROKEN = sorted((Path(__file__).parent.parent / "configs" / "broken").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (?P<text>.*) @(?P<line>\d+)$")


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_there_are_at_least_ten_broken_configs():
    assert len(BROKEN) >= 10


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_config_is_one_clear_line(path: Path, cli, tmp_path: Path):
    match = EXPECT.match(path.read_text().splitlines()[0])
    assert match, f"{path.name} needs an `# expect: TEXT @LINE` header"
    build = tmp_path / "build"
    build.mkdir()
    (build / "keep.txt").write_text("from an earlier run")
    before = _snapshot(build)

    result = cli("configure", "--config", path, "--build-dir", build)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"mlirboot: error: {path}:{match['line']}: "), line
    assert match["text"] in line
    assert result.stdout == ""
    assert _snapshot(build) == before


def test_missing_config_file(cli, tmp_path: Path):
    result = cli("configure", "--config", "nope.yaml", "--build-dir", "b")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mlirboot: error: nope.yaml: config file does not exist "
        "(hint: check the path given to --config)"
    )
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--target", "nvidia,tpuu"],
            "--target nvidia,tpuu: targets[1]: unknown target `tpuu` (hint: did you mean `tpu`?)",
        ),
        (
            ["--profile", "minimall"],
            "--profile minimall: profile: unknown profile `minimall` "
            "(hint: did you mean `minimal`?)",
        ),
        (["--set", "llvm.build_type"], "--set: expected KEY=VALUE"),
        (["--set", "llvm.jobs=4"], "--set llvm.jobs=4: llvm.jobs: unknown key `jobs`"),
        (
            ["--target", "amd", "--set", "archs.amd=[gfx9999]"],
            "--set archs.amd=[gfx9999]: archs.amd[0]: unknown amd arch `gfx9999`",
        ),
        (
            ["--target", "host", "--set", "offload.plugins=[cuda, opencl]"],
            "offload.plugins[1]: `opencl` is not one of: host, cuda, amdgpu, level_zero",
        ),
        (["--target", ""], "no target selected"),
    ],
    ids=[
        "target",
        "profile",
        "set-syntax",
        "set-unknown-key",
        "set-arch",
        "set-choice",
        "no-target",
    ],
)
def test_bad_command_line(cli, tmp_path: Path, args: list[str], expected: str):
    result = cli("configure", "--build-dir", "b", *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert not (tmp_path / "b").exists()


def test_json_error(cli):
    result = cli("configure", "--target", "nvida", "--json")
    assert result.returncode == 2
    import json

    data = json.loads(result.stdout)
    assert data["exit_code"] == 2
    assert "unknown target `nvida`" in data["error"]
    assert data["hint"] == "did you mean `nvidia`?"
