"""One line of `mlirboot doctor`'s report: what was checked, what was found,
what is needed and the command that fixes it. Both halves of doctor (this
machine and the targets: doctor.py; the build farm: doctor_farm.py) make
these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    found: str
    need: str
    fix: str = ""
    kind: str = "tool"
    required: bool = True  # False: a recommendation (a warning, not a failure)
