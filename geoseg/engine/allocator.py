"""Hand freed chunk memory back to the operating system (glibc only).

glibc serves blocks above its mmap threshold (128 KiB) with their own mappings, returned on
free; but each time such a block is freed it raises the threshold to that block's size (up to
32 MiB). After the first chunk the model's activations and the blending's temporaries of a few
MiB are then carved from the heap, whose freed space glibc keeps, and the process holds the high
water mark of every chunk's layout. Pinning the threshold at its default stops that: full tile,
peak RSS 2464–2551 → 2332–2377 MB, for 4 % more time (fresh pages for those temporaries on
every batch; bench/RESULTS.md). Dask's nanny does the same for its workers
(``MALLOC_TRIM_THRESHOLD_`` in its pre-spawn environment), so only this process needs it.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

#: mallopt's parameter number for the mmap threshold (malloc.h); setting it disables the
#: dynamic adjustment
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own default
#: variables a user may have set to tune glibc's malloc: theirs win
MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


@functools.cache
def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at its default, once per process; whether it was set (not on
    other C libraries or systems, nor when the user tuned malloc through its variables)."""
    if not sys.platform.startswith("linux") or any(v in os.environ for v in MALLOC_VARIABLES):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):  # musl and others: no libc.so.6 or no mallopt
        return False
