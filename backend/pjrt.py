"""StableHLO portable artifacts through jax's public extension API."""

from __future__ import annotations

from ..bootstrap.errors import BuildError, UsageError


def serialize_portable(stablehlo_text: str, version: str, where: str) -> bytes:
    try:
        import jax.extend.mlir
    except ImportError:
        raise UsageError(
            "jax is not installed", where=where, hint="pip install 'jax==0.10.*' 'jaxlib==0.10.*'"
        ) from None
    try:
        return jax.extend.mlir.serialize_portable_artifact(stablehlo_text, version)
    except Exception as err:  # jaxlib raises plain exceptions with MLIR diagnostics
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BuildError(
            f"StableHLO rejected: {first}",
            where=where,
            hint="see the to-stablehlo output with --save-temps",
        ) from None
