"""`mlirboot build` end to end on tiny real CMake projects (real cmake + ninja)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import component, make_project, mlirboot, sha, write_cache, write_plan


def _steps(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, str]]:
    data = json.loads(result.stdout)
    return {c["name"]: c["steps"] for c in data["components"]}


def test_build_installs_and_writes_manifest(project: dict) -> None:
    build, prefix = project["build"], project["prefix"]
    mlirboot("build", "--build-dir", build, check=True)
    tool = prefix / "bin" / "hello-tool"
    assert subprocess.run([tool], capture_output=True, text=True).stdout == "hello\n"
    manifest = json.loads((prefix / "toolchain.json").read_text())
    files = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(files) == {"bin/hello-tool", "lib/libhello.a", "include/hello/lib.h"}
    assert files["bin/hello-tool"] == sha(tool)
    assert manifest["lock_hash"] == "l"
    assert manifest["components"]["hello"]["version"] == "1.0"
    for step in ("configure", "build", "install"):
        assert (build / "hello" / "logs" / f"{step}.log").exists()


def test_second_build_does_no_work(project: dict) -> None:
    build, prefix = project["build"], project["prefix"]
    mlirboot("build", "--build-dir", build, check=True)
    mtime = (prefix / "toolchain.json").stat().st_mtime_ns
    tool_mtime = (prefix / "bin" / "hello-tool").stat().st_mtime_ns
    again = mlirboot("build", "--build-dir", build, "--json", check=True)
    steps = _steps(again)["hello"]
    assert steps == {
        "fetch": "ok",
        "configure": "up to date",
        "build": "up to date",
        "install": "up to date",
        "publish": "up to date",
    }
    assert (prefix / "toolchain.json").stat().st_mtime_ns == mtime
    assert (prefix / "bin" / "hello-tool").stat().st_mtime_ns == tool_mtime


def test_config_change_reruns_only_affected_component(tmp_path: Path) -> None:
    src = make_project(tmp_path)
    # Two components from one source, installing into different subdirs.
    (src / "CMakeLists.txt").write_text(
        (src / "CMakeLists.txt")
        .read_text()
        .replace("DESTINATION bin)", "DESTINATION ${BIN})")
        .replace("DESTINATION lib)", "DESTINATION ${BIN}/lib)")
        .replace("DESTINATION include/hello)", "DESTINATION ${BIN}/include)")
    )
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    write_cache(build, "one", 'set(BIN bin CACHE STRING "")\n')
    write_cache(
        build, "two", 'set(BIN bin2 CACHE STRING "")\nset(GREETING "two" CACHE STRING "")\n'
    )
    local = {"kind": "local", "path": str(src)}
    comps = [component("one", local), component("two", local)]
    write_plan(build, prefix, comps)
    mlirboot("build", "--build-dir", build, check=True)
    run = lambda p: subprocess.run([prefix / p], capture_output=True, text=True).stdout  # noqa: E731
    assert run("bin/hello-tool") == "hello\n"
    assert run("bin2/hello-tool") == "two\n"

    (build / "two.cmake").write_text(
        (build / "two.cmake").read_text().replace('"two"', '"changed"')
    )
    result = mlirboot("build", "--build-dir", build, "--json", check=True)
    steps = _steps(result)
    assert steps["one"]["configure"] == "up to date"
    assert steps["one"]["publish"] == "up to date"
    assert steps["two"]["configure"] == "ran"
    assert steps["two"]["publish"] == "ran"
    assert run("bin2/hello-tool") == "changed\n"
    assert run("bin/hello-tool") == "hello\n"


def test_local_source_edit_rebuilds(project: dict) -> None:
    build, prefix, src = project["build"], project["prefix"], project["src"]
    mlirboot("build", "--build-dir", build, check=True)
    (src / "lib.c").write_text('const char *greet(void) { return "edited"; }\n')
    steps = _steps(mlirboot("build", "--build-dir", build, "--json", check=True))["hello"]
    assert steps["build"] == "ran" and steps["publish"] == "ran"
    out = subprocess.run([prefix / "bin" / "hello-tool"], capture_output=True, text=True).stdout
    assert out == "edited\n"


def test_compile_error_is_reported_and_nothing_published(project: dict) -> None:
    build, prefix, src = project["build"], project["prefix"], project["src"]
    (src / "lib.c").write_text("this is not C;\n")
    result = mlirboot("build", "--build-dir", build)
    assert result.returncode == 1
    err = result.stderr
    assert "hello/build" in err
    assert "command:" in err and "ninja" in err
    log = build / "hello" / "logs" / "build.log"
    assert f"log: {log}" in err
    assert "last 30 lines" in err and "error" in err.lower()
    assert "hint:" in err
    assert not (prefix / "bin").exists()
    assert not (prefix / "toolchain.json").exists()


def test_keep_going_builds_independent_components(tmp_path: Path) -> None:
    good = make_project(tmp_path / "good")
    bad = make_project(tmp_path / "bad")
    (bad / "main.c").write_text("int main(void) { return nope; }\n")
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    write_cache(build, "bad")
    write_cache(build, "good")
    write_cache(build, "after-bad")
    write_plan(
        build,
        prefix,
        [
            component("bad", {"kind": "local", "path": str(bad)}),
            component("after-bad", {"kind": "local", "path": str(good)}, depends_on=["bad"]),
            component("good", {"kind": "local", "path": str(good)}),
        ],
    )
    result = mlirboot("build", "--build-dir", build, "--keep-going")
    assert result.returncode == 1
    assert "did not build: after-bad, bad" in result.stderr
    assert (prefix / "bin" / "hello-tool").exists()  # from "good"


def test_missing_plan_is_a_usage_error(tmp_path: Path) -> None:
    result = mlirboot("build", "--build-dir", tmp_path / "nowhere")
    assert result.returncode == 2
    assert "mlirboot configure" in result.stderr


def test_component_selection_builds_dependencies(tmp_path: Path) -> None:
    src = make_project(tmp_path)
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    write_cache(build, "base")
    write_cache(build, "other")
    local = {"kind": "local", "path": str(src)}
    write_plan(build, prefix, [component("base", local), component("other", local)])
    result = mlirboot("build", "--build-dir", build, "base", "--json", check=True)
    assert list(_steps(result)) == ["base"]
    assert mlirboot("build", "--build-dir", build, "nope").returncode == 2


def test_only_the_named_targets_are_built_and_installed(tmp_path: Path) -> None:
    """build_targets and install_targets pick parts of a project, as the
    Enzyme recipe does: a `component:NAME` entry installs a CMake install
    component that has no ninja target (enzymemlir-opt's case)."""
    src = make_project(tmp_path)
    (src / "CMakeLists.txt").write_text(
        (src / "CMakeLists.txt")
        .read_text()
        .replace(
            "install(TARGETS hello-tool DESTINATION bin)",
            "add_executable(unwanted main.c)\ntarget_link_libraries(unwanted hello)\n"
            "install(TARGETS unwanted DESTINATION bin)\n"
            "install(TARGETS hello-tool DESTINATION bin COMPONENT tool)",
        )
    )
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    write_cache(build, "hello")
    local = {"kind": "local", "path": str(src)}
    comp = component(
        "hello", local, build_targets=["hello-tool"], install_targets=["component:tool"]
    )
    write_plan(build, prefix, [comp])
    dry = mlirboot("build", "--build-dir", build, "--dry-run", check=True)
    assert "--install" in dry.stdout and "--component tool" in dry.stdout
    mlirboot("build", "--build-dir", build, check=True)
    assert subprocess.run([prefix / "bin" / "hello-tool"], capture_output=True).returncode == 0
    assert not (build / "hello" / "build" / "unwanted").exists()
    manifest = json.loads((prefix / "toolchain.json").read_text())
    assert {f["path"] for f in manifest["files"]} == {"bin/hello-tool"}
