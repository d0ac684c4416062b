#!/usr/bin/env python3
"""Host launcher of an mlirboot TPU artifact (copied into it as launch.py).

Loads a PJRT plugin -- libtpu on TPU hosts, `cpu` for jaxlib's built-in CPU
client, or any plugin file (e.g. pjrt_c_api_cpu_plugin.so) -- compiles the
StableHLO portable artifact with it and runs it on DIR/argN.bin, writing
DIR/outN.bin (arguments, then results; an argument the entry writes into
holds its final value), like the native launcher.

usage: launch.py [--plugin tpu|cpu|PATH] ARTIFACT_DIR IO_DIR
Exit 3 with one line when the plugin or its device is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def absent(message: str) -> None:
    print(f"device absent: {message}", file=sys.stderr)
    raise SystemExit(3)


def find_libtpu() -> str | None:
    env = os.environ.get("TPU_LIBRARY_PATH")
    if env and Path(env).exists():
        return env
    try:
        import libtpu  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(libtpu.__file__).parent / "libtpu.so"
    return str(path) if path.exists() else None


def backend_for(plugin: str):
    import jax
    import jax.extend.backend
    from jax._src import xla_bridge

    if plugin == "cpu":
        jax.config.update("jax_platforms", "cpu")
        return jax.extend.backend.get_backend("cpu")
    if plugin == "tpu":
        library = find_libtpu()
        if library is None:
            absent(
                "no TPU: the TPU PJRT plugin (libtpu) is not installed here "
                "(no libtpu package, no $TPU_LIBRARY_PATH)"
            )
        name = "mlirboot_tpu"
    else:
        library = plugin
        if not Path(library).is_file():
            absent(f"PJRT plugin file not found: {library}")
        name = "mlirboot_pjrt"
    xla_bridge.register_plugin(name, library_path=library)
    jax.config.update("jax_platforms", name)
    try:
        backend = jax.extend.backend.get_backend(name)
    except Exception as err:  # the plugin loaded but found no device
        absent(f"PJRT plugin {library} found no device: {str(err).splitlines()[0]}")
    if not backend.devices():
        absent(f"PJRT plugin {library} lists no devices")
    return backend


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default="tpu")
    parser.add_argument("artifact", type=Path)
    parser.add_argument("io", type=Path)
    args = parser.parse_args()

    import jax
    import numpy as np
    from jax._src.lib import xla_client

    # The one reader of artifact.json outside backend/artifact.py: this script
    # ships inside the artifact and runs without mlirboot; it reads the
    # signature and `info.writes`, which artifact.read_meta checked at load.
    meta = json.loads((args.artifact / "artifact.json").read_text())
    # f64 programs stay f64 (jax would otherwise turn the inputs into f32).
    jax.config.update("jax_enable_x64", True)
    sig = meta["signature"]
    backend = backend_for(args.plugin)
    device = backend.devices()[0]
    print(
        f"pjrt: platform={backend.platform} device={device} plugin={args.plugin}", file=sys.stderr
    )
    program = (args.artifact / "program.stablehlo.bc").read_bytes()
    executable = backend.compile_and_load(
        program, xla_client.DeviceList((device,)), xla_client.CompileOptions()
    )
    inputs = []
    for i, spec in enumerate(sig["args"]):
        data = (args.io / f"arg{i}.bin").read_bytes()
        arr = np.frombuffer(data, dtype=spec["dtype"]).reshape(spec["shape"])
        inputs.append(jax.device_put(arr, device))
    results = executable.execute(inputs)
    buffers = [np.asarray(x) for x in inputs]
    writes = meta.get("info", {}).get("writes")
    if writes:
        # A memref entry (tensorized): its results are the final contents of
        # the arguments it writes into, like the native launcher's buffers.
        for index, result in zip(writes, results, strict=True):
            buffers[index] = np.asarray(result)
    else:
        buffers += [np.asarray(r) for r in results]
    for i, arr in enumerate(buffers):
        (args.io / f"out{i}.bin").write_bytes(np.ascontiguousarray(arr).tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
