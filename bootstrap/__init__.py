"""mlirboot.bootstrap: configure, plan and build an LLVM 22 toolchain."""

__version__ = "0.1.0"
