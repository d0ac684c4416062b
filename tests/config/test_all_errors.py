"""A config with several mistakes reports them all in one run (one line each,
file:line, key path, hint; exit 2), up to a bound; YAML 1.1 surprises are
refused in config files and --set values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlirboot.bootstrap.config import CONFIGS_DIR, resolve
from mlirboot.bootstrap.errors import MAX_SHOWN, ConfigError, ConfigErrors

E = "mlirboot: error: "


def _errors(result) -> list[str]:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


def _line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of `path` that starts with `text`."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.lstrip().startswith(text))


def test_three_mistakes_in_three_places_are_three_lines(cli, tmp_path: Path):
    (tmp_path / "c.yaml").write_text(
        "targets: [host]\nllvm:\n  asertions: true\nbuild:\n  jobs: four\n"
    )
    result = cli(
        "configure",
        "--config",
        "c.yaml",
        "--target",
        "host,nvdia",
        "--set",
        "build.link_jobs=0",
        "-B",
        "b",
    )
    assert _errors(result) == [
        E + "c.yaml:3: llvm.asertions: unknown key `asertions` (hint: did you mean `assertions`?)",
        E + "c.yaml:5: build.jobs: expected integer, got string 'four' "
        "(hint: write a whole number, e.g. 4)",
        E + "--target host,nvdia: targets[1]: unknown target `nvdia` "
        "(hint: did you mean `nvidia`?)",
        E + "--set build.link_jobs=0: build.link_jobs: must be at least 1, got 0 "
        "(hint: a number from 1 to 4096)",
    ]
    assert not (tmp_path / "b").exists()


def test_bad_choice_and_cross_checks_in_one_file(cli, tmp_path: Path):
    (tmp_path / "c.yaml").write_text(
        "targets: [host]\n"
        "llvm:\n"
        "  build_type: Relase\n"
        "enzyme:\n"
        "  mlir: true\n"
        "build:\n"
        "  cache: {tool: sccache, remote: 'memcached://h:1'}\n"
    )
    assert _errors(cli("configure", "--config", "c.yaml")) == [
        E + "c.yaml:3: llvm.build_type: `Relase` is not one of: Release, Debug, "
        "RelWithDebInfo, MinSizeRel (hint: did you mean `Release`?)",
        E + "c.yaml:5: enzyme.mlir: Enzyme-MLIR asked for but enzyme.enabled is false "
        "(hint: set enzyme.enabled: true)",
        E + "c.yaml:7: build.cache.remote: mlirboot wires only redis for sccache "
        "(hint: use a redis:// URL or tool: ccache)",
    ]


def test_json_carries_every_error(cli, tmp_path: Path):
    (tmp_path / "c.yaml").write_text(
        "targets: [host]\nllvm:\n  asertions: true\n  link_dylb: true\n"
    )
    result = cli("configure", "--config", "c.yaml", "--json")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["kind"] == "ConfigErrors" and data["exit_code"] == 2
    assert [(e["where"], e["error"], e["hint"]) for e in data["errors"]] == [
        ("c.yaml:3", "llvm.asertions: unknown key `asertions`", "did you mean `assertions`?"),
        ("c.yaml:4", "llvm.link_dylb: unknown key `link_dylb`", "did you mean `link_dylib`?"),
    ]
    # The first error is also the top-level one, for readers of one error.
    assert data["error"] == data["errors"][0]["error"]
    assert len(result.stderr.splitlines()) == 2


def test_bound_on_lines_shown(cli, tmp_path: Path):
    count = MAX_SHOWN + 5
    keys = "".join(f"  key{i:02}: 1\n" for i in range(count))
    (tmp_path / "c.yaml").write_text("targets: [host]\nbuild:\n" + keys)
    result = cli("configure", "--config", "c.yaml", "--json")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == MAX_SHOWN + 1
    assert lines[0].startswith(E + "c.yaml:3: build.key00: unknown key `key00` (hint: ")
    assert lines[MAX_SHOWN - 1].startswith(E + f"c.yaml:{MAX_SHOWN + 2}: build.key{MAX_SHOWN - 1}")
    assert lines[-1] == (
        E + "... and 5 more config errors (hint: fix these first; the next run shows the rest)"
    )
    assert len(json.loads(result.stdout)["errors"]) == count


def test_one_error_is_still_one_line(cli, tmp_path: Path):
    (tmp_path / "c.yaml").write_text("targets: [host]\nllvm:\n  asertions: true\n")
    assert _errors(cli("configure", "--config", "c.yaml")) == [
        E + "c.yaml:3: llvm.asertions: unknown key `asertions` (hint: did you mean `assertions`?)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A mistyped target makes its archs "not selected": one mistake, one line.
        ("targets: [nvdia]\narchs:\n  nvidia: [sm_90]\n", ["c.yaml:1: targets[0]: unknown target"]),
        # A bad provider is not also "in-tree needs a source build".
        (
            "targets: [host]\nprovider: sorce\noffload:\n  mode: in-tree\n",
            ["c.yaml:2: provider: `sorce` is not one of"],
        ),
        # A refused YAML 1.1 value is not also "expected boolean".
        ("targets: [host]\nllvm:\n  assertions: yes\n", ["c.yaml:3: llvm.assertions: `yes`"]),
        # A source kind that does not parse is not also "sources.llvm.use: not set".
        (
            "targets: [host]\nsources:\n  llvm:\n    use: tarbal\n",
            ["c.yaml:4: sources.llvm.use: `tarbal` is not one of"],
        ),
    ],
    ids=["mistyped-target", "bad-provider", "refused-bool", "bad-source-kind"],
)
def test_consequences_are_not_reported(cli, tmp_path: Path, text: str, expected: list[str]):
    (tmp_path / "c.yaml").write_text(text)
    lines = _errors(cli("configure", "--config", "c.yaml"))
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(E + start), line


def test_unreadable_layers_are_all_reported_and_stop(cli, tmp_path: Path):
    """A layer that does not parse hides what it sets: its error and the other
    layers' are shown, but no check of the merged config (it would guess)."""
    (tmp_path / "c.yaml").write_text("targets: [host\nllvm: {asertions: true}\n")
    result = cli("configure", "--config", "c.yaml", "--set", "build.jobs", "--set", "x.y=yes")
    # Not reported: the unknown keys `llvm.asertions` (in the unparsed file) and `x`.
    assert _errors(result) == [
        E + "c.yaml:2: malformed YAML: did not find expected ',' or ']' (while parsing a "
        "flow sequence at line 1) (hint: check indentation and quoting near that line)",
        E + "--set x.y=yes: x.y: `yes` is boolean true in YAML 1.1 but a string in YAML 1.2 "
        '(hint: write true or "yes" to say which)',
        E + "--set: expected KEY=VALUE, got `build.jobs` "
        "(hint: e.g. --set llvm.assertions=true or --set archs.nvidia=[sm_90])",
    ]


def _configs_copy(tmp_path: Path) -> Path:
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS_DIR, configs)
    return configs


def test_errors_in_profile_and_target_files_come_with_the_rest(tmp_path: Path):
    configs = _configs_copy(tmp_path)
    profile = configs / "profiles" / "release.yaml"
    profile.write_text(profile.read_text().replace("build_type: Release", "build_type: Relase"))
    amd = configs / "targets" / "amd.yaml"
    amd.write_text(amd.read_text() + "llvm_target: [AMDGPU]\n")
    user = tmp_path / "c.yaml"
    user.write_text("targets: [host]\nbuild:\n  jobs: 0\n")
    with pytest.raises(ConfigErrors) as caught:
        resolve(config_file=user, cwd=tmp_path, configs_dir=configs, sets=["enzyme.mlir=true"])
    release_line = _line_of(profile, "build_type:")
    amd_line = len(amd.read_text().splitlines())
    assert caught.value.lines() == [
        f"configs/profiles/release.yaml:{release_line}: llvm.build_type: `Relase` is not one "
        "of: Release, Debug, RelWithDebInfo, MinSizeRel (hint: did you mean `Release`?)",
        f"{user}:3: build.jobs: must be at least 1, got 0 (hint: a number from 1 to 4096)",
        "--set enzyme.mlir=true: enzyme.mlir: Enzyme-MLIR asked for but enzyme.enabled is "
        "false (hint: set enzyme.enabled: true)",
        f"configs/targets/amd.yaml:{amd_line}: llvm_target: unknown key `llvm_target` "
        "(hint: did you mean `llvm_targets`?)",
    ]
    # The single-error API still holds: the first error's parts.
    assert caught.value.where == f"configs/profiles/release.yaml:{release_line}"
    assert isinstance(caught.value, ConfigError)


# --- YAML 1.1 surprises -----------------------------------------------------

SURPRISES = [
    ("yes", 'is boolean true in YAML 1.1 but a string in YAML 1.2 (hint: write true or "yes"'),
    ("Off", 'is boolean false in YAML 1.1 but a string in YAML 1.2 (hint: write false or "Off"'),
    ("0x10", 'is the integer 16 (hexadecimal) (hint: write 16 or "0x10"'),
    ("0o17", 'is a string in YAML 1.1 but the integer 15 in YAML 1.2 (hint: write 15 or "0o17"'),
    (
        "010",
        'is the integer 8 in YAML 1.1 but the integer 10 in YAML 1.2 (hint: write 8, 10 or "010"',
    ),
    ("0b11", 'is the integer 3 in YAML 1.1 but a string in YAML 1.2 (hint: write 3 or "0b11"'),
    (
        "1e3",
        'is a string in YAML 1.1 but the number 1000.0 in YAML 1.2 (hint: write 1000.0 or "1e3"',
    ),
    (
        "1_000",
        'is the integer 1000 in YAML 1.1 but a string in YAML 1.2 (hint: write 1000 or "1_000"',
    ),
    (
        "12:30",
        'is the integer 750 in YAML 1.1 but a string in YAML 1.2 (hint: write 750 or "12:30"',
    ),
    ("~", 'is null, not the home directory (hint: write null or "~"'),
    ("2026-01-02", 'is a date in YAML 1.1 but a string in YAML 1.2 (hint: quote it: "2026-01-02"'),
]


@pytest.mark.parametrize(("text", "expected"), SURPRISES, ids=[s[0] for s in SURPRISES])
def test_yaml11_surprise_in_a_file_is_refused(cli, tmp_path: Path, text: str, expected: str):
    # llvm.cmake takes strings, numbers and booleans: only the surprise is wrong.
    (tmp_path / "c.yaml").write_text(f"targets: [host]\nllvm:\n  cmake:\n    FOO: {text}\n")
    assert _errors(cli("configure", "--config", "c.yaml")) == [
        E + f"c.yaml:4: llvm.cmake.FOO: `{text}` {expected} to say which)"
        if "quote it" not in expected
        else E + f"c.yaml:4: llvm.cmake.FOO: `{text}` {expected})"
    ]


@pytest.mark.parametrize(("text", "expected"), SURPRISES, ids=[s[0] for s in SURPRISES])
def test_yaml11_surprise_in_set_is_refused(cli, text: str, expected: str):
    item = f"llvm.cmake.FOO={text}"
    tail = f"{expected} to say which)" if "quote it" not in expected else f"{expected})"
    assert _errors(cli("configure", "--target", "host", "--set", item)) == [
        E + f"--set {item}: llvm.cmake.FOO: `{text}` {tail}"
    ]


def test_yaml11_surprise_as_a_key(cli, tmp_path: Path):
    (tmp_path / "c.yaml").write_text("targets: [host]\nllvm:\n  cmake:\n    on: 1\n")
    assert _errors(cli("configure", "--config", "c.yaml")) == [
        E + "c.yaml:4: llvm.cmake.on: `on` is boolean true in YAML 1.1 but a string in "
        'YAML 1.2 (hint: write true or "on" to say which)'
    ]


def test_unambiguous_spellings_are_accepted(tmp_path: Path):
    user = tmp_path / "c.yaml"
    user.write_text(
        "targets: [host]\n"
        "llvm:\n"
        "  assertions: true\n"
        "  cmake:\n"
        "    A: 'yes'\n"
        '    B: "0x10"\n'
        "    C: !!str 12:30\n"
        "    D: 16\n"
        "    E: [a, 'on']\n"
        "    F: false\n"
        "    G: 007\n"
        "    I: ON_PURPOSE\n"
    )
    resolved = resolve(config_file=user, cwd=tmp_path)
    assert resolved.config.llvm.cmake == {
        "A": "yes",
        "B": "0x10",
        "C": "12:30",
        "D": 16,
        "E": ["a", "on"],
        "F": False,
        "G": 7,
        "I": "ON_PURPOSE",
    }


def test_shipped_configs_have_no_yaml11_surprises():
    """Every shipped YAML is read with the same refusal (a surprise would stop
    every command): resolving the default config reads built-in, profiles
    and every target file."""
    for profile in ("release", "debug", "minimal"):
        resolve(cwd=CONFIGS_DIR, profile=profile, targets=["host"])
