"""The named pipeline steps (`step:` in backend/pipelines/*.yaml), grouped by
concern: front end, BLAS, host code, offload packaging and linking, one module
per device code generator, TPU, gradients. Importing the package registers
them all (registry.STEPS); a new device is one module here and one YAML file."""

# Imported for their registrations.
from . import amdgpu, blas, front, grad, host_code, nvptx, offload, spirv, tpu, x86  # noqa: F401
from .registry import STEPS, StepSpec, lookup, run_step

__all__ = ["STEPS", "StepSpec", "lookup", "run_step"]
