"""mlirboot.backend: lower, optimize and link split host/device programs."""
