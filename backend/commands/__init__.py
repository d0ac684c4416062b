"""`mlirboot compile` and `mlirboot run`."""
