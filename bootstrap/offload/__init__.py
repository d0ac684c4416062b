"""Recipe: the LLVM offload + OpenMP runtimes and per-triple device runtimes."""
