"""Transform-dialect schedules (fast matmul for the x86-64 host) and the BLAS replacement."""
