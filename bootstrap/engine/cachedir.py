"""Where downloads and extracted sources live: the user's cache dir, shared by
all build dirs. Layout:
  downloads/<sha256>/<file>   verified archives (content-addressed)
  downloads/<sha256>/.verified  the archive's stat when it was last hashed
  src/<key>/                  extracted trees; `.complete` (content stamp) marks a finished one
  src/<key>.edited-<time>/    a tree found edited, moved aside (the edits are kept)
  git/<key>/                  checkouts at one commit
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE = "MLIRBOOT_CACHE_DIR"


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "mlirboot").resolve()
