"""One flag vocabulary across commands (issue 15): every subcommand of the real
parser takes the shared flags where they make sense, has a description and an
examples epilog; --dry-run writes nothing; -q/-v work after the subcommand; the
bash completion script completes subcommand names."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlirboot.bootstrap.cli import build_parser, main, subcommand_parsers

PARSER = build_parser()
COMMANDS = subcommand_parsers(PARSER)

# Each exemption says why the flag makes no sense there.
NO_BUILD_DIR = {
    "targets": "lists the built-in target specs (configs/targets); reads no build dir",
    "config": "a group: its actions take the flags",
    "rust": "a group: its actions take the flags",
    "config schema": "prints the fixed JSON Schema of mlirboot.yaml",
    "completion": "prints a shell script generated from the parser",
    "install": "unpacks a package into --prefix; no build dir is involved",
}
NO_JSON = {
    "config": "a group: its actions take the flags",
    "rust": "a group: its actions take the flags",
    "config schema": "its output is JSON already",
    "completion": "its output is a shell script",
}
# Commands that change disk take --dry-run; these write and do not, and say why.
WRITES_WITHOUT_DRY_RUN = {
    "compile": "the artifact dir is the product; --print-pipeline shows what would run",
    "run": "writes only the --output files it is asked for; compile --print-pipeline shows "
    "the passes",
}
DRY_RUN = {"configure", "provision", "fetch", "build", "package", "install", "container"}
TOOLCHAIN = {"compile", "run", "package", "rustc-config", "rust enable-autodiff"}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def test_every_command_is_walked():
    assert {
        "targets",
        "configure",
        "config show",
        "config schema",
        "provision",
        "fetch",
        "build",
        "doctor",
        "compile",
        "run",
        "package",
        "install",
        "container",
        "rustc-config",
        "rust enable-autodiff",
        "completion",
    } <= set(COMMANDS)
    for exempt in (NO_BUILD_DIR, NO_JSON, WRITES_WITHOUT_DRY_RUN):
        assert set(exempt) <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_shared_flags(name: str):
    opts = _options(COMMANDS[name])
    assert {"-v", "--verbose", "-q", "--quiet"} <= opts, name
    if name not in NO_BUILD_DIR:
        assert {"-B", "--build-dir"} <= opts, name
    if name not in NO_JSON:
        assert "--json" in opts, name
    if name in DRY_RUN:
        assert {"--dry-run", "-n"} <= opts, name
    if name in TOOLCHAIN:
        assert "--toolchain" in opts, name
    assert name in DRY_RUN or "--dry-run" not in opts, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_description_and_examples(name: str):
    parser = COMMANDS[name]
    assert parser.description and parser.description.strip(), name
    assert parser.epilog and "examples:\n  mlirboot" in parser.epilog.replace(
        "examples:\n  sudo mlirboot", "examples:\n  mlirboot"
    ), name
    assert parser.formatter_class is argparse.RawDescriptionHelpFormatter, name
    text = parser.format_help()
    assert "examples:" in text and "-q, --quiet" in text


def test_top_help_has_exit_status():
    text = PARSER.format_help()
    assert "exit status:" in text
    for code in ("0  ok", "1  a build", "2  bad input", "130", "143"):
        assert code in text


def _run(*argv: str, cwd: Path) -> tuple[int, str, str]:
    old = Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(list(argv))
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def test_verbose_and_quiet_after_the_subcommand():
    args = PARSER.parse_args(["-v", "targets"])
    assert args.verbose and not args.quiet
    args = PARSER.parse_args(["targets", "-v"])
    assert args.verbose
    args = PARSER.parse_args(["build", "-q"])
    assert args.quiet and not args.verbose
    args = PARSER.parse_args(["-q", "config", "show"])
    assert args.quiet


def test_quiet_and_verbose_together_is_usage(tmp_path: Path):
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
        main(["-v", "targets", "-q"])
    assert exc.value.code == 2


def test_configure_quiet_keeps_the_result(tmp_path: Path):
    rc, out, _ = _run("configure", "--target", "host", "-q", cwd=tmp_path)
    assert rc == 0
    assert out.startswith("wrote ") and "next:" not in out and len(out.splitlines()) == 1


def test_dry_runs_write_nothing(tmp_path: Path):
    rc, out, _ = _run("configure", "--target", "host", "--dry-run", cwd=tmp_path)
    assert rc == 0 and "would write" in out and "new" in out
    assert not (tmp_path / "build").exists()
    rc, _, _ = _run("configure", "--target", "host", "--set", "provider=source", "-q", cwd=tmp_path)
    assert rc == 0
    before = _tree(tmp_path)
    rc, out, _ = _run(
        "configure", "--target", "host", "--set", "provider=source", "-n", "--json", cwd=tmp_path
    )
    assert rc == 0 and '"unchanged"' in out
    rc, out, _ = _run("build", "--dry-run", cwd=tmp_path)
    assert rc == 0 and "would build" in out and "ninja" in out and "cmake" in out
    rc, out, _ = _run("fetch", "--dry-run", "--json", cwd=tmp_path)
    assert rc == 0 and '"dry_run": true' in out and '"llvm"' in out
    assert _tree(tmp_path) == before


def test_config_show_build_dir(tmp_path: Path):
    assert _run("configure", "--target", "host", "-q", cwd=tmp_path)[0] == 0
    rc, out, _ = _run("config", "show", "-B", "build", "--json", cwd=tmp_path)
    assert rc == 0 and '"layer": "configured"' in out
    rc, _, err = _run("config", "show", "-B", "nowhere", cwd=tmp_path)
    assert rc == 2 and "mlirboot configure -B nowhere" in err


def test_completion_script_lists_every_subcommand():
    rc, out, _ = _run("completion", "bash", cwd=Path.cwd())
    assert rc == 0
    top = [line for line in out.splitlines() if line.startswith("    ['@']=")]
    assert top, out[:400]
    for name in COMMANDS:
        if " " not in name:
            assert f" {name}" in top[0] or f"'{name}" in top[0], name
    rc, out, _ = _run("completion", "zsh", cwd=Path.cwd())
    assert rc == 0 and out.startswith("#compdef mlirboot")


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_completes(tmp_path: Path):
    rc, script, _ = _run("completion", "bash", cwd=tmp_path)
    assert rc == 0
    (tmp_path / "c.bash").write_text(script)

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        probe = (
            f"source {tmp_path / 'c.bash'}; COMP_WORDS=({line}); "
            f"COMP_CWORD={len(words) - 1}; _mlirboot; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        done = subprocess.run(
            ["bash", "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True
        )
        return done.stdout.split()

    top = {name for name in COMMANDS if " " not in name}
    assert set(complete("mlirboot", "")) == top
    assert complete("mlirboot", "con") == ["configure", "config", "container"]
    assert complete("mlirboot", "-v", "config", "") == ["show", "schema"]
    assert complete("mlirboot", "package", "--format", "") == ["tar", "wheel"]
    assert "--dry-run" in complete("mlirboot", "build", "-B", "dir", "--d")
    assert complete("mlirboot", "completion", "") == ["bash", "zsh"]


def test_cli_module_runs():
    done = subprocess.run(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", "build", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--dry-run" in done.stdout and "examples:" in done.stdout
