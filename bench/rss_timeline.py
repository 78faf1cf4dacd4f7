"""Where the peak memory of one ``geoseg.classify`` run sits (issue 14: peak RSS ≤ 2.5 GB).

ru_maxrss says how high a run went, not when. This script samples the resident set size every
0.1 s while the classification runs, together with what every Python thread was doing in geoseg
at that moment, and prints the highest samples (the main thread runs the model, the reader
thread prepares the next chunk) and a coarse timeline:

    python bench/rss_timeline.py bench/data/s4096.tif [--top 10]

Sampled RSS can miss a peak shorter than the interval; bench/run_bench.py has ru_maxrss.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = str(HERE.parent / "geoseg") + "/"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def activity() -> list[str]:
    """The three innermost geoseg frames of every other thread."""
    out = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        stack = [
            f"{f.f_code.co_filename.removeprefix(PACKAGE)}:{f.f_code.co_name}"
            for f, _ in traceback.walk_stack(frame)
            if f.f_code.co_filename.startswith(PACKAGE)
        ]
        if stack:
            out.append(" < ".join(stack[:3]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene")
    parser.add_argument("--top", type=int, default=10, help="highest samples to print")
    parser.add_argument("--every", type=float, default=5.0, help="timeline step (seconds)")
    args = parser.parse_args()

    import geoseg

    samples: list[tuple[float, float, list[str]]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), rss_mb(), activity()))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    sampler.start()
    with tempfile.TemporaryDirectory(dir=HERE / "data") as out:
        res = geoseg.classify(args.scene, out, options=geoseg.Options(resume=False))
    done.set()
    sampler.join()
    print("phases (s):", {k: round(v, 1) for k, v in res.timings.items()})
    print(f"highest sampled RSS: {max(s[1] for s in samples):.0f} MB")
    for t, rss, where in sorted(samples, key=lambda s: -s[1])[: args.top]:
        print(f"{t - t0:7.1f} s {rss:7.0f} MB  " + " | ".join(where))
    print("timeline:")
    step = -1
    for t, rss, where in samples:
        if int((t - t0) // args.every) != step:
            step = int((t - t0) // args.every)
            print(f"{t - t0:7.1f} s {rss:7.0f} MB  " + (where[0] if where else ""))


if __name__ == "__main__":
    main()
