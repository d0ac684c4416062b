"""DT_NEEDED of an ELF file, read directly (no readelf): enough to find which
of a prefix's shared libraries its tools load."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB = 0, 1, 5


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def needed(path: Path) -> list[str]:
    """Sonames a 64-bit little-endian ELF file needs; [] for anything else."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        if m[:4] != b"\x7fELF" or m[4] != 2 or m[5] != 1:  # ELFCLASS64, little endian
            return []
        phoff = struct.unpack_from("<Q", m, 0x20)[0]
        phentsize, phnum = struct.unpack_from("<HH", m, 0x36)
        loads: list[tuple[int, int, int]] = []
        dynamic: tuple[int, int] | None = None
        for i in range(phnum):
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
                "<IIQQQQ", m, phoff + i * phentsize
            )
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            return []
        names: list[int] = []
        strtab = None
        off, size = dynamic
        for pos in range(off, off + size, 16):
            tag, val = struct.unpack_from("<qQ", m, pos)
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                names.append(val)
            elif tag == DT_STRTAB:
                strtab = val
        if strtab is None:
            return []
        # DT_STRTAB is a virtual address: map it back to a file offset.
        base = next((o + strtab - v for v, o, s in loads if v <= strtab < v + s), None)
        if base is None:
            return []
        out = []
        for name in names:
            end = m.find(b"\0", base + name)
            out.append(m[base + name : end].decode())
        return out
