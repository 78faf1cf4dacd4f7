"""Where the CPU goes in one ``geoseg.classify`` run, by pipeline phase (issue 14: profile first).

``run`` alone prints wall and CPU seconds per stage (set-up, chunks, then the COGs with the
polygons traced beside them) and the run's timings (``vectorize_wait_s``: what the polygons
added after the COGs):

    python bench/phase_profile.py run bench/data/s4096.tif [--precision fp32]

py-spy samples every Python thread (the reader thread too); under it, ``run`` is profiled and
``phases`` folds py-spy's raw stacks into phases:

    pip install py-spy
    py-spy record --rate 50 --format raw -o build/prof.txt -- \\
        python bench/phase_profile.py run bench/data/s4096.tif [--precision fp32]
    python bench/phase_profile.py phases build/prof.txt

Shares are of Python-thread samples: PyTorch's own worker threads are invisible to py-spy, so the
model's share of CPU time is larger than shown (bench/run_bench.py has the CPU seconds).
"""

from __future__ import annotations

import argparse
import itertools
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

#: phase → substrings of a stack that put a sample in it; the first phase that matches wins
PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("imports", ("_find_and_load",)),
    ("model forward", ("UnetASPP.forward", "Session.run (onnxruntime")),
    ("softmax", ("Predictor._probabilities",)),
    ("blend tiles into the chunk", ("Predictor.predict_chunk",)),
    ("settle (argmax, confidence)", ("settle (",)),
    ("read: GDAL decode + scale", ("Scene.read (",)),
    ("read: mirror past the edge", ("Scene.read_mirrored",)),
    ("model input (indices, normalise)", ("Predictor.features",)),
    ("extra index rasters", ("indices.py",)),
    ("masks", ("read_mask",)),
    ("domain check", ("band_medians", "assess (")),
    ("polygons", ("run_vectorize", "polygonize.py")),
    ("COG writing", ("cog.py", "_write_rasters")),
    ("statistics", ("summarize",)),
]


def run(scene: str, precision: str) -> None:
    """Classify once; print wall and CPU seconds of each stage as the progress reports them
    (the set-up before the first chunk, the chunks, the COGs, the polygons)."""
    import geoseg

    def cpu_s() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime

    marks: list[tuple[str, float, float]] = []

    def progress(stage: str, done: int, total: int) -> None:
        # the polygons report from their own thread beside the COGs: not a mark of their own,
        # "write" covers both
        if stage != "vectorize" and stage not in {m[0] for m in marks}:
            marks.append((stage, time.perf_counter(), cpu_s()))

    bundle = geoseg.load_bundle(None)
    opts = geoseg.Options(resume=False, precision=precision)
    with tempfile.TemporaryDirectory() as out:
        marks.append(("set-up", time.perf_counter(), cpu_s()))
        res = geoseg.classify(scene, out, model=bundle, options=opts, progress=progress)
        marks.append(("end", time.perf_counter(), cpu_s()))
    for (stage, t0, c0), (_, t1, c1) in itertools.pairwise(marks):
        print(f"{stage:10s} {t1 - t0:6.1f} s {c1 - c0:6.1f} CPU s")
    (_, t0, c0), (_, t1, c1) = marks[0], marks[-1]
    print(f"{'total':10s} {t1 - t0:6.1f} s {c1 - c0:6.1f} CPU s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB;", {k: round(v, 2) for k, v in res.timings.items()})


def phases(raw: Path) -> Counter[str]:
    """Samples per phase from py-spy's ``--format raw`` output (``frame;frame;… count``)."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        phase = next((name for name, keys in PHASES if any(k in stack for k in keys)), None)
        counts[phase or "other: " + stack.split(";")[-1].split(" (")[0]] += int(n)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run", help="classify SCENE once: seconds by stage (or run under py-spy)")
    r.add_argument("scene")
    r.add_argument("--precision", default="auto")
    p = sub.add_parser("phases", help="fold a py-spy raw profile into phases")
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    if a.what == "run":
        run(a.scene, a.precision)
        return
    counts = phases(a.profile)
    total = sum(counts.values())
    print(f"{total} samples")
    for name, n in counts.most_common(a.top):
        print(f"{100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
