"""CLI subcommands. Each module defines `register(subparsers)`; modules stay
import-light (heavy imports inside the handler) so `mlirboot --help` is fast."""
