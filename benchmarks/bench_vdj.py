"""Accuracy and speed benchmark of the vdj program on simulated reads with truth (issue #3).

    python benchmarks/bench_vdj.py --reads 1000012 --threads 1 [--compare-threads 2]

1. Generates (cached in benchmarks/out/) the issue's file: 7 human loci, 150-300 nt reads, 0.5 % substitution
   errors, half reverse-complemented, 5 % background (vdj.simulate, fixed seed), with per-read and per-clone truth.
2. Times dnaio alone reading the file (the floor).
3. Measures start-up (``python -m vdj --version`` and a run on an empty file).
4. Runs ``python -m vdj INPUT -o OUTDIR --read-assignments OUTDIR/reads.tsv --threads N``: wall time, reads/s,
   peak RSS (GNU time -v, and the summed RSS of the process tree sampled from /proc).
5. Compares with the truth (vdj.simulate.evaluate) and prints figures, targets, ratios against the vidjil-algo
   reference figures and against the dnaio floor. Writes benchmarks/out/bench-<reads>-t<threads>.json.

Takes the cores it is given: run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vdj.simulate import SIMULATOR_VERSION, SimulationConfig, evaluate, simulate  # noqa: E402

OUT = ROOT / "benchmarks" / "out"

# vidjil-algo 2024.02 on this machine, one core, 1,000,012 reads (issue #3).
REFERENCE = {"reads_per_s": 1600.0, "peak_rss_mb": 1170.0, "detection": 0.9993, "locus_right": 0.9998,
             "background_detected": 0.0, "reported_clones_5": 8877, "true_clones_5": 1391,
             "abundance_ratio_mean": 0.78}
# Targets of issue #3: (key, comparison, value, label)
TARGETS = [
    ("reads_per_s", ">=", 8000.0, "reads/s (aim 16,000)"),
    ("peak_rss_mb", "<=", 600.0, "peak RSS MB"),
    ("startup_s", "<", 1.0, "start-up s"),
    ("detection", ">=", 0.999, "recombined reads detected"),
    ("locus_right", ">=", 0.9998, "locus right (detected reads)"),
    ("background_detected", "<=", 0.0001, "background detected"),
    ("clones_5_error", "<=", 0.02, "|reported clones>=5 / true - 1|"),
    ("attribution_min", ">=", 0.97, "min share of a clone's reads in its clone (>=20 reads)"),
    ("top_overlap_ratio", ">=", 1.0, "top-100 reported = true top-100"),
    ("top_junction_right", ">=", 1.0, "junction exact, top 100"),
    ("top_productive_right", ">=", 1.0, "productive right, top 100"),
    ("v_right", ">=", 0.99, "V gene right (designated clones)"),
    ("j_right", ">=", 0.99, "J gene right (designated clones)"),
]


def generate(n_reads: int, seed: int) -> tuple[Path, Path, Path]:
    """The cached simulated file and its truth (generated once per (reads, seed))."""
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"sim{SIMULATOR_VERSION}-{n_reads}-s{seed}"
    reads, truth, clones = Path(f"{stem}.fastq.gz"), Path(f"{stem}.truth.tsv"), Path(f"{stem}.clones.tsv")
    if not (reads.exists() and truth.exists() and clones.exists()):
        began = time.perf_counter()
        summary = simulate(SimulationConfig(n_reads=n_reads, seed=seed), reads, truth, clones)
        print(f"generated {summary.reads} reads, {summary.clones} clones in {time.perf_counter() - began:.1f} s"
              f" -> {reads}")
    return reads, truth, clones


def dnaio_floor(path: Path) -> dict:
    import dnaio

    began = time.perf_counter()
    n = bases = 0
    with dnaio.open(path) as reader:
        for record in reader:
            n += 1
            bases += len(record.sequence)
    seconds = time.perf_counter() - began
    return {"reads": n, "bases": bases, "seconds": seconds, "reads_per_s": n / seconds}


class TreeRss:
    """Samples the summed RSS (MB) of a process and its descendants from /proc every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval, self.peak_mb = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read().decode(errors="replace")
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/statm") as handle:
                        total += int(handle.read().split()[1]) * page
                except (OSError, IndexError, ValueError):
                    pass
            self.peak_mb = max(self.peak_mb, total / 1e6)
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def timed_run(args: list[str], log: Path | None = None) -> dict:
    """Run ``args`` under GNU time -v; wall seconds, peak RSS (GNU time: largest process; tree: summed)."""
    time_file = OUT / "time-v.txt"
    command = ["/usr/bin/time", "-v", "-o", str(time_file)] + args if Path("/usr/bin/time").exists() else args
    began = time.perf_counter()
    with open(log or os.devnull, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
        sampler = TreeRss(process.pid)
        code = process.wait()
        tree_mb = sampler.stop()
    wall = time.perf_counter() - began
    max_rss_mb = None
    if time_file.exists():
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_file.read_text())
        if match:
            max_rss_mb = int(match.group(1)) / 1000
        time_file.unlink()
    return {"returncode": code, "wall_s": wall, "max_rss_mb": max_rss_mb, "tree_rss_mb": tree_mb}


def startup() -> dict:
    python = sys.executable
    version = min(timed_run([python, "-m", "vdj", "--version"])["wall_s"] for _ in range(3))
    empty = OUT / "empty.fastq"
    empty.write_text("")
    empty_run = timed_run([python, "-m", "vdj", str(empty), "-o", str(OUT / "empty-run"), "-q"])
    return {"version_s": version, "empty_file_s": empty_run["wall_s"], "empty_returncode": empty_run["returncode"]}


def run_vdj(reads: Path, threads: int, label: str, extra: list[str]) -> tuple[dict, Path]:
    outdir = OUT / f"run-{label}"
    outdir.mkdir(parents=True, exist_ok=True)
    assignments = outdir / "reads.tsv"
    args = [sys.executable, "-m", "vdj", str(reads), "-o", str(outdir), "-b", "sample", "--threads", str(threads),
            "--read-assignments", str(assignments), *extra]
    result = timed_run(args, log=outdir / "log.txt")
    if result["returncode"] != 0:
        print((outdir / "log.txt").read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"vdj failed with exit code {result['returncode']} (log {outdir / 'log.txt'})")
    return result, outdir


def _check(value, op, target) -> bool:
    if value is None:
        return False
    return {">=": value >= target, "<=": value <= target, "<": value < target}[op]


def report(figures: dict, floor: dict, threads: int) -> str:
    lines = [f"== vdj benchmark: {figures['reads']:,} reads, --threads {threads} ==",
             f"dnaio floor: {floor['seconds']:.2f} s, {floor['reads_per_s']:,.0f} reads/s",
             f"vdj: {figures['wall_s']:.1f} s wall, {figures['reads_per_s']:,.0f} reads/s "
             f"(x{figures['reads_per_s'] / REFERENCE['reads_per_s']:.1f} vidjil-algo, "
             f"{figures['reads_per_s'] / floor['reads_per_s']:.1%} of the dnaio floor, "
             f"x{figures['wall_s'] / floor['seconds']:.0f} its time)",
             f"peak RSS: {figures['peak_rss_mb']:.0f} MB (largest process {figures.get('max_rss_mb') or 0:.0f} MB; "
             f"x{figures['peak_rss_mb'] / REFERENCE['peak_rss_mb']:.2f} vidjil-algo)",
             f"start-up: --version {figures['startup']['version_s']:.2f} s, empty file "
             f"{figures['startup']['empty_file_s']:.2f} s",
             f"clones: {figures['reported_clones_5']} reported with >= 5 reads for {figures['true_clones_5']} true "
             f"(ratio {figures['clones_5_ratio']:.3f}; vidjil-algo {REFERENCE['reported_clones_5']} for "
             f"{REFERENCE['true_clones_5']}, ratio {REFERENCE['reported_clones_5'] / REFERENCE['true_clones_5']:.2f})",
             f"abundance: mean reads in the majority clone / true = {figures.get('abundance_ratio_mean', 0):.3f} "
             f"(vidjil-algo x{REFERENCE['abundance_ratio_mean']})",
             f"top {figures['top_n']}: overlap {figures['top_overlap']}, unmapped {figures['top_unmapped']}, "
             f"duplicates {figures['top_duplicates']}, missing true ranks {figures['top_missing_true_ranks']}",
             "",
             f"{'figure':55} {'value':>10} {'target':>10} {'vidjil':>10}  ok"]
    for key, op, target, label in TARGETS:
        value = figures.get(key)
        ref = REFERENCE.get(key)
        shown = "-" if value is None else (f"{value:.4%}" if isinstance(value, float) and value <= 1.0
                                           and key not in ("startup_s",) else f"{value:,.2f}")
        ref_shown = "" if ref is None else (f"{ref:.2%}" if ref <= 1 else f"{ref:,.0f}")
        target_shown = f"{op}{target:.2%}" if target <= 1 and key not in ("startup_s",) else f"{op}{target:,.0f}"
        lines.append(f"{label:55} {shown:>10} {target_shown:>10} {ref_shown:>10}  "
                     f"{'yes' if _check(value, op, target) else 'NO'}")
    lines.append(f"{'attribution mean (clones >= 20 reads)':55} {figures.get('attribution_mean', 0):>10.4%}")
    for key in ("truncated_detected", "chimera_detected", "background_v_detected", "background_j_detected",
                "background_random_detected"):
        if key in figures:
            lines.append(f"{key:55} {figures[key]:>10.4%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=1_000_012)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare-threads", type=int, default=0,
                        help="also run with this many threads and report the speed-up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vdj-args", default="", help="extra arguments for python -m vdj")
    args = parser.parse_args(argv)
    reads, truth, clones = generate(args.reads, args.seed)
    floor = dnaio_floor(reads)
    started = startup()
    extra = args.vdj_args.split()
    runs = {}
    for threads in [args.threads] + ([args.compare_threads] if args.compare_threads else []):
        label = f"{args.reads}-t{threads}"
        result, outdir = run_vdj(reads, threads, label, extra)
        figures = evaluate(truth, clones, outdir / "reads.tsv", outdir / "sample.tsv")
        figures.update(result)
        figures["peak_rss_mb"] = max(result["tree_rss_mb"], result["max_rss_mb"] or 0)
        figures["reads_per_s"] = figures["reads"] / result["wall_s"]
        figures["startup"] = started
        figures["startup_s"] = max(started["version_s"], started["empty_file_s"])
        figures["clones_5_error"] = abs(figures["clones_5_ratio"] - 1)
        figures["top_overlap_ratio"] = figures["top_overlap"] / max(1, min(100, figures["top_n"]))
        figures["floor"] = floor
        figures["threads"] = threads
        runs[threads] = figures
        print(report(figures, floor, threads))
        (OUT / f"bench-{args.reads}-t{threads}.json").write_text(json.dumps(figures, indent=2, default=str))
    if args.compare_threads:
        base, other = runs[args.threads], runs[args.compare_threads]
        print(f"speed-up --threads {args.compare_threads} vs {args.threads}: "
              f"x{base['wall_s'] / other['wall_s']:.2f} ({other['reads_per_s']:,.0f} reads/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
