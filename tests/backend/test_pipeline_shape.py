"""The backend's shape: pipelines are data checked before any tool runs (the
step contract), target facts live in configs/targets only, and a new target
that reuses a device code generator is a YAML-only change."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import yaml

from mlirboot.backend import pipeline as pipeline_mod
from mlirboot.backend.context import FILE_NAMES, Context
from mlirboot.backend.driver import compile_program
from mlirboot.backend.steps import STEPS
from mlirboot.bootstrap.config import CONFIGS_DIR, resolve
from mlirboot.bootstrap.configure import configure
from mlirboot.bootstrap.errors import BuildError, UsageError

BACKEND = Path(pipeline_mod.__file__).parent
PROGRAMS = Path(__file__).parent / "programs"


def _copy_pipelines(tmp_path: Path) -> Path:
    dest = tmp_path / "pipelines"
    shutil.copytree(pipeline_mod.PIPELINE_DIR, dest, ignore=shutil.ignore_patterns("*.py"))
    return dest


def test_every_step_declares_known_files():
    for spec in STEPS.values():
        assert (spec.needs | spec.reads | spec.makes) <= FILE_NAMES | {"signature"}, spec.name


def test_a_need_no_earlier_stage_makes_names_the_yaml_line(tmp_path, monkeypatch):
    pipes = _copy_pipelines(tmp_path)
    nvidia = (pipes / "nvidia.yaml").read_text()
    # ptxas needs the PTX that device-codegen makes: run it first.
    swapped = nvidia.replace("  - {name: device-codegen, step: device-ptx}\n", "")
    swapped = swapped.replace(
        "  - {name: package, step: offload-binary}\n",
        "  - {name: package, step: offload-binary}\n  - {name: device-codegen, step: device-ptx}\n",
    )
    (pipes / "nvidia.yaml").write_text(swapped)
    monkeypatch.setattr(pipeline_mod, "PIPELINE_DIR", pipes)
    with pytest.raises(UsageError) as err:
        pipeline_mod.load("nvidia")
    line = swapped.splitlines().index("  - {name: device-assemble, step: ptxas}") + 1
    assert f"nvidia.yaml:{line}" in str(err.value)
    assert "needs ptx, which no earlier stage makes" in str(err.value)
    assert "device-ptx" in (err.value.hint or "")


def test_a_conditional_maker_is_not_enough(tmp_path, monkeypatch):
    """A need made only under --blas fails the check for the plain compile."""
    pipes = _copy_pipelines(tmp_path)
    host = (pipes / "host.yaml").read_text()
    host = host.replace("step: host-object}", "step: host-object, when: blas}")
    (pipes / "host.yaml").write_text(host)
    monkeypatch.setattr(pipeline_mod, "PIPELINE_DIR", pipes)
    with pytest.raises(UsageError, match="needs host_object"):
        pipeline_mod.load("host")


def test_unknown_step_and_key_are_caught_at_load(tmp_path, monkeypatch):
    pipes = _copy_pipelines(tmp_path)
    monkeypatch.setattr(pipeline_mod, "PIPELINE_DIR", pipes)
    host = (pipes / "host.yaml").read_text()
    (pipes / "host.yaml").write_text(host.replace("step: link-host", "step: link-hots"))
    with pytest.raises(UsageError, match="unknown step `link-hots`") as err:
        pipeline_mod.load("host")
    assert "link-host" in (err.value.hint or "")
    (pipes / "host.yaml").write_text(
        host.replace("{name: link, step:", "{name: link, stpe: x, step:")
    )
    with pytest.raises(UsageError, match="unknown stage key `stpe`"):
        pipeline_mod.load("host")


def test_a_step_is_held_to_its_declaration(tmp_path):
    ctx = Context(
        source=tmp_path,
        pipeline=pipeline_mod.load("host"),
        opt="O2",
        entry=None,
        tools=None,
        workdir=tmp_path,
    )  # type: ignore[arg-type]
    ctx.allowed = (frozenset({"host_object"}), frozenset())
    with pytest.raises(BuildError, match="does not declare that it needs it"):
        ctx.file("device_ll")
    with pytest.raises(BuildError, match="does not declare that it makes it"):
        ctx.make("executable", tmp_path)


def test_no_target_names_in_backend_python():
    """Target facts live in configs/targets and backend/pipelines: no target
    name is a string literal in backend Python."""
    names = set(pipeline_mod.targets()) | {p.stem for p in (CONFIGS_DIR / "targets").glob("*.yaml")}
    # A PJRT plugin name (`--pjrt-plugin tpu|cpu|PATH`) is not a target name.
    allowed = {("pjrt_launcher.py", "tpu")}
    found = []
    for path in BACKEND.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and node.value in names
                and (path.name, node.value) not in allowed
            ):
                found.append(f"{path.relative_to(BACKEND)}:{node.lineno}: {node.value!r}")
    assert not found, found


def _nvidia_flavour(tmp_path: Path) -> tuple[Path, Path]:
    """A second NVIDIA target with its own default arch: two YAML files."""
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS_DIR, configs)
    spec = yaml.safe_load((configs / "targets" / "nvidia.yaml").read_text())
    spec["name"] = "nvidia-ampere"
    spec["description"] = "NVIDIA Ampere GPUs"
    spec["codegen"]["arch"] = "sm_80"
    spec["archs"]["default"] = ["sm_80"]
    (configs / "targets" / "nvidia-ampere.yaml").write_text(yaml.safe_dump(spec))
    pipes = _copy_pipelines(tmp_path)
    text = (
        (pipes / "nvidia.yaml")
        .read_text()
        .replace("device-target: nvidia\n", "device-target: nvidia-ampere\n")
    )
    (pipes / "nvidia-ampere.yaml").write_text(text)
    return configs, pipes


def test_a_new_device_flavour_is_only_yaml_for_configure(tmp_path):
    configs, _ = _nvidia_flavour(tmp_path)
    resolved = resolve(
        targets=["nvidia-ampere"], sets=["provider=source"], cwd=tmp_path, configs_dir=configs
    )
    result = configure(resolved, build_dir=tmp_path / "b", prefix=None, cwd=tmp_path, codename=None)
    assert result.plan.archs == {"nvidia-ampere": ["sm_80"]}


def test_a_new_device_flavour_is_only_yaml_for_compile(tmp_path, monkeypatch, gpu_toolchain):
    configs, pipes = _nvidia_flavour(tmp_path)
    monkeypatch.setattr(pipeline_mod, "PIPELINE_DIR", pipes)
    monkeypatch.setattr(pipeline_mod, "TARGETS_DIR", configs / "targets")
    assert "nvidia-ampere" in pipeline_mod.targets()
    art = compile_program(
        PROGRAMS / "matmul.mlir",
        target="nvidia-ampere",
        out=tmp_path / "art",
        toolchain=str(gpu_toolchain),
    )
    assert art.meta["arch"] == "sm_80"
    assert ".target sm_80" in art.files["ptx"].read_text()
    assert art.meta["info"]["validation"]["ptxas"] == "ptxas -arch=sm_80: ok"
    with pytest.raises(UsageError, match="unknown nvidia-ampere arch `sm_9`") as err:
        compile_program(PROGRAMS / "matmul.mlir", target="nvidia-ampere", arch="sm_9")
    assert "sm_90" in (err.value.hint or "")
