"""The build engine: executes a plan (`<build-dir>/plan.json`) into a prefix.

fetch → verify → extract → configure → build → install (staging) → publish,
with per-step stamps, one lock per build dir, logs per step and a manifest at
the end. Nothing here knows about LLVM specifically: recipes and the planner
put that knowledge into the plan and the CMake cache files.
"""
