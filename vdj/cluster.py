"""Clones: reads grouped by window, then error windows merged into their clone.

vidjil-algo (Giraud, Salson et al., BMC Genomics 2014) makes one clone per exact window, so a read
with a sequencing error inside its window starts a pseudo-clone (about 1 read in 5 at 0.5 %
substitutions per base on a 50-nt window). Here, after counting:

1. *Shrunk windows* (reads too short for the full window, ``SEG changed w``) are centred
   substrings of their clone's full window (:mod:`vdj.detect` centres them on the same junction):
   each goes to the most abundant full window that has it at its centre.
2. *Error windows*: windows are visited by decreasing read count; a window within a small edit
   distance (substitutions and indels) of an already kept window is merged into the most abundant
   such window when its read count is explained by sequencing errors of that window
   (:func:`is_error_window`: Poisson model of the reads expected with that many errors, at an
   assumed error rate of 1 %), otherwise it is kept as a clone. Distinct clones are often only a
   few edits apart (same V and J, short N): a ratio of read counts alone would merge them. At 0.5 %
   errors per base a 50-nt window has 3+ errors in 0.2 % of reads, so single-read windows are
   also tested up to w/10 edits. Candidates
   come from pigeonhole indexes: with d edits, one of d+1 blocks of the window is unchanged
   (possibly shifted by <= d), so only kept windows sharing a block are compared, with edlib
   (Šošić & Šikić, Bioinformatics 2017).

Memory: one :class:`WindowEntry` per distinct window, each holding at most ``max_reads`` reads
(the longest ones) for the consensus; never all reads.
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import edlib


class WindowEntry:
    """Reads seen with one window: count, length sum, systems, and a few reads for the consensus.

    ``reads`` is a min-heap of (length, -read number, oriented sequence, window start) holding the
    longest reads (ties: the first in the file), so the sample does not depend on the order in
    which batches are processed.
    """

    __slots__ = ("count", "length_sum", "system", "other_systems", "reads")

    def __init__(self, system: int):
        self.count = 0
        self.length_sum = 0
        self.system = system
        self.other_systems: dict[int, int] | None = None
        self.reads: list[tuple[int, int, str, int]] = []

    def main_system(self) -> int:
        """The system of most of the reads (ties: the smallest index)."""
        if not self.other_systems:
            return self.system
        counts = dict(self.other_systems)
        counts[self.system] = counts.get(self.system, 0) + self.count - sum(self.other_systems.values())
        return min(counts, key=lambda s: (-counts[s], s))


def keep_longest(reads: list, limit: int) -> list:
    """The ``limit`` largest (length, -read number, ...) tuples, as a heap."""
    if len(reads) <= limit:
        heapq.heapify(reads)
        return reads
    kept = heapq.nlargest(limit, reads, key=lambda r: (r[0], r[1]))
    heapq.heapify(kept)
    return kept


class WindowTable:
    """All windows of a run (the only per-clone state kept while streaming).

    ``max_reads`` reads are kept per window (the longest) for the consensus.
    """

    def __init__(self, max_reads: int = 30):
        self.max_reads = max_reads
        self.entries: dict[str, WindowEntry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, window: str, system: int, length: int, number: int, read: str, start: int) -> None:
        """Count one read (number = its 0-based position in the file) with ``window``."""
        entry = self.entries.get(window)
        if entry is None:
            entry = WindowEntry(system)
            self.entries[window] = entry
        elif system != entry.system:
            others = entry.other_systems
            if others is None:
                others = entry.other_systems = {}
            others[system] = others.get(system, 0) + 1
        entry.count += 1
        entry.length_sum += length
        reads = entry.reads
        if len(reads) < self.max_reads:
            heapq.heappush(reads, (length, -number, read, start))
        else:
            # (length, -number) > the smallest kept, without building tuples for the many reads not kept
            smallest = reads[0]
            if length > smallest[0] or (length == smallest[0] and -number > smallest[1]):
                heapq.heapreplace(reads, (length, -number, read, start))

    def merge(self, other: "WindowTable") -> None:
        """Add the windows of ``other`` (e.g. a worker's table) to this one."""
        entries = self.entries
        for window, theirs in other.entries.items():
            mine = entries.get(window)
            if mine is None:
                entries[window] = theirs
                continue
            system_counts = {}
            for entry in (mine, theirs):
                own = entry.count - (sum(entry.other_systems.values()) if entry.other_systems else 0)
                system_counts[entry.system] = system_counts.get(entry.system, 0) + own
                for system, n in (entry.other_systems or {}).items():
                    system_counts[system] = system_counts.get(system, 0) + n
            first = min(mine.system, theirs.system) if mine.system != theirs.system else mine.system
            mine.system = first
            others = {s: n for s, n in system_counts.items() if s != first}
            mine.other_systems = others or None
            mine.count += theirs.count
            mine.length_sum += theirs.length_sum
            mine.reads = keep_longest(mine.reads + theirs.reads, self.max_reads)


@dataclass
class Clone:
    """A clone after merging: its id (window), total reads, system index, merged windows."""

    window: str
    reads: int
    system: int
    length_sum: int
    merged_windows: list[str] = field(default_factory=list)
    shrunk: bool = False

    @property
    def average_read_length(self) -> float:
        return self.length_sum / self.reads if self.reads else 0.0


@dataclass
class MergeStats:
    """How many windows/reads were folded into other clones."""

    windows: int = 0
    shrunk_windows_merged: int = 0
    shrunk_reads_merged: int = 0
    error_windows_merged: int = 0
    error_reads_merged: int = 0
    error_model: "ErrorModel | None" = None


@lru_cache(maxsize=None)
def _blocks(length: int, n_blocks: int) -> tuple[tuple[int, int], ...]:
    bounds = [round(i * length / n_blocks) for i in range(n_blocks + 1)]
    return tuple((bounds[i], bounds[i + 1]) for i in range(n_blocks))


class _HeadIndex:
    """Pigeonhole index of kept windows for edit distance <= ``distance`` (``distance`` + 1 blocks)."""

    def __init__(self, distance: int):
        self.distance = distance
        self.n_blocks = distance + 1
        self.blocks: dict[tuple[int, str], list[str]] = {}

    def add(self, window: str) -> None:
        for b, (start, end) in enumerate(_blocks(len(window), self.n_blocks)):
            self.blocks.setdefault((b, window[start:end]), []).append(window)

    def candidates(self, window: str, shifted: bool = True) -> set[str]:
        """Heads sharing a block with ``window`` (at its own place, and also shifted by up to the
        index distance when ``shifted``)."""
        found: set[str] = set()
        blocks = self.blocks
        length = len(window)
        if not shifted:
            for b, (start, end) in enumerate(_blocks(length, self.n_blocks)):
                heads = blocks.get((b, window[start:end]))
                if heads:
                    found.update(heads)
            return found
        d = self.distance
        for b, (start, end) in enumerate(_blocks(length, self.n_blocks)):
            size = end - start
            for s in range(max(0, start - d), min(start + d, length - size) + 1):
                heads = blocks.get((b, window[s:s + size]))
                if heads:
                    found.update(heads)
        return found


@lru_cache(maxsize=65536)
def _poisson_quantile(mean: float, probability: float = 1 - 1e-6) -> int:
    """Smallest k with P(X <= k) >= probability for X ~ Poisson(mean)."""
    term = math.exp(-mean)
    total = term
    k = 0
    while total < probability and k < 10_000:
        k += 1
        term *= mean / k
        total += term
    return k


# A window identical to a clone's but cut up to MAX_SHIFT nt earlier or later (an indel in the read
# upstream of the window) joins that clone when the clone has at least twice its reads.
MAX_SHIFT = 3
# Relative frequency of an indel one nucleotide longer (sequencing indels are mostly 1-nt slips).
INDEL_LENGTH_DECAY = 0.3
_CIGAR = re.compile(r"(\d+)([=XID])")


def _events_of(cigar: str) -> tuple[int, tuple[int, ...]]:
    ops = [(int(n), op) for n, op in _CIGAR.findall(cigar or "")]
    while ops and ops[0][1] in "ID":
        ops.pop(0)
    while ops and ops[-1][1] in "ID":
        ops.pop()
    return sum(n for n, op in ops if op == "X"), tuple(n for n, op in ops if op in "ID")


def edit_events(window: str, head: str, limit: int) -> list[tuple[int, tuple[int, ...]]]:
    """Ways of explaining ``window`` as ``head`` with errors: (substitutions, indel lengths) of
    the alignments within ``limit`` edits, substitutions only (same length), global and with free
    ends on either side (edlib NW, HW both ways); empty when none is within ``limit``.

    Indels at either end of an alignment are not counted: an indel in a read moves the junction
    centre, so the window of such a read is its clone's cut up to MAX_SHIFT nt earlier or later,
    plus the indel itself. An indel is a run of inserted or deleted nucleotides. Several
    alignments are kept because the fewest edits is not always the likeliest error (a 2-nt
    deletion near a window end may also be written as 2 substitutions, two substitutions as an
    insertion and a deletion).
    """
    found = []
    if len(window) == len(head):
        mismatches = _hamming(window, head)
        if mismatches <= limit:
            found.append((mismatches, ()))
    for query, target, mode in ((window, head, "NW"), (window, head, "HW"), (head, window, "HW")):
        result = edlib.align(query, target, mode=mode, task="path", k=limit)
        if result["editDistance"] >= 0:
            events = _events_of(result["cigar"])
            if events not in found:
                found.append(events)
    return found


@dataclass(frozen=True)
class ErrorModel:
    """Per-base sequencing error rates: ``substitution`` (any other base) and ``indel`` (a 1-nt
    slip; each nucleotide more makes an indel INDEL_LENGTH_DECAY times rarer). The defaults
    (1 %, 0.2 %) are used when the data are too small to measure them."""

    substitution: float = 0.01
    indel: float = 0.002

    def variant_rate(self, substitutions: int, indels: tuple[int, ...]) -> float:
        """Probability that a read of a clone shows one given variant of its window."""
        rate = (self.substitution / 3) ** substitutions
        for size in indels:
            rate *= self.indel * INDEL_LENGTH_DECAY ** (size - 1)
        return rate

    @property
    def total(self) -> float:
        return self.substitution + self.indel


def estimate_error_model(table: "WindowTable", window_length: int, top: int = 20, min_reads: int = 2000,
                         floor: float = 1e-4, margin: float = 1.5,
                         default: ErrorModel = ErrorModel()) -> ErrorModel:
    """Error rates measured on the most abundant clones.

    Windows are visited by decreasing reads; the first ``top`` that are not within 2 edits of a
    previous one are taken as clones, the others within 2 edits as their error variants. The
    per-base error rate p solves (1 - p)^w = share of these reads with the exact clone window; it
    is split between substitutions and indels in the proportion of the variants with one
    substitution and with one 1-nt indel (window cut ignored). Rates are multiplied by ``margin``
    (real error rates vary along reads and between runs) and are at least ``floor``; ``default``
    when these clones have fewer than ``min_reads`` reads."""
    entries = table.entries
    full = sorted((w for w in entries if len(w) >= window_length), key=lambda w: (-entries[w].count, w))
    index = _HeadIndex(2)
    heads = 0
    total = exact = substitution_reads = indel_reads = 0
    for window in full:
        count = entries[window].count
        kind = None
        for head in index.candidates(window, shifted=False):  # fast path: substitutions only
            if len(head) == len(window):
                mismatches = _hamming(window, head)
                if mismatches <= 2:
                    kind = "substitution" if mismatches == 1 else "other"
                    if mismatches == 1:
                        break
        if kind is None:
            kind = _classify_variant(window, index)
        if kind is None:
            if heads < top:
                index.add(window)
                heads += 1
                total += count
                exact += count
            continue
        total += count
        if kind == "substitution":
            substitution_reads += count
        elif kind == "indel":
            indel_reads += count
    if total < min_reads or exact == 0:
        return default
    rate = 1 - (exact / total) ** (1 / window_length)
    single = substitution_reads + indel_reads
    substitution_share = substitution_reads / single if single else 0.5
    return ErrorModel(max(floor, margin * rate * substitution_share),
                      max(floor, margin * rate * (1 - substitution_share)))


def _classify_variant(window: str, index: "_HeadIndex") -> str | None:
    """"substitution", "indel" (one 1-nt indel), "other" (within 2 edits) or None (no head)."""
    kind = None
    for head in index.candidates(window):
        explanations = edit_events(window, head, 2)
        if not explanations:
            continue
        kind = "other"
        if (1, ()) in explanations:
            return "substitution"
        if (0, (1,)) in explanations:
            return "indel"
    return kind


def is_error_window(count: int, head_count: int, substitutions: int, length: int,
                    model: ErrorModel | float, indels: tuple[int, ...] = ()) -> bool:
    """Whether a window with ``count`` reads, differing from a window with ``head_count`` reads by
    ``substitutions`` substitutions and ``indels`` (lengths of inserted/deleted runs), is explained
    by sequencing errors of the latter (``model``: an :class:`ErrorModel` or one rate for both).

    A given variant gets on average head_count x :meth:`ErrorModel.variant_rate` reads: the window
    is an error variant when its count is within the (1 - 1e-6) Poisson quantile of that (strict,
    as every window of a large run is tested against every nearby head). A single-read window is
    also one when the head is expected to produce reads with that many errors at all
    (head_count x C(length, d) x e^d >= 0.01). A window only cut elsewhere (no substitution, no
    indel) is one too. The head must have at least twice the reads.
    """
    if not isinstance(model, ErrorModel):
        model = ErrorModel(model, model)
    if head_count < 2 * count:
        return False
    events = substitutions + len(indels)
    if events == 0:
        return True
    if count <= _poisson_quantile(head_count * model.variant_rate(substitutions, indels)):
        return True
    if count == 1:
        edits = substitutions + sum(indels)
        return head_count * math.comb(length, edits) * model.total ** edits >= 0.01
    return False


_BASE4 = str.maketrans("ACGT", "0123")
_MASK_CACHE: dict[int, int] = {}


def _hamming(a: str, b: str) -> int:
    """Number of differing positions of two strings of the same length (2-bit packed when both
    are pure ACGT: one XOR and a popcount)."""
    try:
        x = int(a.translate(_BASE4), 4) ^ int(b.translate(_BASE4), 4)
    except ValueError:
        return sum(map(str.__ne__, a, b))
    mask = _MASK_CACHE.get(len(a))
    if mask is None:
        mask = _MASK_CACHE[len(a)] = int("01" * len(a), 2)
    return ((x | (x >> 1)) & mask).bit_count()


def _nearest_head(window: str, count: int, index: _HeadIndex, counts: dict[str, int], model: ErrorModel):
    """The head of which ``window`` is most likely an error variant: among the heads within the
    index's edit distance for which :func:`is_error_window` holds, the one with the largest
    expected count of this variant (head reads x variant rate), then the most abundant; None when
    there is none."""
    best = None
    best_key = None
    limit = index.distance
    length = len(window)
    unshifted = index.candidates(window, shifted=False)
    for head in unshifted:  # substitutions only: the usual case, decided without alignment
        head_count = counts[head]
        if head_count < 2 * count or len(head) != length:
            continue
        mismatches = _hamming(window, head)
        if mismatches <= limit and is_error_window(count, head_count, mismatches, length, model):
            key = (head_count * model.variant_rate(mismatches, ()), head_count, head)
            if best_key is None or key > best_key:
                best, best_key = head, key
    if best is not None:
        return best
    for head in index.candidates(window):
        head_count = counts[head]
        if head_count < 2 * count:
            continue
        explanations = None
        if len(head) == length:
            # fast path: substitutions only, the usual case
            mismatches = _hamming(window, head)
            if mismatches <= limit and is_error_window(count, head_count, mismatches, length, model):
                explanations = [(mismatches, ())]
        if explanations is None:
            distance = edlib.align(window, head, mode="HW", task="distance", k=limit)["editDistance"]
            if distance < 0:
                distance = edlib.align(head, window, mode="HW", task="distance", k=limit)["editDistance"]
            if distance < 0:
                continue
            explanations = edit_events(window, head, limit) if distance > 0 else [(0, ())]
        for substitutions, indels in explanations:
            if not is_error_window(count, head_count, substitutions, length, model, indels):
                continue
            key = (head_count * model.variant_rate(substitutions, indels), head_count, head)
            if best_key is None or key > best_key:
                best, best_key = head, key
    return best


def cluster_windows(table: WindowTable, window_length: int, max_distance: int = 2,
                    far_distance: int | None = None, error_rate: float | ErrorModel | None = None
                    ) -> tuple[list[Clone], dict[str, str], MergeStats]:
    """Group the windows of ``table`` into clones (see module docstring).

    Windows within ``max_distance`` edits of a head are tested with :func:`is_error_window`;
    single-read windows also up to ``far_distance`` edits (default: window length / 10).
    ``error_rate``: per-base sequencing error rates (an :class:`ErrorModel` or one rate for
    substitutions and indels; None, the default: measured on the largest clones,
    :func:`estimate_error_model`). Returns (clones sorted by
    decreasing reads then window, {window: clone window} for every window, merge statistics).
    ``max_distance`` 0 disables error merging.
    """
    entries = table.entries
    stats = MergeStats(windows=len(entries))
    if error_rate is None:
        model = estimate_error_model(table, window_length)
    elif isinstance(error_rate, ErrorModel):
        model = error_rate
    else:
        model = ErrorModel(error_rate, error_rate)
    stats.error_model = model
    assignment: dict[str, str] = {}
    totals: dict[str, list] = {}  # head window -> [reads, length_sum, merged list]
    full = [w for w in entries if len(w) >= window_length]
    short = [w for w in entries if len(w) < window_length]
    order = sorted(full, key=lambda w: (-entries[w].count, w))
    if far_distance is None:
        far_distance = max(max_distance, window_length // 10)
    near = _HeadIndex(max_distance) if max_distance > 0 else None
    shifts: dict[tuple[str, int, str], str] = {}  # windows cut up to MAX_SHIFT nt off their clone's
    far = _HeadIndex(far_distance) if max_distance > 0 and far_distance > max_distance else None
    head_counts: dict[str, int] = {}

    # 2. error windows among full windows
    heads: list[str] = []
    for window in order:
        entry = entries[window]
        target = None
        if near is not None and heads:
            for shift in range(1, MAX_SHIFT + 1):
                for candidate in (shifts.get(("a", shift, window[:-shift])), shifts.get(("b", shift, window[shift:]))):
                    if candidate is not None and head_counts[candidate] >= 2 * entry.count and (
                            target is None or head_counts[candidate] > head_counts[target]):
                        target = candidate
                if target is not None:
                    break
        if near is not None and heads and target is None:
            target = _nearest_head(window, entry.count, near, head_counts, model)
            if target is None and far is not None:
                target = _nearest_head(window, entry.count, far, head_counts, model)
        if target is None:
            heads.append(window)
            head_counts[window] = entry.count
            assignment[window] = window
            totals[window] = [entry.count, entry.length_sum, []]
            if near is not None:
                near.add(window)
                for shift in range(1, MAX_SHIFT + 1):
                    shifts.setdefault(("a", shift, window[shift:]), window)
                    shifts.setdefault(("b", shift, window[:-shift]), window)
            if far is not None:
                far.add(window)
        else:
            assignment[window] = target
            total = totals[target]
            total[0] += entry.count
            total[1] += entry.length_sum
            total[2].append(window)
            stats.error_windows_merged += 1
            stats.error_reads_merged += entry.count

    # 1. shrunk windows: centred substring of a full (head) window
    if short:
        lengths = sorted({len(w) for w in short})
        centre_index: dict[str, str] = {}
        half_window = window_length // 2
        for length in lengths:
            half = length // 2
            for head in heads:
                centre = head[half_window - half: half_window - half + length]
                best = centre_index.get(centre)
                if best is None or entries[head].count > entries[best].count:
                    centre_index[centre] = head
        for window in sorted(short, key=lambda w: (-entries[w].count, w)):
            entry = entries[window]
            head = centre_index.get(window)
            if head is not None:
                assignment[window] = head
                total = totals[head]
                total[0] += entry.count
                total[1] += entry.length_sum
                total[2].append(window)
                stats.shrunk_windows_merged += 1
                stats.shrunk_reads_merged += entry.count
            else:
                assignment[window] = window
                totals[window] = [entry.count, entry.length_sum, []]
                heads.append(window)

    clones = [Clone(window=w, reads=t[0], system=entries[w].main_system(), length_sum=t[1],
                    merged_windows=t[2], shrunk=len(w) < window_length)
              for w, t in totals.items()]
    clones.sort(key=lambda c: (-c.reads, c.window))
    return clones, assignment, stats
