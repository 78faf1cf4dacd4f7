"""The mmap threshold stays at glibc's default, so freed chunk temporaries leave the process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from geoseg.engine import allocator

#: run in a fresh interpreter: in this one earlier tests may have left free heap chunks large
#: enough to serve the probe, which glibc prefers to any new mapping
PROBE = """
import ctypes, numpy as np
from geoseg.engine import allocator

class Mallinfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(n, ctypes.c_size_t) for n in names.split()]

libc = ctypes.CDLL("libc.so.6")
if not allocator.pin_mmap_threshold() or not hasattr(libc, "mallinfo2"):  # glibc < 2.33
    print(False, 0, 0)
    raise SystemExit
libc.mallinfo2.restype = Mallinfo2
big = np.ones(24 << 20, dtype=np.uint8)  # freed: glibc would raise its threshold to 24 MiB
del big
before = libc.mallinfo2().hblks
block = np.ones(2 << 20, dtype=np.uint8)  # a 2 MiB temporary
during = libc.mallinfo2().hblks
del block
print(True, during - before, libc.mallinfo2().hblks - before)
"""


def _probe(env: dict[str, str]) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return proc.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_blocks_of_a_few_mib_stay_mapped_after_larger_ones_are_freed() -> None:
    env = {k: v for k, v in os.environ.items() if k not in allocator.MALLOC_VARIABLES}
    pinned, mapped, left = _probe(env)
    if pinned != "True":
        pytest.skip("not glibc 2.33 or later")
    assert (mapped, left) == ("1", "0")  # its own mapping, returned to the system when freed


def test_a_users_malloc_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    allocator.pin_mmap_threshold.cache_clear()
    try:
        assert allocator.pin_mmap_threshold() is False
    finally:
        allocator.pin_mmap_threshold.cache_clear()
