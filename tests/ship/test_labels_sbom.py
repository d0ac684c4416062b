"""The container's OCI labels and the SBOM's licenses, dependency graph and
architecture, from real plans (fast: no image is built)."""

from __future__ import annotations

import calendar
import json
import platform
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mbtest import REPO, configured
from mlirboot.bootstrap.manifest import Manifest
from mlirboot.bootstrap.plan import lock_data
from mlirboot.bootstrap.recipe import LLVM_LICENSE
from mlirboot.bootstrap.ship import container, sbom

BASE = "localhost/mlirboot-base@sha256:" + "cd" * 32
OCI = "org.opencontainers.image."


def _labels(text: str) -> dict[str, str]:
    """The LABEL instruction's key="value" pairs, as buildah would read them."""
    block = text[text.index("\nLABEL ") + 7 :].split("\nCMD ")[0]
    return {k: v.replace('\\"', '"') for k, v in re.findall(r'(\S+)="((?:[^"\\]|\\.)*)"', block)}


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_labels_name_time_revision_licenses_and_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    labels = _labels(container.render(container.make_spec(["tpu"], "bookworm", BASE, 0, tmp_path)))
    assert labels[OCI + "created"] == "2023-11-14T22:13:20Z"
    assert labels[OCI + "base.name"] == BASE
    assert labels[OCI + "base.digest"] == "sha256:" + "cd" * 32
    if (REPO / ".git").exists():
        assert labels[OCI + "revision"] == _git("rev-parse", "HEAD")
    # What the image installs: the LLVM packages (llvm, offload) and mlirboot (Apache-2.0);
    # not tpu's pip or source-built components (Enzyme, StableHLO, libtpu).
    assert labels[OCI + "licenses"] == f"Apache-2.0 AND {LLVM_LICENSE}"
    assert "io.mlirboot.licenses-unknown" not in labels
    assert labels["io.mlirboot.lock-hash"]


def test_a_shipped_component_without_a_known_license_is_named(tmp_path: Path):
    spec = container.make_spec(["host"], "bookworm", BASE, 0, tmp_path)
    spec.unlicensed = ["llvm"]
    assert spec.labels()["io.mlirboot.licenses-unknown"] == "llvm"


def test_created_is_now_without_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = int(time.time())
    spec = container.make_spec(["host"], "bookworm", BASE, 0, tmp_path)
    after = int(time.time())
    created = calendar.timegm(time.strptime(spec.created, "%Y-%m-%dT%H:%M:%SZ"))
    assert before <= created <= after
    assert OCI + "licenses" in spec.labels() and "io.mlirboot.licenses-unknown" not in spec.labels()


def test_each_license_comes_from_its_recipe(tmp_path: Path):
    plan = configured(tmp_path, "tpu", "provider=source").plan
    licenses = {c.name: c.license for c in plan.components}
    assert licenses["llvm"] == licenses["enzyme"] == LLVM_LICENSE
    assert licenses["stablehlo"] == "Apache-2.0" and licenses["pjrt"] is None
    data = json.loads(configured(tmp_path, "tpu").files["plan.json"])
    assert {c["name"]: c["license"] for c in data["components"]}["llvm"] == LLVM_LICENSE


def test_label_values_are_escaped():
    assert container._label_value('a "b" $HOME \\') == '"a \\"b\\" \\$HOME \\\\"'


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://user:token@example.org/a/mlirboot.git", "https://example.org/a/mlirboot.git"),
        ("git@example.org:a/mlirboot.git", "ssh://example.org/a/mlirboot.git"),
        ("/srv/git/mlirboot", None),
        ("file:///srv/git/mlirboot", None),
        (None, None),
    ],
)
def test_source_label_is_a_public_url(url: str | None, label: str | None):
    assert container.public_url(url) == label


def test_source_and_revision_of_a_checkout(tmp_path: Path):
    repo = tmp_path / "co"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f").write_text("x\n")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    subprocess.run(
        [*git, "remote", "add", "origin", "https://u:p@example.org/mlirboot.git"], check=True
    )
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert container.checkout(repo) == ("https://example.org/mlirboot.git", head.strip(), False)
    (repo / "f").write_text("y\n")
    assert container.checkout(repo)[2] is True
    assert container.checkout(tmp_path) == (None, None, False)  # not a checkout


def _system_manifest(plan_data: dict) -> Manifest:
    comps: dict[str, dict[str, object]] = {}
    for c in plan_data["components"]:
        if c["action"] == "system":
            comps[c["name"]] = {
                "provider": "system",
                "version": c["version"],
                "packages": [p["name"] for p in c["packages"]],
            }
        else:
            comps[c["name"]] = {"provider": "source", "version": c["version"]}
    return Manifest(
        mlirboot_version="0.1.0",
        provider="system",
        llvm_version="22.1.8",
        prefix="/opt/tc",
        targets=["host"],
        lock_hash="l",
        components=comps,
    )


def test_sbom_licenses_dependencies_and_architecture(tmp_path: Path):
    result = configured(tmp_path, "host")  # system llvm + offload, passes built on them
    plan_data = json.loads(result.files["plan.json"])
    lock = lock_data(result.plan)
    doc = json.loads(
        sbom.document(
            _system_manifest(plan_data),
            lock,
            {"toolchain/lib/x.so": "0" * 64},
            name="tc",
            epoch=0,
            deb_info={},
            plan=plan_data,
            arch="arm64",
        )
    )
    comps = {c["bom-ref"]: c for c in doc["components"] if c["type"] == "library"}
    debs = {r for r in comps if r.startswith("deb:")}
    assert debs and all(comps[r]["purl"].endswith("?arch=arm64") for r in debs)
    for ref in debs | {"component:passes"}:
        assert comps[ref]["licenses"] == [
            {"expression": "Apache-2.0" if ref == "component:passes" else LLVM_LICENSE}
        ]
    assert doc["metadata"]["component"]["licenses"] == [
        {"expression": f"Apache-2.0 AND {LLVM_LICENSE}"}
    ]
    assert {"name": "mlirboot:architecture", "value": "arm64"} in doc["metadata"]["properties"]

    graph = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
    assert set(graph["tc"]) == set(comps)  # the toolchain: every component, not the files
    llvm_debs = sorted(
        r for r in debs if {"name": "mlirboot:component", "value": "llvm"} in comps[r]["properties"]
    )
    # passes depends_on llvm in the plan: on each of llvm's .debs.
    assert llvm_debs and graph["component:passes"] == llvm_debs
    assert set(graph) == set(comps) | {"tc"}
    refs = set(comps) | {"tc"}
    assert all(set(on) <= refs for on in graph.values())


def test_sbom_architecture_is_this_machines():
    arch = sbom.deb_arch()
    if shutil.which("dpkg"):
        want = subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
    else:
        want = sbom.DEB_ARCH.get(platform.machine(), platform.machine())
    assert arch == want
