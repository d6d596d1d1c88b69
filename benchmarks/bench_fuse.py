"""Time and peak memory of the fuse (services/fuse/fusing.py) for 2, 10 and 50 samples of 100,000 clones each.

    python benchmarks/bench_fuse.py                       # 2, 10, 50 samples x 100,000 clones
    python benchmarks/bench_fuse.py --samples 2 10 --clones 20000

Issue #7 target: fusing 10 samples of 100,000 clones each takes under 5 s and under 1 GB.

1. Generates (cached in benchmarks/out/fuse-<clones>/, git-ignored) synthetic single-sample .vidjil files shaped
   like ``vdj`` output: the top 100 clones carry a 400-nt consensus sequence and a full ``seg`` designation, the
   others only ``id`` (a 50-nt window), ``germline``, ``reads``, ``top``, ``sequence`` and
   ``_average_read_length``; reads follow a power law; 20 % of each sample's clones come from a patient-wide pool,
   so that samples share clones (as follow-up samples of one patient do).
2. For each sample count, runs the fuse in a fresh child process exactly as the fuse service's worker does
   (``fuse_sources``: read each file's bytes, parse, extract, drop; then build the fused result and serialise it)
   and prints the wall and CPU time, the child's peak RSS and its RSS before fusing (interpreter + numpy).
   The target is checked on CPU time (= wall time on an idle core; the machine is often shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out"
GENERATOR_VERSION = "v2"  # change when the synthetic files change (cache key)
TARGET = {"samples": 10, "clones": 100_000, "seconds": 5.0, "peak_mb": 1024.0}


def _windows(rng, count: int, length: int = 50) -> list[str]:
    import numpy as np

    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, size=(count, length))]
    return [row.tobytes().decode() for row in letters]


def generate(directory: Path, samples: int, clones: int, seed: int = 1) -> list[Path]:
    """Write (or reuse) ``samples`` synthetic .vidjil files of ``clones`` clones each; return their paths."""
    import numpy as np

    from services.fuse.fusing import diversity_indices

    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"sample-{index:03d}.vidjil" for index in range(samples)]
    missing = [index for index, path in enumerate(paths) if not path.exists()]
    if not missing:
        return paths
    pool = _windows(np.random.default_rng(seed), clones)  # the patient's clones, shared by samples
    for index in missing:
        rng = np.random.default_rng(seed * 1000 + index + 1)
        shared_count = clones // 5
        ids = [pool[i] for i in rng.choice(len(pool), size=shared_count, replace=False)]
        ids += _windows(rng, clones - shared_count)
        rng.shuffle(ids)
        reads = np.sort((rng.pareto(1.2, size=clones) * 3 + 1).astype(np.int64))[::-1]
        objects = []
        for rank, (clone_id, count) in enumerate(zip(ids, reads.tolist()), start=1):
            clone = {"id": clone_id, "germline": "IGH", "reads": [count], "top": rank,
                     "sequence": clone_id, "_average_read_length": [round(float(rng.uniform(300, 500)), 1)]}
            if rank <= 100:
                clone["sequence"] = "ACGT" * 80 + clone_id + "TTGACCGT" * 5
                clone["name"] = f"IGHV3-23*01 2/ACGT/3 IGHD2-2*01 1/GG/4 IGHJ4*02 #{rank}"
                clone["_coverage"] = [1.0]
                clone["_coverage_info"] = ["410 bp (100% of 410.0 bp)"]
                clone["seg"] = {"5": {"name": "IGHV3-23*01", "start": 1, "stop": 300, "delRight": 2},
                                "4": {"name": "IGHD2-2*01", "start": 305, "stop": 320, "delLeft": 1, "delRight": 1},
                                "3": {"name": "IGHJ4*02", "start": 323, "stop": 370, "delLeft": 4},
                                "junction": {"start": 290, "stop": 340, "aa": "CARDGGYW", "productive": True},
                                "cdr3": {"start": 293, "stop": 337, "aa": "ARDGGY"},
                                "evalue": {"val": "1e-50"}}
            objects.append(clone)
        total = int(reads.sum())
        document = {"vidjil_json_version": "2016b", "producer": "bench_fuse synthetic",
                    "samples": {"number": 1, "original_names": [f"sample-{index:03d}.fastq"],
                                "producer": ["bench_fuse"], "run_timestamp": ["2026-01-01 00:00:00"],
                                "commandline": ["synthetic"], "log": ["synthetic sample"]},
                    "reads": {"total": [total + 100], "segmented": [total], "germline": {"IGH": [total]},
                              "clones": {"IGH": [clones]}},
                    "diversity": {key: {"IGH": value, "all": value}
                                  for key, value in diversity_indices(reads).items()},
                    "clones": objects}
        paths[index].write_text(json.dumps(document))
    return paths


def _high_water_mb() -> float:
    """Peak resident memory of this process (VmHWM; unlike ru_maxrss it does not inherit the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(paths: list[str], top: int) -> None:
    """Run one fuse in this process and print its figures as JSON (called by :func:`main`)."""
    import gc

    from services.fuse.fusing import SampleInfo, fuse_sources

    gc.collect()
    baseline_mb = _high_water_mb()
    started = time.perf_counter()
    cpu_started = time.process_time()
    sources = [((lambda p=path: Path(p).read_bytes()), SampleInfo(f"sample {i}", sample_id=i + 1))
               for i, path in enumerate(paths)]
    fused = fuse_sources(sources, top=top)
    fused_at = time.perf_counter()
    output = json.dumps(fused).encode()
    finished = time.perf_counter()
    peak_mb = _high_water_mb()
    print(json.dumps({"seconds": finished - started, "cpu_seconds": time.process_time() - cpu_started, "fuse_seconds": fused_at - started,
                      "serialise_seconds": finished - fused_at, "peak_mb": peak_mb,
                      "baseline_mb": baseline_mb, "followed": len(fused["clones"]),
                      "output_mb": len(output) / 1e6, "jaccard_0_1": fused["overlaps"]["jaccard"][0][1]}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, nargs="+", default=[2, 10, 50])
    parser.add_argument("--clones", type=int, default=100_000, help="clones per sample (default 100,000)")
    parser.add_argument("--top", type=int, default=100)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.top)
        return 0

    directory = OUT / f"fuse-{GENERATOR_VERSION}-{args.clones}"
    started = time.perf_counter()
    paths = generate(directory, max(args.samples), args.clones)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6 / len(paths)
    print(f"inputs: {len(paths)} files of {args.clones:,} clones ({size_mb:.1f} MB each) in {directory} "
          f"(ready in {time.perf_counter() - started:.1f} s)")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (wall time grows with load; "
          f"CPU time does not)")
    print(f"{'samples':>8} {'wall s':>8} {'CPU s':>8} {'parse+fuse':>10} {'serialise':>9} {'peak MB':>8} "
          f"{'baseline':>8} {'followed':>8} {'out MB':>7}")
    failed = False
    for count in args.samples:
        command = [sys.executable, __file__, "--top", str(args.top), "--child", *map(str, paths[:count])]
        figures = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        print(f"{count:>8} {figures['seconds']:>8.2f} {figures['cpu_seconds']:>8.2f} {figures['fuse_seconds']:>10.2f} "
              f"{figures['serialise_seconds']:>9.2f} {figures['peak_mb']:>8.0f} {figures['baseline_mb']:>8.0f} "
              f"{figures['followed']:>8} {figures['output_mb']:>7.2f}")
        if count == TARGET["samples"] and args.clones == TARGET["clones"]:
            ok = figures["cpu_seconds"] < TARGET["seconds"] and figures["peak_mb"] < TARGET["peak_mb"]
            failed |= not ok
            print(f"         target (issue #7): < {TARGET['seconds']} s (CPU) and < {TARGET['peak_mb']:.0f} MB: "
                  f"{'met' if ok else 'NOT MET'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
