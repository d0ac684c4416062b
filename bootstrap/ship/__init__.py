"""Shipping a toolchain: containers, tarballs, wheels, SBOMs and the rustc
bootstrap fragment. Each module here does one of those; the CLI commands in
bootstrap/commands/{container,package,rustc_config}.py are thin wrappers."""
