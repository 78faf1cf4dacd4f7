"""Which numeric precision the network runs in: fp32, bf16 (autocast) or int8 (ONNX Runtime).

Reduced precision pays only on processors with instructions for it (bf16: AVX-512 BF16 or AMX;
int8: VNNI, or AVX2 with the 7-bit weights :mod:`geoseg.models.quantize` writes), and is trusted
only where it was checked: ``auto`` takes the fastest precision whose agreement with fp32 on
validation scenes is recorded in the bundle (``geoseg quantize``) and meets the thresholds below,
on a processor with the instructions it was measured with. On CUDA ``auto`` is mixed precision,
as before precisions existed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from geoseg.errors import OptionError

if TYPE_CHECKING:
    from geoseg.models.bundle import Bundle, PrecisionCheck

PRECISIONS = ("auto", "fp32", "bf16", "int8")
#: class agreement with fp32 a precision must reach on the validation scenes
MIN_AGREEMENT = {"bf16": 0.995, "int8": 0.985}
#: OA and every class's IoU against the labels within this many points of fp32's
MAX_METRIC_DELTA = 0.5
#: processor instructions that make each precision fast (any one of them)
FAST_ON = {
    "bf16": ("avx512_bf16", "amx_bf16"),
    "int8": ("avx512_vnni", "avx_vnni", "amx_int8", "avx2"),
}
#: fastest first (bench/RESULTS.md, model-only on 2 EPYC cores: with AVX-512 BF16/VNNI int8 1.94 ×,
#: bf16 1.72 × fp32; with AVX2 only int8 1.3–2.1 ×, bf16 0.17 ×)
_SPEED_ORDER = ("int8", "bf16")


@cache
def cpu_flags() -> frozenset[str]:
    """Instruction-set flags of this processor (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def fast_here(precision: str) -> bool:
    return any(flag in cpu_flags() for flag in FAST_ON.get(precision, ()))


def passes(check: PrecisionCheck, precision: str) -> bool:
    """Whether a recorded check meets the thresholds for ``precision``."""
    return (
        check.agreement >= MIN_AGREEMENT[precision]
        and abs(check.oa_delta) <= MAX_METRIC_DELTA
        and check.max_iou_delta <= MAX_METRIC_DELTA
    )


def validated(bundle: Bundle, precision: str) -> bool:
    """Checked for this bundle, passed, and measured with instructions this processor has."""
    check = bundle.spec.precisions.get(precision)
    if check is None or not passes(check, precision):
        return False
    if precision == "int8" and (check.built_from != bundle.sha256 or not bundle.has_int8):
        return False
    return not check.cpu_flags or bool(set(check.cpu_flags) & cpu_flags())


def resolve_precision(precision: str, device_type: str, bundle: Bundle) -> str:
    """The precision a run uses: ``fp32``, ``bf16``, ``int8`` or ``amp`` (CUDA mixed)."""
    if precision not in PRECISIONS:
        raise OptionError(
            f"unknown precision {precision!r}", "--precision", f"use {', '.join(PRECISIONS)}"
        )
    if device_type != "cpu":
        if precision == "int8":
            raise OptionError(
                "int8 runs on the CPU only", "--precision", "use --device cpu, or auto/bf16/fp32"
            )
        if precision == "auto":
            return "amp" if device_type == "cuda" else "fp32"
        return precision
    if precision != "auto":
        return precision
    for candidate in _SPEED_ORDER:
        if fast_here(candidate) and validated(bundle, candidate):
            return candidate
    return "fp32"
