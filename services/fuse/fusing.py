"""Fuse single-sample ``.vidjil`` results into one multi-sample ``.vidjil`` (MRD follow-up), on plain dicts.

Semantics follow Vidjil's ``tools/fuse.py`` (see docs/fuse.md and ``vidjil-format.md`` section 2):

- clones are matched across samples by their identity, the exact ``id`` string (the window for ``vdj`` and
  vidjil-algo);
- the followed clones are the union, over samples, of each sample's top ``top`` clones (rank = the clone's
  ``top`` field, else its rank by reads); every followed clone gets its reads in **every** sample, including
  samples where it is outside the top (its real count) or absent (0);
- per clone, scalar fields (``name``, ``seg``, ``sequence``, ``germline``...) come from the sample where the clone
  ranks best (ties: the earliest sample); ``top`` is that best rank; ``warn`` lists are concatenated and W81 / W82
  are added when the designation / productivity differ between the samples where the clone is in the top;
- sample-level lists (``samples.*``, ``reads.total``, ``reads.segmented``, ``reads.germline``, ``reads.clones``)
  are concatenated in input order (the caller orders samples by sampling date), padded with 0;
- ``diversity`` becomes one entry per sample (the file's own indices, computed over all its clones by the
  analysis program; computed here from the file's clones when the file has none);
- ``overlaps`` holds sample x sample Morisita-Horn and Jaccard matrices computed over **all** clones of each
  result (fuse.py computes them over the followed clones only; all clones are what the indices mean).

Memory: :class:`Fuser` keeps, per sample, only numeric arrays (64-bit hash of each clone id, reads, average read
length, coverage, rank; about 30 bytes per clone) and the full clone objects of its top clones. The parsed
document can be dropped after :meth:`Fuser.add`, so at most one parsed file is alive at a time.

Identity: outside the top clones, ids are compared through Python's 64-bit string hash (SipHash, keyed per
process). Two different ids share a hash with probability about n^2 / 2^65 (10^6 clones: 3e-8); the top clones'
ids are compared as strings.
"""

from __future__ import annotations

import gc
import json
import math
import shlex
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable, Iterable, Mapping

import numpy as np

from services.fuse.exceptions import InvalidResult

#: Default number of top clones of each sample that are followed in all samples (Vidjil configs use 100).
DEFAULT_TOP = 100
#: ``producer`` written in fused files.
PRODUCER = "repseq-fuse 0.1.0"
VIDJIL_JSON_VERSION = "2016b"
#: Clone fields holding one value per sample; the others are taken from the best-ranked sample.
PER_SAMPLE_CLONE_FIELDS = ("reads", "_average_read_length", "_coverage", "_coverage_info", "normalized_reads")
#: Diversity keys of the .vidjil format.
DIVERSITY_KEYS = ("index_H_entropy", "index_E_equitability", "index_Ds_diversity")
#: Bytes of the dense block used to compute overlap sums (samples x shared clones, float64).
_OVERLAP_BLOCK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SampleInfo:
    """What the caller knows about one input result (from the samples and jobs services).

    ``name`` is the display name (may repeat across samples); ``sampling_date`` an ISO date string or ``None``.
    """

    name: str
    original_name: str | None = None
    sample_id: int | None = None
    result_id: int | None = None
    sampling_date: str | None = None
    info: str | None = None
    sample_set_id: int | None = None


@contextmanager
def paused_gc():
    """Pause the cyclic garbage collector: parsing a result allocates ~10^6 containers and would trigger about a
    hundred collections for nothing (the documents hold no cycles); pausing halves the parse time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- reading ---------------------------------------------------------------------------------------------------

def parse_result(content: bytes | str | BinaryIO, source: str = "result") -> dict:
    """Parse one ``.vidjil`` document (bytes, text or a binary file object) and check its shape.

    ``source`` names the input in error messages (e.g. the sample name or object key).
    Raises :class:`InvalidResult` when it is not valid JSON or not a ``.vidjil`` object.
    """
    try:
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, (bytes, bytearray)) and content[:2] == b"\x1f\x8b":
            import gzip

            content = gzip.decompress(content)
        with paused_gc():
            document = json.loads(content)
    except json.JSONDecodeError as error:
        raise InvalidResult(f"{source}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})",
                            {"source": source}) from None
    except (UnicodeDecodeError, OSError, EOFError) as error:
        raise InvalidResult(f"{source}: unreadable ({error})", {"source": source}) from None
    check_result(document, source)
    return document


def check_result(document: Any, source: str = "result") -> None:
    """Raise :class:`InvalidResult` unless ``document`` looks like a single-sample ``.vidjil`` result."""
    if not isinstance(document, dict):
        raise InvalidResult(f"{source}: a .vidjil result must be a JSON object", {"source": source})
    clones = document.get("clones")
    if clones is not None and not isinstance(clones, list):
        raise InvalidResult(f"{source}: 'clones' must be a list", {"source": source})
    reads = document.get("reads")
    if reads is not None and not isinstance(reads, dict):
        raise InvalidResult(f"{source}: 'reads' must be an object", {"source": source})
    samples = document.get("samples")
    if samples is not None and not isinstance(samples, dict):
        raise InvalidResult(f"{source}: 'samples' must be an object", {"source": source})
    number = (samples or {}).get("number", 1)
    if number not in (1, None):
        raise InvalidResult(f"{source}: holds {number} samples; only single-sample results can be fused",
                            {"source": source})
    if clones is None and reads is None:
        raise InvalidResult(f"{source}: neither 'clones' nor 'reads': not a .vidjil result", {"source": source})


def _first(value: Any, default: Any = 0) -> Any:
    """The single-sample value of a per-sample field (``[x]`` -> x; a bare value stays as is)."""
    if isinstance(value, list):
        return value[0] if value else default
    return default if value is None else value


def _per_sample_values(clones: list, key: str, default: Any) -> list:
    """The single-sample value of field ``key`` of every clone (``[x]`` or ``x``; ``default`` when absent).
    ``default=None`` makes the field required (``KeyError``)."""
    try:  # fast path: the usual one-element lists everywhere
        if default is None:
            return [clone[key][0] for clone in clones]
        return [(clone.get(key) or (default,))[0] for clone in clones]
    except (TypeError, IndexError, KeyError):
        if default is None:
            return [_first(clone[key], None) for clone in clones]
        return [_first(clone.get(key), default) for clone in clones]


def _count(value: Any, what: str, source: str) -> int:
    value = _first(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise InvalidResult(f"{source}: {what} must be a non-negative integer (got {value!r})", {"source": source})
    return int(value)


# -- indices ---------------------------------------------------------------------------------------------------

def diversity_indices(counts: Iterable[int]) -> dict[str, float] | None:
    """Shannon H, Pielou E and Simpson Ds of a clone-size distribution (reads per clone).

    H = -sum p_i ln p_i (p_i = n_i / N); E = H / ln N with N the number of reads (vidjil-algo's convention, also
    used by ``vdj``); Ds = 1 - sum n_i (n_i - 1) / (N (N - 1)) (Simpson 1949, unbiased form). ``None`` when
    N <= 1 (undefined). Returns ``{"index_H_entropy", "index_E_equitability", "index_Ds_diversity"}``.
    """
    values = np.asarray(counts if isinstance(counts, np.ndarray) else list(counts), dtype=np.float64)
    values = values[values > 0]
    total = float(values.sum())
    if total <= 1:
        return None
    shares = values / total
    entropy = float(-(shares * np.log(shares)).sum())
    simpson = 1.0 - float((values * (values - 1)).sum()) / (total * (total - 1))
    return {"index_H_entropy": entropy, "index_E_equitability": entropy / math.log(total),
            "index_Ds_diversity": simpson}


def morisita_horn(x: Iterable[float], y: Iterable[float]) -> float | None:
    """Morisita-Horn overlap of two abundance vectors over the same clones (Horn 1966):
    2 sum x_i y_i / ((sum x_i^2 / X^2 + sum y_i^2 / Y^2) X Y). 1 = same distribution, 0 = no shared clone;
    ``None`` if a sample is empty. Reference implementation for tests; :class:`Fuser` computes all pairs at once."""
    x = np.asarray(list(x), dtype=np.float64)
    y = np.asarray(list(y), dtype=np.float64)
    sx, sy = x.sum(), y.sum()
    if sx <= 0 or sy <= 0:
        return None
    return float(2 * (x * y).sum() / (((x * x).sum() / sx ** 2 + (y * y).sum() / sy ** 2) * sx * sy))



#: Programs whose ``-r`` / ``--min-reads`` option is the minimum of reads of a reported clone (vdj, vidjil-algo).
_MIN_READS_PROGRAMS = ("vdj", "vidjil", "vidjil-algo")


def min_reads_of(document: Mapping[str, Any]) -> int | None:
    """The minimum of reads of a reported clone used by the analysis that wrote ``document`` (a single-sample
    ``.vidjil``): its ``config["min-reads"]`` (written by ``vdj``), else the ``-r N`` / ``--min-reads N`` of its
    command line when that line runs vdj or vidjil-algo (``python -m vdj``, ``repseq analyze``, ``vidjil-algo``);
    ``None`` when the file does not say (a default is not guessed)."""
    config = document.get("config")
    if isinstance(config, Mapping) and "min-reads" in config:
        return _positive_int(config.get("min-reads"))
    samples_block = document.get("samples")
    commandline = _first(samples_block.get("commandline"), "") if isinstance(samples_block, Mapping) else ""
    if not isinstance(commandline, str) or not commandline.strip():
        return None
    try:
        tokens = shlex.split(commandline)
    except ValueError:
        tokens = commandline.split()
    head = [token.rsplit("/", 1)[-1] for token in tokens[:3]]
    if not (any(word in _MIN_READS_PROGRAMS for word in head) or head[:2] == ["repseq", "analyze"]):
        return None
    found = None
    for index, token in enumerate(tokens):
        if token in ("-r", "--min-reads") and index + 1 < len(tokens):
            found = _positive_int(tokens[index + 1])
        elif token.startswith("--min-reads="):
            found = _positive_int(token.split("=", 1)[1])
        elif token.startswith("-r") and token[2:].isdigit():
            found = _positive_int(token[2:])
    return found


def _positive_int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number >= 1 else None


# -- fusing ----------------------------------------------------------------------------------------------------

@dataclass
class _Sample:
    info: SampleInfo
    total: int
    segmented: int
    germline: dict[str, int]
    clone_counts: dict[str, int]
    diversity: Any
    producer: str
    run_timestamp: str
    commandline: str
    log: str
    original_name: str
    warn: list
    hashes: np.ndarray           # sorted hash of each clone id
    reads: np.ndarray            # aligned with hashes
    average_length: np.ndarray
    coverage: np.ndarray
    rank: np.ndarray
    top_clones: dict[str, dict]  # id -> full clone object, for the sample's top clones
    clone_total: int = 0         # sum of the reads of the sample's clones
    squares: float = 0.0         # sum of squared reads (Morisita-Horn)
    germlines: dict | None = None
    min_reads: int | None = None  # minimum of reads of a reported clone


class Fuser:
    """Incremental fuse: ``fuser = Fuser(top=100); fuser.add(doc, SampleInfo(...)) ...; fused = fuser.result()``.

    Add the samples in display order (sampling date). Each ``add`` validates and extracts what the fuse needs,
    after which the caller may drop ``doc``. Raises :class:`InvalidResult` naming the sample for malformed input.
    """

    def __init__(self, top: int = DEFAULT_TOP):
        if not isinstance(top, int) or top < 0:
            raise ValueError("top must be an integer >= 0 (0 = follow every clone)")
        self.top = top
        self._samples: list[_Sample] = []

    @property
    def sample_count(self) -> int:
        return len(self._samples)

    def add(self, document: Mapping[str, Any], info: SampleInfo) -> None:
        """Add one single-sample result (a parsed ``.vidjil`` dict) described by ``info``."""
        with paused_gc():
            self._add(document, info)

    def _add(self, document: Mapping[str, Any], info: SampleInfo) -> None:
        source = info.name or f"sample {len(self._samples) + 1}"
        check_result(document, source)
        clones = document.get("clones") or []
        reads_block = document.get("reads") or {}
        samples_block = document.get("samples") or {}

        n = len(clones)
        try:
            ids = [clone["id"] for clone in clones]
            reads = np.asarray(_per_sample_values(clones, "reads", None), dtype=np.int64)
        except (KeyError, TypeError, IndexError, AttributeError):
            raise InvalidResult(f"{source}: every clone needs an 'id' and 'reads'", {"source": source}) from None
        except (ValueError, OverflowError):
            raise InvalidResult(f"{source}: clone reads must be integers", {"source": source}) from None
        if n and (reads.min() < 0):
            raise InvalidResult(f"{source}: clone reads must be >= 0", {"source": source})
        if n and set(map(type, ids)) != {str}:
            raise InvalidResult(f"{source}: clone ids must be strings", {"source": source})
        try:
            average_length = np.asarray(_per_sample_values(clones, "_average_read_length", 0.0), dtype=np.float32)
            coverage = np.asarray(_per_sample_values(clones, "_coverage", 0.0), dtype=np.float32)
            tops = [c.get("top") for c in clones]
        except (TypeError, ValueError, AttributeError, IndexError):
            raise InvalidResult(f"{source}: malformed clone fields (_average_read_length, _coverage)",
                                {"source": source}) from None
        if reads.ndim != 1 or average_length.ndim != 1 or coverage.ndim != 1:
            raise InvalidResult(f"{source}: clone reads, _average_read_length and _coverage must be numbers",
                                {"source": source})

        # Rank: the file's `top` when every clone has one (as fuse.py), else the rank by reads.
        if n and set(map(type, tops)) == {int} and 0 < min(tops) and max(tops) < 2 ** 62:
            rank = np.asarray(tops, dtype=np.int64)
        else:
            order = np.argsort(-reads, kind="stable")
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(1, n + 1)

        # Clones are keyed by a 64-bit hash of their id (sorted, for vectorised matching between samples); the
        # id strings themselves are not kept, except those of the top clones (see docs/fuse.md, "Identity").
        hashes = np.fromiter(map(hash, ids), dtype=np.int64, count=n)
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        for k in np.flatnonzero(hashes[1:] == hashes[:-1]).tolist():
            first, second = ids[int(order[k])], ids[int(order[k + 1])]
            if first == second:
                raise InvalidResult(f"{source}: clone id {first[:60]!r} appears twice", {"source": source})

        selected = np.flatnonzero(rank <= self.top) if self.top else np.arange(n)
        top_clones = {ids[i]: clones[i] for i in selected.tolist()}

        total = _count(reads_block.get("total", 0), "reads.total", source)
        segmented = _count(reads_block.get("segmented", reads_block.get("total", 0)), "reads.segmented", source)
        germline = {str(k): _count(v, f"reads.germline.{k}", source)
                    for k, v in (reads_block.get("germline") or {}).items()}
        clone_counts = {str(k): _count(v, f"reads.clones.{k}", source)
                        for k, v in (reads_block.get("clones") or {}).items()}
        if not germline and n:
            for clone, count in zip(clones, reads.tolist()):
                locus = str(clone.get("germline") or "undetermined")
                germline[locus] = germline.get(locus, 0) + count
                clone_counts[locus] = clone_counts.get(locus, 0) + 1
        diversity = document.get("diversity")
        if not diversity:
            diversity = self._diversity_of(clones, reads)

        reads_float = reads.astype(np.float64)
        self._samples.append(_Sample(
            info=info, total=total, segmented=segmented, germline=germline, clone_counts=clone_counts,
            diversity=diversity,
            producer=str(_first(samples_block.get("producer"), document.get("producer") or "")),
            run_timestamp=str(_first(samples_block.get("run_timestamp"), document.get("timestamp") or "")),
            commandline=str(_first(samples_block.get("commandline"), "")),
            log=str(_first(samples_block.get("log"), "")),
            original_name=str(info.original_name or _first(samples_block.get("original_names"), "") or info.name),
            warn=list(document.get("warn") or []),
            hashes=hashes, reads=reads[order], average_length=average_length[order], coverage=coverage[order],
            rank=rank[order], top_clones=top_clones,
            clone_total=int(reads.sum()), squares=float((reads_float * reads_float).sum()),
            germlines=document.get("germlines") if isinstance(document.get("germlines"), dict) else None,
            min_reads=min_reads_of(document),
        ))

    @staticmethod
    def _diversity_of(clones: list, reads: np.ndarray) -> dict | None:
        """Per-locus and 'all' indices computed from the file's clones (for files without ``diversity``)."""
        loci = [clone.get("germline") or "undetermined" for clone in clones]
        names = list(dict.fromkeys(loci))
        if len(names) == 1:
            groups = {str(names[0]): reads}
        else:
            index_of = {name: index for index, name in enumerate(names)}
            codes = np.fromiter(map(index_of.__getitem__, loci), dtype=np.int64, count=len(loci))
            groups = {str(name): reads[codes == index] for index, name in enumerate(names)}
        groups["all"] = reads
        result: dict[str, dict] = {key: {} for key in DIVERSITY_KEYS}
        for locus, counts in groups.items():
            indices = diversity_indices(counts)
            if indices:
                for key, value in indices.items():
                    result[key][locus] = value
        return result if result["index_H_entropy"] else None

    # -- output ----------------------------------------------------------------------------------------------
    def result(self, now: datetime | None = None) -> dict:
        """The fused ``.vidjil`` dict (see the module docstring). Raises ``ValueError`` if no sample was added."""
        if not self._samples:
            raise ValueError("nothing to fuse: no sample added")
        with paused_gc():
            return self._result(now)

    def _result(self, now: datetime | None) -> dict:
        samples = self._samples
        count = len(samples)
        followed = list(dict.fromkeys(clone_id for sample in samples for clone_id in sample.top_clones))
        followed_hashes = np.fromiter(map(hash, followed), dtype=np.int64, count=len(followed))

        # reads / ranks / lengths of every followed clone in every sample (0 / no rank where absent)
        shape = (count, len(followed))
        reads = np.zeros(shape, dtype=np.int64)
        ranks = np.full(shape, np.iinfo(np.int64).max, dtype=np.int64)
        lengths = np.zeros(shape, dtype=np.float64)
        coverages = np.zeros(shape, dtype=np.float64)
        for index, sample in enumerate(samples):
            if not len(sample.hashes) or not followed:
                continue
            position = np.minimum(np.searchsorted(sample.hashes, followed_hashes), len(sample.hashes) - 1)
            found = sample.hashes[position] == followed_hashes
            where = position[found]
            reads[index, found] = sample.reads[where]
            ranks[index, found] = sample.rank[where]
            lengths[index, found] = sample.average_length[where]
            coverages[index, found] = sample.coverage[where]

        best_sample = ranks.argmin(axis=0) if len(followed) else np.zeros(0, dtype=np.int64)
        best_rank = ranks.min(axis=0) if len(followed) else np.zeros(0, dtype=np.int64)
        clone_order = sorted(range(len(followed)), key=lambda j: (int(best_rank[j]), int(best_sample[j]),
                                                                  -int(reads[:, j].sum())))
        clones = [self._fused_clone(followed[j], int(best_sample[j]), int(best_rank[j]), reads[:, j],
                                    lengths[:, j], coverages[:, j]) for j in clone_order]

        loci = sorted({locus for s in samples for locus in s.germline} | {locus for s in samples
                                                                          for locus in s.clone_counts})
        now = now or datetime.now(timezone.utc)
        fused: dict[str, Any] = {
            "vidjil_json_version": VIDJIL_JSON_VERSION,
            "producer": PRODUCER,
            "timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
            "samples": {
                "number": count,
                "original_names": [s.original_name for s in samples],
                "names": [s.info.name for s in samples],
                "order": list(range(count)),
                "stock_order": list(range(count)),
                "producer": [s.producer for s in samples],
                "run_timestamp": [s.run_timestamp for s in samples],
                "timestamp": [s.info.sampling_date or "" for s in samples],
                "commandline": [s.commandline for s in samples],
                "log": [s.log for s in samples],
                "info": [s.info.info or "" for s in samples],
                "id": [s.info.sample_id for s in samples],
                "results_file_id": [s.info.result_id for s in samples],
                "sample_set_id": [s.info.sample_set_id for s in samples],
            },
            "reads": {
                "total": [s.total for s in samples],
                "segmented": [s.segmented for s in samples],
                "germline": {locus: [s.germline.get(locus, 0) for s in samples] for locus in loci},
                "clones": {locus: [s.clone_counts.get(locus, 0) for s in samples] for locus in loci},
                "distribution": self._distributions(),
            },
            "diversity": self._diversity(),
            "overlaps": self.overlaps(),
            "clones": clones,
            "fuse": {"top": self.top, "followed_clones": len(clones),
                     "clones_per_sample": [int(len(s.hashes)) for s in samples],
                     "clone_reads_per_sample": [s.clone_total for s in samples],
                     "min_reads_per_sample": [s.min_reads for s in samples]},
        }
        germlines = next((s.germlines for s in samples if s.germlines), None)
        if germlines:
            fused["germlines"] = germlines
        warnings = [dict(w, sample=index) for index, s in enumerate(samples) for w in s.warn if isinstance(w, dict)]
        if warnings:
            fused["warn"] = warnings
        return fused

    def _fused_clone(self, clone_id: str, best: int, best_rank: int, reads: np.ndarray, lengths: np.ndarray,
                     coverages: np.ndarray) -> dict:
        samples = self._samples
        representative = samples[best].top_clones[clone_id]
        clone = {key: value for key, value in representative.items() if key not in PER_SAMPLE_CLONE_FIELDS}
        clone["id"] = clone_id
        clone["top"] = best_rank
        clone["reads"] = reads.tolist()
        clone["_average_read_length"] = [round(float(v), 1) for v in lengths]
        clone["_coverage"] = [round(float(v), 3) for v in coverages]
        in_top = [s.top_clones.get(clone_id) for s in samples]
        clone["_coverage_info"] = [str(_first(c.get("_coverage_info"), "")) if c else "" for c in in_top]
        if any(c is not None and "normalized_reads" in c for c in in_top):
            clone["normalized_reads"] = [_first(c.get("normalized_reads"), None) if c else None for c in in_top]
        warnings = [dict(w, sample=i) for i, c in enumerate(in_top) if c
                    for w in (c.get("warn") or []) if isinstance(w, dict)]
        names = {c.get("name") for c in in_top if c and c.get("name")}
        if len(names) > 1:
            warnings.append({"code": "W81", "level": "warn",
                             "msg": "Merged clone has different V(D)J designations in some samples"})
        productive = {((c.get("seg") or {}).get("junction") or {}).get("productive") for c in in_top if c}
        productive.discard(None)
        if len(productive) > 1:
            warnings.append({"code": "W82", "level": "warn",
                             "msg": "Merged clone has different productivities in some samples"})
        if warnings:
            clone["warn"] = warnings
        elif "warn" in clone:
            del clone["warn"]
        return clone

    def _diversity(self) -> dict:
        """``{index: [per sample: the file's value (float or {locus: float}) or "na"]}``."""
        result: dict[str, list] = {}
        for key in DIVERSITY_KEYS:
            values = []
            for sample in self._samples:
                diversity = sample.diversity if isinstance(sample.diversity, dict) else {}
                value = diversity.get(key)
                values.append("na" if value is None or value == {} else value)
            result[key] = values
        return result

    def _distributions(self) -> dict[str, list[int]]:
        """Reads of clones by share of segmented reads, per decade (fuse.py ``build_stat``): ratio -> [reads]."""
        thresholds = [10.0 ** -k for k in range(1, 8)]
        result = {repr(t): [0] * len(self._samples) for t in thresholds}
        for index, sample in enumerate(self._samples):
            if sample.segmented <= 0 or not len(sample.reads):
                continue
            shares = sample.reads / sample.segmented
            previous = math.inf
            for threshold in thresholds:
                mask = (shares >= threshold) & (shares < previous)
                result[repr(threshold)][index] = int(sample.reads[mask].sum())
                previous = threshold
        return result

    def overlaps(self) -> dict[str, list[list[float | None]]]:
        """Sample x sample ``{"morisita": M, "jaccard": J}`` over all clones of each sample.

        Morisita-Horn as in :func:`morisita_horn`; Jaccard = shared clones / clones in either sample (clones with
        at least one read). Diagonal 1 for non-empty samples; ``None`` where undefined (an empty sample).
        Only clones present in two or more samples contribute to the cross sums, in dense blocks of bounded size.
        """
        samples = self._samples
        count = len(samples)
        cross = np.zeros((count, count), dtype=np.float64)
        shared = np.zeros((count, count), dtype=np.float64)
        present = [sample.reads > 0 for sample in samples]
        if count > 1:
            hashes = np.concatenate([s.hashes[p] for s, p in zip(samples, present)])
            owners = np.concatenate([np.full(int(p.sum()), i, dtype=np.int64) for i, p in enumerate(present)])
            values = np.concatenate([s.reads[p] for s, p in zip(samples, present)]).astype(np.float64)
            unique, local = np.unique(hashes, return_inverse=True)
            keep = np.bincount(local, minlength=len(unique))[local] >= 2  # clones in two samples or more
            local, owners, values = local[keep], owners[keep], values[keep]
            if len(local):
                _, local = np.unique(local, return_inverse=True)
                order = np.argsort(local, kind="stable")
                local, owners, values = local[order], owners[order], values[order]
                columns = int(local[-1]) + 1
                block = max(1, _OVERLAP_BLOCK_BYTES // (8 * count))
                for start in range(0, columns, block):
                    lo, hi = np.searchsorted(local, [start, start + block])
                    matrix = np.zeros((count, min(block, columns - start)), dtype=np.float64)
                    matrix[owners[lo:hi], local[lo:hi] - start] = values[lo:hi]
                    cross += matrix @ matrix.T
                    binary = (matrix > 0).astype(np.float64)
                    shared += binary @ binary.T
        morisita: list[list[float | None]] = [[None] * count for _ in range(count)]
        jaccard: list[list[float | None]] = [[None] * count for _ in range(count)]
        sizes = [int(p.sum()) for p in present]
        for i in range(count):
            for j in range(count):
                xi, xj = samples[i].clone_total, samples[j].clone_total
                if xi > 0 and xj > 0:
                    if i == j:
                        morisita[i][j] = 1.0
                    else:
                        dominance = samples[i].squares / xi ** 2 + samples[j].squares / xj ** 2
                        morisita[i][j] = round(float(2 * cross[i, j] / (dominance * xi * xj)), 6)
                union = sizes[i] + sizes[j] - (sizes[i] if i == j else shared[i, j])
                if union > 0:
                    jaccard[i][j] = 1.0 if i == j else round(float(shared[i, j] / union), 6)
        return {"morisita": morisita, "jaccard": jaccard}


def fuse(inputs: Iterable[tuple[Mapping[str, Any], SampleInfo]], top: int = DEFAULT_TOP,
         now: datetime | None = None) -> dict:
    """Fuse ``(document, info)`` pairs (in display order) into one ``.vidjil`` dict; see :class:`Fuser`."""
    fuser = Fuser(top=top)
    for document, info in inputs:
        fuser.add(document, info)
    return fuser.result(now=now)


def fuse_sources(sources: Iterable[tuple[Callable[[], bytes], SampleInfo]], top: int = DEFAULT_TOP,
                 now: datetime | None = None) -> dict:
    """Fuse results loaded one at a time: ``sources`` yields ``(load, info)`` where ``load()`` returns the bytes
    of one ``.vidjil`` file (from S3, disk...). Only one parsed document is alive at a time.

    Raises :class:`InvalidResult` naming the sample (``info.name``) whose file is not a valid result.
    """
    fuser = Fuser(top=top)
    with paused_gc():  # for the whole loop: re-enabling between files would scan every object kept so far
        for load, info in sources:
            document = parse_result(load(), source=_describe(info))
            fuser.add(document, info)
            del document
        return fuser.result(now=now)


def _describe(info: SampleInfo) -> str:
    """How errors name an input: ``sample 7 "d30" (result 12)``."""
    words = [f"sample {info.sample_id}" if info.sample_id is not None else "sample"]
    if info.name:
        words.append(json.dumps(info.name, ensure_ascii=False))
    if info.result_id is not None:
        words.append(f"(result {info.result_id})")
    return " ".join(words)


# -- views over a fused result ---------------------------------------------------------------------------------

def mrd_follow_up(fused: Mapping[str, Any]) -> dict:
    """MRD follow-up view data: for the clones of the first (diagnosis) sample, their share in every sample.

    Returns ``{"samples": [{"index", "name", "sample_id", "sampling_date", "segmented", "limit_of_detection"}],
    "clones": [{"id", "name", "germline", "junction_aa", "reads": [...], "shares": [...], "detected": [...]}]}``.
    share = reads / segmented reads of that sample (``None`` if the sample has no segmented read);
    limit_of_detection = 1 / segmented reads (one read), ``None`` when there is none. Clones are those followed
    in the fused result with at least one read in the first sample, largest first.
    """
    samples = fused.get("samples") or {}
    reads_block = fused.get("reads") or {}
    count = int(samples.get("number") or 0)
    segmented = list(reads_block.get("segmented") or [0] * count)

    def per_sample(key: str, index: int, default=None):
        values = samples.get(key) or []
        return values[index] if index < len(values) else default

    view_samples = [{
        "index": i,
        "name": per_sample("names", i, ""),
        "sample_id": per_sample("id", i),
        "sampling_date": per_sample("timestamp", i) or None,
        "segmented": segmented[i] if i < len(segmented) else 0,
        "limit_of_detection": (1.0 / segmented[i]) if i < len(segmented) and segmented[i] else None,
    } for i in range(count)]
    clones = []
    for clone in fused.get("clones") or []:
        reads = list(clone.get("reads") or [])
        if not reads or not reads[0]:
            continue
        shares = [(r / segmented[i]) if i < len(segmented) and segmented[i] else None for i, r in enumerate(reads)]
        clones.append({
            "id": clone.get("id"),
            "name": clone.get("name"),
            "germline": clone.get("germline"),
            "junction_aa": ((clone.get("seg") or {}).get("junction") or {}).get("aa"),
            "reads": reads,
            "shares": shares,
            "detected": [r > 0 for r in reads],
        })
    clones.sort(key=lambda c: -c["reads"][0])
    return {"samples": view_samples, "clones": clones}


def merge_analysis(fused: dict, analysis: Mapping[str, Any] | None) -> dict:
    """Overlay a saved analysis (``.analysis``: clone names/tags, clusters, tags, display settings) on ``fused``.

    As Vidjil's loading rule: analysis values override the fused file, clones and clusters referring to unknown
    ids are ignored. Modifies and returns ``fused``; the analysis is also kept under ``fused["analysis"]``.
    """
    if not analysis:
        return fused
    by_id = {clone.get("id"): clone for clone in fused.get("clones") or []}
    for edit in analysis.get("clones") or []:
        if not isinstance(edit, dict):
            continue
        target = by_id.get(edit.get("id"))
        if target is None:
            continue
        for key in ("name", "tag", "label", "expected", "segEdited", "seg", "germline"):
            if key in edit:
                target[key] = edit[key]
    clusters = [[cid for cid in cluster if cid in by_id] for cluster in analysis.get("clusters") or []
                if isinstance(cluster, list)]
    clusters = [cluster for cluster in clusters if len(cluster) > 1]
    if clusters or "clusters" in analysis:
        fused["clusters"] = clusters
    for key in ("tags", "data"):
        if key in analysis:
            fused[key] = analysis[key]
    fused["analysis"] = dict(analysis)
    return fused
