"""The analysis of one read file: detection -> windows -> clones -> designation of the top clones.

:func:`analyze` is the library entry (the CLI is a thin wrapper). Reads are streamed in batches;
each batch is encoded and detected by the numba kernel (:mod:`vdj.detect`) and summarised into
per-window counts and a few reads per window (:func:`process_batch`), either in this process (with
``--threads 2``, the kernel on a helper thread) or in ``threads`` worker processes (fork; 3 and more). Only the window table grows with the input, by the number of
distinct windows. Per-read assignments, when asked for, go to a temporary file and are rewritten
with the final clone ids at the end.
"""

from __future__ import annotations

import datetime
import math
import multiprocessing
import os
import queue
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vdj.cluster import Clone, MergeStats, WindowTable, cluster_windows
from vdj.consensus import consensus
from vdj.kmer import DEFAULT_SEED, encode_batch, load_or_build_index, reverse_complement
from vdj.reader import estimate_read_count, read_batches
from vdj.report import RunStatistics
from vdj.statuses import SEG, STATUS_NAMES, UNSEG_TOO_SHORT_W

if TYPE_CHECKING:
    from vdj.designation import Designation, Designer

# vdj.detect / vdj.designation (numba kernels, ~0.3 s to import) are imported when first needed,
# so that trivial runs (empty input, --help) start fast.


@dataclass
class AnalysisOptions:
    """Options of one analysis (CLI flags in brackets).

    germline_preset [-g]: "multi" or system names ("IGH", "IGH,TRG"); species [--species];
    germline_dir: database root (default $REPSEQ_GERMLINE_DIR or vdj/germline_data);
    window [-w]: window length in nt; min_reads [-r]: reads for a clone to be reported;
    max_designations [-z]: clones designated (consensus + V(D)J + CDR3); max_clones: clones
    written (None = all with >= min_reads); evalue [-e]: max k-mer e-value; threads [--threads];
    read_assignments [--read-assignments]: TSV path; merge_distance, merge_far_distance (None =
    window/10), merge_error_rate (None = measured on the largest clones): error-window merging
    (merge_distance 0 = off); consensus_reads: reads kept per window for the consensus; batch_size: reads
    per batch; seed: spaced seed; progress: tqdm bar (None = when stderr is a TTY).
    """

    germline_preset: str = "multi"
    species: str = "homo-sapiens"
    germline_dir: str | None = None
    window: int = 50
    min_reads: int = 5
    max_designations: int = 100
    max_clones: int | None = None
    evalue: float = 1.0
    threads: int = 1
    read_assignments: str | None = None
    merge_distance: int = 2
    merge_far_distance: int | None = None
    merge_error_rate: float | None = None
    consensus_reads: int = 30
    batch_size: int = 4096
    seed: str = DEFAULT_SEED
    progress: bool | None = None
    commandline: str = ""


@dataclass
class CloneResult:
    """A reported clone: identity, counts, representative sequence and designation."""

    clone: Clone
    top: int
    germline: str
    locus: str
    sequence: str
    window_offset: int
    designation: Designation | None = None
    warnings: list[dict] = field(default_factory=list)
    coverage: float | None = None

    @property
    def id(self) -> str:
        return self.clone.window

    @property
    def reads(self) -> int:
        return self.clone.reads


@dataclass
class AnalysisResult:
    """Everything a run produced. ``clones`` are the reported clones (>= min_reads), by rank."""

    input_path: str
    options: AnalysisOptions
    stats: RunStatistics
    clones: list[CloneResult]
    all_clone_count: int
    germlines: object
    systems: list
    diversity: dict
    run_timestamp: str
    merge: MergeStats

    def to_vidjil(self) -> dict:
        """The .vidjil JSON document (dict), see :mod:`vdj.vidjil_output`."""
        from vdj.vidjil_output import to_vidjil
        return to_vidjil(self)

    def write_vidjil(self, path: str | os.PathLike) -> None:
        from vdj.vidjil_output import write_vidjil
        write_vidjil(self, path)

    def write_airr(self, path: str | os.PathLike) -> None:
        """Write the AIRR rearrangement TSV (one row per reported clone)."""
        from vdj.airr_output import write_airr
        write_airr(self, path)


# --- per-batch work (runs in workers) ---------------------------------------------------------

class _Context:
    """What a batch worker needs (set in the parent before forking)."""

    def __init__(self, index, window: int, multiplier: float, evalue: float, consensus_reads: int,
                 system_names: list[str], want_assignments: bool, system_loci: list[str] | None = None):
        self.index = index
        self.window = window
        self.multiplier = multiplier
        self.evalue = evalue
        self.consensus_reads = consensus_reads
        self.system_names = system_names
        self.system_loci = system_loci or system_names
        self.want_assignments = want_assignments


_CONTEXT: _Context | None = None


@dataclass
class BatchOutcome:
    """What a batch sends back to the main process: its statistics and, when asked, the per-read
    TSV lines ``read_id window locus status`` (windows and reads stay in the worker's table)."""

    index: int
    stats: RunStatistics
    assignment_text: str = ""


def process_batch(sequences: list[str], table: WindowTable, first_number: int = 0,
                  context: _Context | None = None, read_names: list[str] | None = None) -> BatchOutcome:
    """Detect the reads of a batch and add them to ``table`` by window.

    ``first_number``: 0-based number of the first read in the file (ties of the read sample).
    With ``read_names``, returns the per-read assignment lines (``read_id window locus status``).
    """
    ctx = context or _CONTEXT
    codes, offsets = encode_batch(sequences)
    return summarise_batch(sequences, offsets, _detect(codes, offsets, ctx), table, first_number, ctx, read_names)


def _detect(codes: np.ndarray, offsets: np.ndarray, ctx: _Context):
    """The numba detection kernel on an encoded batch (releases the GIL: runs on helper threads)."""
    from vdj.detect import detect

    return detect(codes, offsets, ctx.index, ctx.window, ctx.multiplier, ctx.evalue)


def summarise_batch(sequences: list[str], offsets: np.ndarray, result, table: WindowTable, first_number: int,
                    ctx: _Context, read_names: list[str] | None = None) -> BatchOutcome:
    """Count a detected batch (``result``: :class:`vdj.detect.DetectionResult`) into statistics and add its
    segmented reads, forward-oriented, to ``table`` by window. Counting is vectorised; only the segmented reads
    are visited in Python (the part of a run that holds the GIL)."""
    stats = RunStatistics()
    lengths = np.diff(offsets)
    status = result.status
    stats.total = len(sequences)
    stats.total_length = int(lengths.sum())
    system_names = ctx.system_names
    loci = ctx.system_loci
    for code in np.unique(status).tolist():
        mask = status == code
        n = int(mask.sum())
        total_length = int(lengths[mask].sum())
        if code == SEG:
            stats.segmented = n
            stats.segmented_length = total_length
        else:
            stats.reasons[STATUS_NAMES[code]] += n
            stats.reason_lengths[STATUS_NAMES[code]] += total_length
    segmented = np.flatnonzero(status == SEG)
    if len(segmented):
        seg_lengths = lengths[segmented]
        seg_systems = result.system[segmented]
        minus = result.strand[segmented] != 0
        stats.segmented_minus = int(minus.sum())
        stats.segmented_minus_length = int(seg_lengths[minus].sum())
        stats.segmented_plus = len(segmented) - stats.segmented_minus
        stats.segmented_plus_length = int(seg_lengths.sum()) - stats.segmented_minus_length
        changed = result.window_length[segmented] != ctx.window
        stats.changed_window = int(changed.sum())
        stats.changed_window_length = int(seg_lengths[changed].sum())
        per_system_reads = np.bincount(seg_systems, minlength=len(system_names))
        per_system_bases = np.bincount(seg_systems, weights=seg_lengths, minlength=len(system_names))
        for system in np.flatnonzero(per_system_reads).tolist():
            stats.per_system[system_names[system]] = int(per_system_reads[system])
            stats.per_system_length[system_names[system]] = int(per_system_bases[system])
    lines = [] if read_names is not None else None
    add = table.add
    if lines is None:
        # only the segmented reads, in file order
        for i, system, strand, start, wlen in zip(segmented.tolist(), result.system[segmented].tolist(),
                                                  result.strand[segmented].tolist(),
                                                  result.window_start[segmented].tolist(),
                                                  result.window_length[segmented].tolist()):
            read = sequences[i].upper()
            if strand:
                read = reverse_complement(read)
            add(read[start:start + wlen], system, len(read), first_number + i, read, start)
        return BatchOutcome(0, stats, "")
    systems = result.system.tolist()
    strands = result.strand.tolist()
    starts = result.window_start.tolist()
    wlengths = result.window_length.tolist()
    for i, code in enumerate(status.tolist()):
        if code != SEG:
            system = systems[i]
            locus = loci[system] if system >= 0 and code == UNSEG_TOO_SHORT_W else ""
            lines.append(f"{_read_id(read_names[i])}\t\t{locus}\t{STATUS_NAMES[code]}\n")
            continue
        system = systems[i]
        read = sequences[i].upper()
        if strands[i]:
            read = reverse_complement(read)
        start = starts[i]
        window = read[start:start + wlengths[i]]
        add(window, system, len(read), first_number + i, read, start)
        lines.append(f"{_read_id(read_names[i])}\t{window}\t{loci[system]}\tSEG\n")
    return BatchOutcome(0, stats, "".join(lines))


def _read_id(name: str) -> str:
    return name.split(None, 1)[0] if name else name


def _worker(in_queue, out_queue, max_reads: int, want_names: bool) -> None:
    """Worker process: detect batches from ``in_queue`` into a local window table; send each
    batch's outcome, then the table (or an error message) to ``out_queue``."""
    table = WindowTable(max_reads)
    try:
        while True:
            item = in_queue.get()
            if item is None:
                break
            index, batch = item
            outcome = process_batch(batch.sequences, table, batch.first_index,
                                    read_names=batch.names if want_names else None)
            outcome.index = index
            out_queue.put(("batch", outcome))
        out_queue.put(("table", table))
    except BaseException as error:  # reported to the main process, which raises it
        import traceback
        out_queue.put(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))


# --- the run ----------------------------------------------------------------------------------

def _progress_bar(options: AnalysisOptions, path: Path):
    enabled = options.progress if options.progress is not None else sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=None, unit=" reads", unit_scale=True, file=sys.stderr, desc=path.name, mininterval=0.5)


def _diversity(clones: list[Clone], system_names: list[str]) -> dict:
    """Shannon H, Pielou E (H / ln N, N = reads) and Simpson Ds per locus and 'all' (vidjil-algo)."""
    groups: dict[str, list[int]] = {}
    for clone in clones:
        groups.setdefault(system_names[clone.system], []).append(clone.reads)
    groups["all"] = [c.reads for c in clones]
    h_all, e_all, d_all = {}, {}, {}
    for name, counts in groups.items():
        total = sum(counts)
        if total <= 1:
            continue
        h = -sum((n / total) * math.log(n / total) for n in counts if n)
        h_all[name] = h
        e_all[name] = h / math.log(total)
        d_all[name] = 1 - sum(n * (n - 1) for n in counts) / (total * (total - 1))
    return {"index_H_entropy": h_all, "index_E_equitability": e_all, "index_Ds_diversity": d_all}


def analyze(input_path: str | os.PathLike, options: AnalysisOptions | None = None, germlines=None,
            designer: Designer | None = None) -> AnalysisResult:
    """Analyse one FASTA/FASTQ(.gz) file: detect recombinations, build and designate clones.

    ``germlines``: a loaded :class:`vdj.germline.GermlineSet` (default: loaded from the options).
    Returns an :class:`AnalysisResult`; writes nothing except the ``read_assignments`` TSV when set.

    Raises:
        vdj.reader.InputError: unreadable or malformed input (message names the record).
        vdj.germline.GermlineError: germline database missing or unknown preset.
    """
    options = options or AnalysisOptions()
    started = time.perf_counter()
    cpu_started = time.process_time()
    run_timestamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    path = Path(input_path)
    if germlines is None:
        from vdj.germline import load_germlines
        germlines = load_germlines(preset=options.germline_preset, species=options.species,
                                   germline_dir=options.germline_dir)
    systems = list(germlines.systems.values())
    index = designer.index if designer is not None else load_or_build_index(
        systems, options.seed, germline_directory=getattr(germlines, "directory", None))
    system_names = [s.name for s in systems]
    estimated_reads = estimate_read_count(path)
    multiplier = float(len(systems)) * estimated_reads
    global _CONTEXT
    _CONTEXT = _Context(index, options.window, multiplier, options.evalue, options.consensus_reads,
                        system_names, options.read_assignments is not None, [s.locus for s in systems])
    stats = RunStatistics()
    table = WindowTable(options.consensus_reads)
    assignment_file = None
    if options.read_assignments is not None:
        target = Path(options.read_assignments)
        assignment_file = tempfile.NamedTemporaryFile("w", delete=False, dir=target.parent if target.parent.exists() else None,
                                                      prefix=".vdj-assign-", suffix=".tmp", encoding="utf-8")
    bar = _progress_bar(options, path)
    want_names = options.read_assignments is not None
    pending: dict[int, BatchOutcome] = {}
    next_to_write = 0

    def accept(outcome: BatchOutcome) -> None:
        nonlocal next_to_write
        stats.add(outcome.stats)
        if bar is not None:
            bar.update(outcome.stats.total)
        if assignment_file is None:
            return
        pending[outcome.index] = outcome
        while next_to_write in pending:  # keep the input order in the assignments file
            assignment_file.write(pending.pop(next_to_write).assignment_text)
            next_to_write += 1

    completed = False
    try:
        if options.threads == 2:
            _run_threaded(path, options, table, accept, want_names)
        elif options.threads > 2:
            _run_workers(path, options, table, accept, want_names)
        else:
            for batch_number, batch in enumerate(read_batches(path, options.batch_size)):
                outcome = process_batch(batch.sequences, table, batch.first_index,
                                        read_names=batch.names if want_names else None)
                outcome.index = batch_number
                accept(outcome)
        completed = True
    finally:
        if bar is not None:
            bar.close()
        if assignment_file is not None:
            assignment_file.close()
            if not completed:
                os.unlink(assignment_file.name)
    stats.seconds_reading_detecting = time.perf_counter() - started
    stats.cpu_seconds_main = time.process_time() - cpu_started

    t0 = time.perf_counter()
    early = None
    if options.threads > 1 and options.max_designations > 0 and len(table) >= 1000:
        early = _EarlyDesignation(table, systems, options, germlines, index, designer, multiplier)
    clones, assignment, merge = cluster_windows(table, options.window, options.merge_distance,
                                              options.merge_far_distance, options.merge_error_rate)
    stats.windows = merge.windows
    stats.clones = len(clones)
    stats.shrunk_windows_merged = merge.shrunk_windows_merged
    stats.shrunk_reads_merged = merge.shrunk_reads_merged
    stats.error_windows_merged = merge.error_windows_merged
    stats.error_reads_merged = merge.error_reads_merged
    for clone in clones:
        name = system_names[clone.system]
        stats.clones_per_system[name] = stats.clones_per_system.get(name, 0) + 1
    reported = [c for c in clones if c.reads >= options.min_reads]
    if options.max_clones is not None:
        reported = reported[:options.max_clones]
    stats.reported_clones = len(reported)
    diversity = _diversity(clones, system_names)
    stats.seconds_clustering = time.perf_counter() - t0

    known = early.collect() if early is not None else None   # before the next fork: one copy at a time
    writer = None
    if options.read_assignments is not None and options.threads > 1:
        # the per-read file is rewritten by a forked copy of this process while this one designates the clones
        writer = multiprocessing.get_context("fork").Process(
            target=_finish_assignments, args=(assignment_file.name, options.read_assignments, assignment),
            name="vdj-assignments", daemon=True)
        writer.start()
    t0 = time.perf_counter()
    if designer is None and options.max_designations > 0 and reported:
        from vdj.designation import Designer

        designer = Designer(germlines, index=index, evalue_threshold=options.evalue)
    results = []
    for rank, clone in enumerate(reported, start=1):
        system = systems[clone.system]
        entry = table.entries[clone.window]
        results.append(_clone_result(clone, rank, system, entry, table, options, designer is not None))
    _designate_all(results, designer, multiplier, options.threads, known)
    stats.seconds_designation = time.perf_counter() - t0

    if writer is not None:
        writer.join()
        if writer.exitcode != 0:
            raise OSError(f"{options.read_assignments}: could not be written (exit code {writer.exitcode}, reason above)")
    elif options.read_assignments is not None:
        _finish_assignments(assignment_file.name, options.read_assignments, assignment)
    stats.seconds_total = time.perf_counter() - started
    return AnalysisResult(
        input_path=str(input_path), options=options, stats=stats, clones=results, all_clone_count=len(clones),
        germlines=germlines, systems=systems, diversity=diversity, run_timestamp=run_timestamp, merge=merge)


def _run_threaded(path: Path, options: AnalysisOptions, table: WindowTable, accept, want_names: bool) -> None:
    """``--threads 2``: the detection kernel (over half the work of a run; numba, GIL released) on a helper
    thread while the main thread reads, encodes and summarises the batches before and after it; when the main
    thread would wait for the helper, it detects a batch the helper has not started yet itself, so both cores stay
    busy whatever the share of the kernel. One process, one window table: no batch is copied between processes and
    no table merged, and the result is the one of ``--threads 1``. (With more threads the Python part would be the
    bottleneck: :func:`_run_workers`.)"""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    ctx = _CONTEXT
    in_flight: deque[list] = deque()   # [index, batch, codes, offsets, future, result]

    def finish_oldest() -> None:
        oldest = in_flight[0]
        if oldest[5] is None and not oldest[4].done():
            # the helper is busy: detect here the latest batch it has not started (the oldest at worst)
            for item in reversed(in_flight):
                if item[5] is None and item[4].cancel():
                    item[5] = _detect(item[2], item[3], ctx)
                    break
        index, batch, _, offsets, future, result = in_flight.popleft()
        if result is None:
            result = future.result()
        outcome = summarise_batch(batch.sequences, offsets, result, table, batch.first_index, ctx,
                                  batch.names if want_names else None)
        outcome.index = index
        accept(outcome)

    depth = 2 * options.threads   # batches read ahead: one detecting, the next waiting to be taken by either thread
    with ThreadPoolExecutor(max_workers=options.threads - 1, thread_name_prefix="vdj-detect") as pool:
        try:
            for index, batch in enumerate(read_batches(path, options.batch_size)):
                codes, offsets = encode_batch(batch.sequences)
                in_flight.append([index, batch, codes, offsets, pool.submit(_detect, codes, offsets, ctx), None])
                if len(in_flight) > depth:
                    finish_oldest()
            while in_flight:
                finish_oldest()
        finally:
            for item in in_flight:   # bad input: do not wait for batches nobody will count
                item[4].cancel()


def _run_workers(path: Path, options: AnalysisOptions, table: WindowTable, accept, want_names: bool) -> None:
    """``--threads 3`` and more: stream the batches of ``path`` to ``options.threads - 1`` forked worker processes, each with
    its own window table (merged into ``table`` at the end); the main process reads the file and
    detects a batch itself whenever the workers are busy (their queue is full), so that
    ``--threads N`` uses N processes in all."""
    context = multiprocessing.get_context("fork")
    n_workers = max(1, options.threads - 1)
    in_queue = context.Queue(maxsize=2 * n_workers)
    out_queue = context.Queue()
    workers = [context.Process(target=_worker, args=(in_queue, out_queue, options.consensus_reads, want_names),
                               daemon=True) for _ in range(n_workers)]
    for worker in workers:
        worker.start()
    tables_left = len(workers)

    def drain(block: bool) -> None:
        nonlocal tables_left
        while True:
            try:
                kind, payload = out_queue.get(block=block, timeout=1.0 if block else None)
            except queue.Empty:
                if block and not all(w.is_alive() for w in workers) and out_queue.empty():
                    raise RuntimeError("a worker process died unexpectedly") from None
                if block:
                    continue
                return
            if kind == "batch":
                accept(payload)
            elif kind == "table":
                table.merge(payload)
                tables_left -= 1
            else:
                raise RuntimeError(f"worker failed: {payload}")
            if block:
                return

    try:
        for index, batch in enumerate(read_batches(path, options.batch_size)):
            try:
                in_queue.put_nowait((index, batch))
            except queue.Full:  # workers busy: detect this batch here
                outcome = process_batch(batch.sequences, table, batch.first_index,
                                        read_names=batch.names if want_names else None)
                outcome.index = index
                accept(outcome)
            drain(block=False)
        for _ in workers:
            in_queue.put(None)
        while tables_left:
            drain(block=True)
    finally:
        if tables_left:  # interrupted (bad input, worker failure): do not wait for queued items
            in_queue.cancel_join_thread()
            out_queue.cancel_join_thread()
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
        for worker in workers:
            worker.join(timeout=5)


def _clone_result(clone: Clone, rank: int, system, entry, table: WindowTable, options: AnalysisOptions,
                  designate: bool) -> CloneResult:
    """The reported clone; for the top ``max_designations`` its consensus sequence (designation
    added by :func:`_designate_all`)."""
    warnings = []
    if clone.shrunk:
        warnings.append({"code": "W50", "msg": "Short or shifted window", "level": "warn"})
    result = CloneResult(clone=clone, top=rank, germline=system.name, locus=system.locus,
                         sequence=clone.window, window_offset=0, warnings=warnings)
    if rank <= options.max_designations and designate:
        reads = sorted(entry.reads, reverse=True)
        if len(reads) < 3:
            for window in clone.merged_windows:
                other = table.entries.get(window)
                if other is not None and len(window) == len(clone.window):
                    reads.extend(sorted(other.reads, reverse=True))
                if len(reads) >= 3:
                    break
        sequence, offset = consensus(reads)
        if not sequence:
            sequence, offset = clone.window, 0
        result.sequence = sequence
        result.window_offset = offset
        average = clone.average_read_length
        result.coverage = len(sequence) / average if average else None
        if result.coverage is not None and result.coverage < 0.6:
            warnings.append({"code": "W51", "msg": "Low coverage (%.3f)" % result.coverage, "level": "warn"})
    return result


_DESIGNER: "Designer | None" = None


def _designate_one(job: tuple[str, str, float]):
    sequence, system_name, multiplier = job
    return _DESIGNER.designate(sequence, system=system_name, multiplier=multiplier)


def _designate_all(results: list[CloneResult], designer: "Designer | None", multiplier: float, threads: int,
                   known: "dict[tuple[str, str], Designation] | None" = None) -> None:
    """Designate the consensus of the clones that have one (``threads`` threads). ``known``: designations
    already made, by (consensus sequence, system name) (:class:`_EarlyDesignation`)."""
    global _DESIGNER
    todo = [r for r in results if r.coverage is not None]
    if designer is None or not todo:
        return
    known = known or {}
    designations_known = {id(r): known[(r.sequence, r.germline)] for r in todo if (r.sequence, r.germline) in known}
    for result in todo:
        if id(result) in designations_known:
            _attach(result, designations_known[id(result)])
    todo = [r for r in todo if id(r) not in designations_known]
    if not todo:
        return
    jobs = [(r.sequence, r.germline, multiplier) for r in todo]
    _DESIGNER = designer
    if threads > 1 and len(jobs) >= 8:
        # threads, not processes: the alignment kernels release the GIL, and no process is added
        from concurrent.futures import ThreadPoolExecutor

        for system_name in {job[1] for job in jobs}:  # build the per-system allele tables once
            system = designer.germlines.systems[system_name]
            for which in ("five", "three", "d"):
                designer._side(system, which)
        with ThreadPoolExecutor(threads) as pool:
            designations = list(pool.map(_designate_one, jobs))
    else:
        designations = [_designate_one(job) for job in jobs]
    for result, designation in zip(todo, designations):
        _attach(result, designation)


def _attach(result: CloneResult, designation: "Designation") -> None:
    result.designation = designation
    if not designation.detected or not designation.v_call:
        result.warnings.append({"code": "W68", "msg": "V(D)J designation failed", "level": "warn"})
    result.warnings.extend(w for w in designation.warnings if w["code"] != "W68")


def _consensus_of(entry) -> tuple[str, int] | None:
    """The consensus (sequence, window offset) of a window's own reads, as :func:`_clone_result` makes it when the
    window has at least 3 reads (with fewer it borrows reads of merged windows: not known before clustering)."""
    if len(entry.reads) < 3:
        return None
    sequence, offset = consensus(sorted(entry.reads, reverse=True))
    return (sequence, offset) if sequence else None


class _EarlyDesignation:
    """With ``--threads`` > 1, the likely top clones are designated by a forked copy of the process while the main
    one clusters (pure Python, one core). A reported clone is named after its most abundant window, so the windows
    with the most reads are designated from their own reads; :func:`_designate_all` then takes a designation only
    for the same consensus sequence and system as the clone's, so the result is the one of ``--threads 1``, and the
    other clones are designated as usual."""

    def __init__(self, table: WindowTable, systems: list, options: AnalysisOptions, germlines, index,
                 designer: "Designer | None", multiplier: float):
        from concurrent.futures import ProcessPoolExecutor

        entries = table.entries
        count = options.max_designations + options.max_designations // 5 + 10   # merges reorder the top a bit
        top = sorted((w for w in entries if len(w) >= options.window), key=lambda w: (-entries[w].count, w))[:count]
        self.jobs = [(w, systems[entries[w].main_system()].name) for w in top]
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        global _EARLY
        _EARLY = (entries, germlines, index, designer, options.evalue, multiplier)
        try:
            self.future = self.pool.submit(_designate_early, self.jobs)
        finally:
            _EARLY = None

    def collect(self) -> "dict[tuple[str, str], Designation]":
        """{(consensus sequence, system name): designation}; empty if the forked process failed (the clones are
        then designated here)."""
        try:
            return self.future.result()
        except Exception as error:  # noqa: BLE001 - only a lost shortcut: designated in this process instead
            print(f"note: early designation failed ({type(error).__name__}: {error}); designating now",
                  file=sys.stderr)
            return {}
        finally:
            self.pool.shutdown(wait=True)


_EARLY: tuple | None = None


def _designate_early(jobs: list[tuple[str, str]]) -> "dict[tuple[str, str], Designation]":
    """In the forked process: consensus and designation of ``jobs`` (window, system name)."""
    entries, germlines, index, designer, evalue, multiplier = _EARLY
    if designer is None:
        from vdj.designation import Designer

        designer = Designer(germlines, index=index, evalue_threshold=evalue)
    known = {}
    for window, system_name in jobs:
        made = _consensus_of(entries[window])
        if made is not None and (made[0], system_name) not in known:
            known[(made[0], system_name)] = designer.designate(made[0], system=system_name, multiplier=multiplier)
    return known


def _finish_assignments(temporary: str, target: str, assignment: dict[str, str]) -> None:
    """Rewrite the per-read TSV with final clone ids (the window of the clone each read joined)."""
    with open(temporary, encoding="utf-8") as source, open(target, "w", encoding="utf-8") as out:
        out.write("read_id\tclone_id\tlocus\tstatus\n")
        for line in source:
            name, window, system, status = line.rstrip("\n").split("\t")
            clone_id = assignment.get(window, window) if window else ""
            out.write(f"{name}\t{clone_id}\t{system}\t{status}\n")
    os.unlink(temporary)

