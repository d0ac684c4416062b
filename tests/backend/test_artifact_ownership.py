"""-o replaces an artifact dir only when everything in it is what mlirboot
wrote, including the temps/ an artifact keeps with the keep_temps option: a
file a user put into temps/ makes the dir theirs (one line, exit 2)."""

from __future__ import annotations

from pathlib import Path

from mlirboot.backend.driver import compile_program
from mlirboot.backend.outputs import artifact_owned

PROGRAM = Path(__file__).parents[2] / "examples" / "matmul.mlir"


def test_a_user_file_in_temps_is_never_replaced(tmp_path: Path, cli):
    art = tmp_path / "art"
    compile_program(PROGRAM, target="host", out=art, options={"keep_temps": True})
    assert (art / "temps").is_dir() and artifact_owned(art)
    # Recompiling over a kept-temps artifact is allowed...
    compile_program(PROGRAM, target="host", out=art, options={"keep_temps": True})
    mine = art / "temps" / "mine.txt"
    mine.write_text("my notes\n")
    assert not artifact_owned(art)
    done = cli("compile", PROGRAM, "--target", "host", "-o", art)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds files mlirboot did not write" in lines[0], lines
    assert mine.read_text() == "my notes\n"


def test_temps_of_an_artifact_without_kept_temps_are_not_ours(tmp_path: Path, cli):
    art = tmp_path / "art"
    assert cli("compile", PROGRAM, "--target", "host", "-o", art).returncode == 0
    assert not (art / "temps").exists() and artifact_owned(art)
    (art / "temps").mkdir()
    (art / "temps" / "mine.txt").write_text("x\n")
    done = cli("compile", PROGRAM, "--target", "host", "-o", art)
    assert done.returncode == 2 and (art / "temps" / "mine.txt").exists(), done.stderr
