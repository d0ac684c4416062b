"""`mlirboot container`: pinned, multi-stage Containerfiles for every target, and
(slow) a real buildah build from a debootstrapped base, built twice."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from mlirboot.bootstrap.config import resolve
from mlirboot.bootstrap.configure import configure
from mlirboot.bootstrap.ship import container

BASE = "localhost/mlirboot-base@sha256:" + "ab" * 32
TARGETS = ["host", "nvidia", "amd", "intel", "tpu"]


@pytest.mark.parametrize("target", TARGETS)
def test_renders_pinned_multistage(target: str, tmp_path: Path):
    spec = container.make_spec([target], "bookworm", BASE, 1700000000, tmp_path)
    text = container.render(spec)
    assert f"ARG BASE_IMAGE={BASE}" in text
    assert re.findall(r"^FROM (\S+) AS (\w+)$", text, re.M) == [
        ("${BASE_IMAGE}", "build"),
        ("${BASE_IMAGE}", "runtime"),
    ]
    assert "ARG SOURCE_DATE_EPOCH=1700000000" in text
    assert "COPY --from=build /opt/mlirboot /opt/mlirboot" in text
    assert "--require-hashes" in text
    # Every system package of the plan is installed at the config's version.
    plan = configure(
        resolve(targets=[target], cwd=tmp_path),
        build_dir=tmp_path / "b",
        prefix=None,
        cwd=tmp_path,
        codename="bookworm",
    ).plan
    packages = [p for c in plan.components for p in c.packages]
    assert packages
    for pkg in packages:
        if pkg["version"]:
            assert f" {pkg['name']}={pkg['version']} " in text
        else:  # the config has no version: pinned from apt here, or reported
            assert re.search(rf" {re.escape(pkg['name'])}(=\S+)? ", text)
    assert "llvm-22=1:22.1.8-1~deb12u1" in text
    if target == "intel":
        assert " libze-dev" in text and " spirv-tools" in text


def test_trixie_uses_trixie_pins(tmp_path: Path):
    spec = container.make_spec(["host"], "trixie", BASE, 0, tmp_path)
    assert "llvm-22=1:22.1.8-1~deb13u5" in container.render(spec)


@pytest.mark.parametrize("codename", ["bookworm", "trixie"])
def test_cli_writes_context_with_hashed_wheels(cli, tmp_path: Path, codename: str):
    """One release's Python is the running one (installed versions pinned), the
    other's is not (versions resolved for that Python)."""
    res = cli(
        "container",
        "--target",
        "nvidia",
        "--base-image",
        BASE,
        "-o",
        tmp_path / "ctx",
        "--codename",
        codename,
        "--json",
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    ctx = Path(out["context"])
    assert (ctx / "Containerfile").read_text().startswith("# Rendered by `mlirboot container")
    assert f"{codename}-security" in (ctx / "apt/sources.list").read_text()
    reqs = (ctx / "python/requirements.txt").read_text().splitlines()
    wheels = {p.name: p for p in (ctx / "python/wheels").glob("*.whl")}
    assert len(reqs) == len(wheels) and any(r.startswith("mlirboot==0.1.0 ") for r in reqs)
    assert any(r.startswith("numpy==") for r in reqs)
    for line in reqs:
        name, digest = line.split(" --hash=sha256:")
        dist = name.split("==")[0].replace("-", "_")
        whl = next(w for n, w in wheels.items() if n.lower().startswith(dist + "-"))
        assert hashlib.sha256(whl.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("base", ["debian:bookworm", "debian@sha256:1234"])
def test_unpinned_base_is_rejected(cli, tmp_path: Path, base: str):
    res = cli("container", "--target", "host", "--base-image", base, "-o", tmp_path / "ctx")
    assert res.returncode == 2
    assert "not pinned by digest" in res.stderr and "hint:" in res.stderr
    assert not (tmp_path / "ctx").exists()


def _have_buildah() -> bool:
    return bool(shutil.which("buildah") and shutil.which("debootstrap")) and os.geteuid() == 0


@pytest.mark.slow
@pytest.mark.skipif(
    not _have_buildah(),
    reason="needs root, buildah and debootstrap (apt-get install buildah debootstrap)",
)
def test_host_image_builds_reproducibly(cli, tmp_path: Path):
    from mlirboot.bootstrap.ship import buildah
    from mlirboot.bootstrap.ship.rootfs import base_image

    base = base_image("bookworm")  # debootstrap once a day, cached in the user cache dir
    assert re.match(r"^localhost/mlirboot-base@sha256:[0-9a-f]{64}$", base)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    args = ["container", "--target", "host", "--base-image", base, "--codename", "bookworm"]
    tag1, tag2 = (f"localhost/mlirboot-test-{os.getpid()}:{n}" for n in (1, 2))
    # Two independent renders, made back to back: the mlirboot wheel is built from
    # the working tree, so a render minutes later may see other edits (new input,
    # not a reproducibility failure).
    res = cli(*args, "-o", tmp_path / "ctx2", env=env)
    assert res.returncode == 0, res.stderr
    built = []
    try:
        res = cli(
            *args,
            "-o",
            tmp_path / "ctx1",
            "--build",
            "--tag",
            tag1,
            "--json",
            env=env,
            timeout=1500,
        )
        assert res.returncode == 0, res.stderr[-3000:]
        built.append(tag1)
        first = json.loads(res.stdout)
        assert "LLVM version 22.1.8" in first["mlir_opt_version"]
        for name in ("Containerfile", "python/requirements.txt"):
            assert (tmp_path / "ctx1" / name).read_text() == (tmp_path / "ctx2" / name).read_text()
        # The second build: same inputs, no layer cache (--layers=false), later time.
        buildah.bud(tmp_path / "ctx2", tag2, epoch=1700000000)
        built.append(tag2)
        assert len(first["layers"]) == 2  # the base + the runtime stage
        assert buildah.layer_digests(tag2) == first["layers"]
        assert buildah.digest(tag2) == first["digest"]
        version = buildah.run_in(tag1, ["mlirboot", "--version"])
        assert "mlirboot 0.1.0" in version
    finally:
        for tag in built:
            buildah.proc.run(
                ["buildah", "--storage-driver", "vfs", "rmi", tag],
                stage="test cleanup",
                check=False,
            )
