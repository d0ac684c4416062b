"""Recipe: StableHLO, built against the toolchain's MLIR (tpu)."""
