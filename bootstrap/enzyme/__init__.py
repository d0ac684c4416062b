"""Recipe: Enzyme automatic differentiation, built against the toolchain's LLVM."""
