"""Read simulator with truth, for accuracy tests and benchmarks of the vdj program.

Clones are built from the germline database (vdj.germline), not from a third-party simulator, so the
truth is exact and the simulation fast and controllable:

- clone = V(D)J recombination of one locus: V 3' and J 5' exonuclease deletions (never into the
  Cys104 / Phe-Trp118 anchor codons), D 5'/3' deletions, N insertions, productive (in frame, no stop codon
  in the junction) or unproductive (out of frame or stop codon) with a chosen share; optional somatic
  hypermutation for IG clones (per-clone substitutions in V before Cys104 and in J after Phe/Trp118, shared
  by every read of the clone); a fixed 60-nt pseudo-random "downstream" sequence after each J gene lets
  reads continue past the J end; two clones of a locus differ by >= 3 edits in their junction +-10 nt;
- abundances from a power law (weight of the clone of rank i ~ i^-alpha, reads drawn multinomially);
- reads 150-300 nt (uniform), ending between the J end and the end of the downstream sequence (uniform) and
  starting in V (>= 60 nt of V before Cys104 when the length allows; shorter reads than asked when the
  template is too short); substitution errors (0.5 % per base), optional small indels;
  half of the reads reverse-complemented;
- 5 % background reads (random sequence, V-only germline + random tail, random head + J-only), optional
  reads stopping inside the junction ("truncated") and inter-locus chimeras.

Germline alleles used are restricted to those with a canonical anchor (V: Cys, no stop codon before it;
J: F/W-G-x-G) and deduplicated so that no two genes share the same 3' 200 nt (V) / J sequence / D sequence:
the true gene is decidable from the read.

Deterministic for a given seed and configuration. ``python -m vdj.simulate --help`` for the command line.
Writes FASTQ/FASTA (plain or .gz through dnaio/xopen, isal level 1), a per-read truth TSV and a per-clone
truth TSV (columns in READ_TRUTH_COLUMNS / CLONE_TRUTH_COLUMNS).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vdj.germline import Allele, GermlineSet, load_germlines

READ_TRUTH_COLUMNS = ["read_id", "clone_id", "locus", "v_call", "d_call", "j_call", "junction", "junction_aa",
                      "productive", "strand", "kind", "errors", "indels"]
CLONE_TRUTH_COLUMNS = ["clone_id", "locus", "v_call", "d_call", "j_call", "junction", "junction_aa",
                       "productive", "reads", "reads_truncated", "del_v", "n1", "del_d5", "del_d3", "n2", "del_j",
                       "shm_mutations", "sequence"]
KINDS = ("recombined", "truncated", "chimera", "background_random", "background_v", "background_j")
DEFAULT_LOCI = ("IGH", "IGK", "IGL", "TRA", "TRB", "TRG", "TRD")
VDJ_LOCI = {"IGH": "IGHD", "TRB": "TRBD", "TRD": "TRDD"}
DOWNSTREAM_LENGTH = 60
MIN_V_BEFORE_ANCHOR = 60
MIN_J_AFTER_ANCHOR = 10
#: Bumped when the simulated reads change for a given seed (benchmarks cache their files by it).
SIMULATOR_VERSION = 3
BATCH = 65536

_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {a + b + c: _AMINO[16 * i + 4 * j + k]
               for i, a in enumerate(_BASES) for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def translate(seq: str) -> str:
    """Translation of the complete codons of ``seq`` from its first nucleotide."""
    return "".join(CODON_TABLE.get(seq[i:i + 3], "X") for i in range(0, len(seq) - 2, 3))


def translate_junction(junction: str, j_offset: int) -> str:
    """Junction amino acids, vidjil's convention: in frame, plain translation; out of frame, the part
    from the J start (``j_offset`` in the junction) read in the J frame (backwards from Phe/Trp118),
    the rest in the V frame from Cys104, and the 1-2 left-over nucleotides shown as one '#'."""
    extra = len(junction) % 3
    if extra == 0:
        return translate(junction)
    codons = len(junction) // 3
    right = min(codons, max(0, (len(junction) - j_offset) // 3))
    left = codons - right
    return translate(junction[:3 * left]) + "#" + translate(junction[3 * left + extra:])


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


@dataclass
class SimulationConfig:
    """Parameters of a simulation (defaults = the issue's benchmark file, scaled by ``n_reads``).

    Fractions are of all reads; rates are per base. ``n_clones`` None = 0.14 % of the reads (>= 20: 1,400 clones
    for 1M reads, as the vidjil-algo reference file).
    ``shm_rate``: mean per-clone substitution rate in IG V/J (0 = off); clone rates are uniform in
    [0, 2*shm_rate]. ``productive_fraction``: share of productive clones. ``min_clone_distance``: minimal
    edit distance between the junctions +-10 nt of two clones of a locus (1 = only distinct)."""

    n_reads: int = 100_000
    seed: int = 1
    loci: tuple[str, ...] = DEFAULT_LOCI
    n_clones: int | None = None
    power_law_alpha: float = 1.3
    min_length: int = 150
    max_length: int = 300
    error_rate: float = 0.005
    indel_rate: float = 0.0
    reverse_fraction: float = 0.5
    background_fraction: float = 0.05
    truncated_fraction: float = 0.0
    chimera_fraction: float = 0.0
    shm_rate: float = 0.0
    productive_fraction: float = 0.8
    min_clone_distance: int = 3
    species: str = "homo-sapiens"

    def clone_count(self) -> int:
        return self.n_clones if self.n_clones is not None else max(20, round(self.n_reads * 0.0014))


@dataclass
class Clone:
    """One simulated clone; ``sequence`` is the full template (V ... J + downstream), coding strand.
    ``junction_start``/``junction_end``: 0-based half-open coordinates of the junction in ``sequence``."""

    clone_id: str
    locus: str
    v: Allele
    d: Allele | None
    j: Allele
    sequence: str
    junction_start: int
    junction_end: int
    j_start: int
    v_end: int
    del_v: int
    n1: str
    del_d5: int
    del_d3: int
    n2: str
    del_j: int
    shm_mutations: int = 0
    reads: int = 0
    reads_truncated: int = 0

    @property
    def junction(self) -> str:
        return self.sequence[self.junction_start:self.junction_end]

    @property
    def junction_aa(self) -> str:
        return translate_junction(self.junction, self.j_start - self.junction_start)

    @property
    def productive(self) -> bool:
        return len(self.junction) % 3 == 0 and "*" not in translate(self.junction)

    def truth_row(self) -> dict:
        return {"clone_id": self.clone_id, "locus": self.locus, "v_call": self.v.name,
                "d_call": self.d.name if self.d else "", "j_call": self.j.name, "junction": self.junction,
                "junction_aa": self.junction_aa, "productive": "T" if self.productive else "F",
                "reads": self.reads, "reads_truncated": self.reads_truncated, "del_v": self.del_v,
                "n1": self.n1, "del_d5": self.del_d5, "del_d3": self.del_d3, "n2": self.n2, "del_j": self.del_j,
                "shm_mutations": self.shm_mutations, "sequence": self.sequence}


@dataclass
class SimulationSummary:
    reads: int = 0
    clones: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    clones_with_5_reads: int = 0
    seconds: float = 0.0


# --- germline pools --------------------------------------------------------------------------------

def _v_usable(allele: Allele) -> bool:
    a = allele.anchor
    if a is None or allele.sequence[a:a + 3] not in ("TGT", "TGC") or a < 150 or "N" in allele.sequence:
        return False
    return "*" not in translate(allele.sequence[a % 3:a])


def _j_usable(allele: Allele) -> bool:
    a = allele.anchor
    s = allele.sequence
    if a is None or "N" in s or len(s) - a < 3 + MIN_J_AFTER_ANCHOR:
        return False
    aa = translate(s[a:a + 12])
    return aa[:1] in ("F", "W") and aa[1:2] == "G" and aa[3:4] == "G" and "*" not in translate(s[a % 3:])


def _dedupe_by_gene(alleles: list[Allele], key) -> list[Allele]:
    """Keep alleles so that no two *genes* share the same ``key(allele)`` (first gene seen wins)."""
    owner: dict[str, str] = {}
    kept = []
    for allele in alleles:
        k = key(allele)
        if owner.setdefault(k, allele.gene) == allele.gene:
            kept.append(allele)
    return kept


@dataclass
class _LocusPool:
    locus: str
    v: list[Allele]
    d: list[Allele]
    j: list[Allele]


def germline_pools(germlines: GermlineSet, loci: tuple[str, ...]) -> dict[str, _LocusPool]:
    """V/D/J alleles usable for simulation per locus (see module docstring). Raises ValueError when a
    requested locus has no usable V or J."""
    all_alleles = germlines.all_alleles
    pools = {}
    for locus in loci:
        v = [a for a in all_alleles if a.locus == locus and a.segment == "V" and _v_usable(a)]
        j = [a for a in all_alleles if a.locus == locus and a.segment == "J" and _j_usable(a)]
        d = [a for a in all_alleles if a.locus == locus and a.segment == "D" and len(a.sequence) >= 8]
        v = _dedupe_by_gene(v, lambda a: a.sequence[max(0, a.anchor + 3 - 200):a.anchor + 3])
        j = _dedupe_by_gene(j, lambda a: a.sequence)
        d = _dedupe_by_gene(d, lambda a: a.sequence)
        if not v or not j:
            raise ValueError(f"no usable V/J alleles for locus {locus} in the germline database")
        pools[locus] = _LocusPool(locus, v, d if locus in VDJ_LOCI else [], j)
    return pools


def _downstream(j: Allele) -> str:
    """Fixed pseudo-random 60 nt after a J gene (same for every seed): reads may continue past J."""
    digest = hashlib.sha256(("downstream:" + j.name).encode()).digest()
    rng = random.Random(digest)
    return "".join(rng.choice("ACGT") for _ in range(DOWNSTREAM_LENGTH))


# --- clones ----------------------------------------------------------------------------------------

def _geometric(rng: random.Random, mean: float, cap: int) -> int:
    if mean <= 0:
        return 0
    p = 1.0 / (mean + 1.0)
    value = int(math.log(1.0 - rng.random()) / math.log(1.0 - p))
    return min(value, cap)


def _random_nt(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


def _mutate(rng: random.Random, seq: str, start: int, stop: int, rate: float) -> tuple[str, int]:
    if rate <= 0 or stop <= start:
        return seq, 0
    chars = list(seq)
    count = 0
    for pos in range(start, stop):
        if rng.random() < rate:
            chars[pos] = rng.choice([b for b in "ACGT" if b != chars[pos]])
            count += 1
    return "".join(chars), count


def _recombine(rng: random.Random, pool: _LocusPool, want_productive: bool, shm_rate: float,
               clone_id: str) -> Clone | None:
    v = rng.choice(pool.v)
    j = rng.choice(pool.j)
    d = None
    if pool.d:
        candidates = pool.d
        if pool.locus == "TRB" and j.name.startswith("TRBJ2"):
            candidates = [x for x in pool.d if x.name.startswith("TRBD2")] or pool.d
        elif pool.locus == "TRB":
            candidates = [x for x in pool.d if x.name.startswith("TRBD1")] or pool.d
        d = rng.choice(candidates)
    max_del_v = len(v.sequence) - (v.anchor + 3)
    max_del_j = j.anchor
    del_v = min(_geometric(rng, 3.0, 14), max_del_v)
    del_j = min(_geometric(rng, 4.0, 14), max_del_j)
    vdj = d is not None
    n1 = _random_nt(rng, _geometric(rng, 5.0 if vdj else 3.0, 20))
    n2 = ""
    d_part = ""
    del_d5 = del_d3 = 0
    if vdj:
        n2 = _random_nt(rng, _geometric(rng, 5.0, 20))
        keep_min = min(4, len(d.sequence))
        del_d5 = min(_geometric(rng, 3.0, 10), len(d.sequence) - keep_min)
        del_d3 = min(_geometric(rng, 3.0, 10), len(d.sequence) - keep_min - del_d5)
        d_part = d.sequence[del_d5:len(d.sequence) - del_d3]
    v_used = v.sequence[:len(v.sequence) - del_v]
    j_used = j.sequence[del_j:]
    junction_len = (len(v_used) - v.anchor) + len(n1) + len(d_part) + len(n2) + (j.anchor + 3 - del_j)
    # adjust N to reach the wanted frame (productive = in frame; unproductive = mostly out of frame)
    in_frame = junction_len % 3 == 0
    if want_productive and not in_frame:
        n1 += _random_nt(rng, 3 - junction_len % 3)
    elif not want_productive and in_frame and rng.random() < 0.8:
        n1 += _random_nt(rng, rng.choice((1, 2)))
    shm = 0
    if shm_rate > 0 and pool.locus.startswith("IG"):
        rate = rng.uniform(0, 2 * shm_rate)
        v_used, m1 = _mutate(rng, v_used, 0, v.anchor, rate)
        j_tail_start = j.anchor + 3 - del_j
        j_used, m2 = _mutate(rng, j_used, j_tail_start, len(j_used), rate)
        shm = m1 + m2
    sequence = v_used + n1 + d_part + n2 + j_used + _downstream(j)
    j_start = len(v_used) + len(n1) + len(d_part) + len(n2)
    clone = Clone(clone_id=clone_id, locus=pool.locus, v=v, d=d, j=j, sequence=sequence,
                  junction_start=v.anchor, junction_end=j_start + j.anchor + 3 - del_j, j_start=j_start,
                  v_end=len(v_used), del_v=del_v, n1=n1, del_d5=del_d5, del_d3=del_d3, n2=n2, del_j=del_j,
                  shm_mutations=shm)
    if clone.productive != want_productive:
        return None
    return clone


def _clone_key_region(clone: Clone) -> str:
    """The junction with 10 nt of V before and 10 nt of J/downstream after: what tells clones apart."""
    return clone.sequence[max(0, clone.junction_start - 10):clone.junction_end + 10]


def make_clones(pools: dict[str, _LocusPool], config: SimulationConfig, rng: random.Random) -> list[Clone]:
    """``config.clone_count()`` clones, loci in round-robin order (half of the draws) or at random.

    Two clones of a locus differ by at least ``config.min_clone_distance`` edits in their junction +-10 nt
    (so a sequencing error cannot turn one into another, and "true clones" are distinguishable)."""
    import edlib

    clones: list[Clone] = []
    regions: dict[str, list[str]] = {}
    loci = list(pools)
    width = max(5, len(str(config.clone_count())))
    attempts = 0
    limit = max(0, config.min_clone_distance - 1)
    while len(clones) < config.clone_count():
        attempts += 1
        if attempts > 200 * config.clone_count() + 1000:
            raise RuntimeError("cannot generate enough distinct clones")
        locus = loci[len(clones) % len(loci)] if rng.random() < 0.5 else rng.choice(loci)
        productive = rng.random() < config.productive_fraction
        clone = _recombine(rng, pools[locus], productive, config.shm_rate,
                           f"clone{len(clones) + 1:0{width}d}")
        if clone is None or len(clone.junction) < 6:
            continue
        region = _clone_key_region(clone)
        known = regions.setdefault(clone.locus, [])
        if region in known or (limit and any(edlib.align(region, other, k=limit)["editDistance"] >= 0
                                             for other in known)):
            continue
        known.append(region)
        clones.append(clone)
    return clones


# --- reads -----------------------------------------------------------------------------------------

def _kind_counts(config: SimulationConfig) -> dict[str, int]:
    n = config.n_reads
    background = round(n * config.background_fraction)
    truncated = round(n * config.truncated_fraction)
    chimera = round(n * config.chimera_fraction)
    bg_random = background // 3
    bg_v = (background - bg_random) // 2
    bg_j = background - bg_random - bg_v
    recombined = n - background - truncated - chimera
    if recombined < 0:
        raise ValueError("fractions of background/truncated/chimera reads exceed 1")
    return {"recombined": recombined, "truncated": truncated, "chimera": chimera,
            "background_random": bg_random, "background_v": bg_v, "background_j": bg_j}


class Simulation:
    """Iterates over batches of simulated reads and their truth, for ``config``.

    Usage: ``sim = Simulation(config, germlines)``; ``sim.clones``; ``for names, seqs, truth in
    sim.batches(): ...`` (truth rows are dicts with READ_TRUTH_COLUMNS); then ``sim.clones`` carry read
    counts. Germlines default to ``load_germlines("multi", config.species)``."""

    def __init__(self, config: SimulationConfig, germlines: GermlineSet | None = None):
        if config.min_length < 30 or config.max_length < config.min_length:
            raise ValueError("read lengths must satisfy 30 <= min_length <= max_length")
        self.config = config
        self.germlines = germlines or load_germlines("multi", config.species)
        self.pools = germline_pools(self.germlines, tuple(config.loci))
        self.rng = random.Random(config.seed)
        self.np_rng = np.random.Generator(np.random.PCG64(config.seed))
        self.clones = make_clones(self.pools, config, self.rng)
        self.kinds = _kind_counts(config)
        self._all_v = [a for p in self.pools.values() for a in p.v]
        self._all_j = [a for p in self.pools.values() for a in p.j]

    def _plan(self) -> tuple[np.ndarray, np.ndarray]:
        """Per read: kind index (KINDS) and clone index (-1 for none), in shuffled order."""
        cfg, rng = self.config, self.np_rng
        n_clones = len(self.clones)
        weights = np.arange(1, n_clones + 1, dtype=np.float64) ** (-cfg.power_law_alpha)
        weights /= weights.sum()
        recombined = rng.multinomial(self.kinds["recombined"], weights)
        truncated = rng.multinomial(self.kinds["truncated"], weights) if self.kinds["truncated"] else \
            np.zeros(n_clones, dtype=np.int64)
        for clone, count, tcount in zip(self.clones, recombined, truncated):
            clone.reads = int(count)
            clone.reads_truncated = int(tcount)
        kinds = [np.full(self.kinds["recombined"], 0, np.int8), np.full(self.kinds["truncated"], 1, np.int8)]
        clone_idx = [np.repeat(np.arange(n_clones), recombined), np.repeat(np.arange(n_clones), truncated)]
        for k, name in enumerate(KINDS[2:], start=2):
            kinds.append(np.full(self.kinds[name], k, np.int8))
            clone_idx.append(np.full(self.kinds[name], -1, np.int64))
        kind_arr = np.concatenate(kinds)
        clone_arr = np.concatenate(clone_idx)
        order = rng.permutation(len(kind_arr))
        return kind_arr[order], clone_arr[order]

    def batches(self):
        """Yield (names, sequences, truth rows) batches of at most BATCH reads, in read order."""
        cfg = self.config
        kind_arr, clone_arr = self._plan()
        n = len(kind_arr)
        width = len(str(n))
        lengths_all = self.np_rng.integers(cfg.min_length, cfg.max_length + 1, n)
        reverse_all = self.np_rng.random(n) < cfg.reverse_fraction
        frac_all = self.np_rng.random(n)
        # per-clone geometry
        tlen = np.array([len(c.sequence) for c in self.clones], dtype=np.int64)
        v_anchor = np.array([c.junction_start for c in self.clones], dtype=np.int64)
        j_end = np.array([c.junction_end for c in self.clones], dtype=np.int64)
        j_gene_end = np.array([c.j_start + len(c.j.sequence) - c.del_j for c in self.clones], dtype=np.int64)
        truth_static = [{"clone_id": c.clone_id, "locus": c.locus, "v_call": c.v.name,
                         "d_call": c.d.name if c.d else "", "j_call": c.j.name, "junction": c.junction,
                         "junction_aa": c.junction_aa, "productive": "T" if c.productive else "F"}
                        for c in self.clones]
        empty = {"clone_id": "", "locus": "", "v_call": "", "d_call": "", "j_call": "", "junction": "",
                 "junction_aa": "", "productive": ""}
        for start in range(0, n, BATCH):
            stop = min(n, start + BATCH)
            kinds = kind_arr[start:stop]
            cidx = clone_arr[start:stop]
            lengths = lengths_all[start:stop]
            frac = frac_all[start:stop]
            # recombined reads: end uniform in [J end, min(template end, V anchor - 60 + L)]
            safe = np.where(cidx >= 0, cidx, 0)
            lo = j_gene_end[safe]
            hi = np.minimum(tlen[safe], v_anchor[safe] - MIN_V_BEFORE_ANCHOR + lengths)
            hi = np.maximum(hi, lo)
            ends_rec = lo + np.floor(frac * (hi - lo + 1)).astype(np.int64)
            # truncated reads: end inside the junction
            lo_t = v_anchor[safe] + 6
            hi_t = np.maximum(j_end[safe] - 3, lo_t)
            ends_trunc = lo_t + np.floor(frac * (hi_t - lo_t + 1)).astype(np.int64)
            ends = np.where(kinds == 1, ends_trunc, ends_rec)
            starts = np.maximum(0, ends - lengths)
            seqs: list[str] = []
            truth: list[dict] = []
            py_rng = self.rng
            for i in range(stop - start):
                kind = int(kinds[i])
                length = int(lengths[i])
                if kind <= 1:
                    clone = self.clones[int(cidx[i])]
                    seqs.append(clone.sequence[int(starts[i]):int(ends[i])])
                    truth.append(truth_static[int(cidx[i])])
                elif kind == 2:
                    seq, row = self._chimera(py_rng, length)
                    seqs.append(seq)
                    truth.append(row)
                elif kind == 3:
                    seqs.append(_random_nt(py_rng, length))
                    truth.append(empty)
                elif kind == 4:
                    v = py_rng.choice(self._all_v)
                    s = py_rng.randrange(0, max(1, len(v.sequence) - length // 2))
                    body = v.sequence[s:s + length]
                    seqs.append(body + _random_nt(py_rng, length - len(body)))
                    truth.append(dict(empty, v_call=v.name))
                else:
                    j = py_rng.choice(self._all_j)
                    tail = j.sequence + _downstream(j)
                    seqs.append(_random_nt(py_rng, max(0, length - len(tail))) + tail[:length])
                    truth.append(dict(empty, j_call=j.name))
            indels = self._indels(seqs, lengths) if cfg.indel_rate > 0 else np.zeros(len(seqs), np.int64)
            seqs, errors = self._substitutions(seqs)
            reverse = reverse_all[start:stop]
            names = [f"read{start + i + 1:0{width}d}" for i in range(stop - start)]
            rows = []
            for i in range(stop - start):
                if reverse[i]:
                    seqs[i] = reverse_complement(seqs[i])
                row = dict(truth[i])
                row["read_id"] = names[i]
                row["strand"] = "-" if reverse[i] else "+"
                row["kind"] = KINDS[int(kinds[i])]
                row["errors"] = int(errors[i])
                row["indels"] = int(indels[i])
                rows.append(row)
            yield names, seqs, rows

    def _chimera(self, rng: random.Random, length: int) -> tuple[str, dict]:
        """5' part (V + N) of one clone joined to the 3' part (J + downstream) of a clone of another locus."""
        a = rng.choice(self.clones)
        # TRD V + TRA J is a real recombination (system TRA+D): never pair TRA with TRD
        close = {"TRA", "TRD"} if a.locus in ("TRA", "TRD") else {a.locus}
        others = [c for c in self.clones if c.locus not in close] or self.clones
        b = rng.choice(others)
        left = a.sequence[:a.j_start]
        right = b.sequence[b.j_start:]
        cut = max(0, len(left) - max(length - len(right), length // 2))
        seq = (left[cut:] + right)[:length]
        row = {"clone_id": "", "locus": "", "v_call": a.v.name, "d_call": "", "j_call": b.j.name,
               "junction": "", "junction_aa": "", "productive": ""}
        return seq, row

    def _indels(self, seqs: list[str], lengths: np.ndarray) -> np.ndarray:
        counts = self.np_rng.poisson(self.config.indel_rate * lengths.astype(np.float64))
        rng = self.rng
        for i in np.nonzero(counts)[0]:
            seq = seqs[i]
            for _ in range(int(counts[i])):
                pos = rng.randrange(1, max(2, len(seq) - 1))
                size = rng.choice((1, 1, 1, 2, 3))
                seq = seq[:pos] + _random_nt(rng, size) + seq[pos:] if rng.random() < 0.5 \
                    else seq[:pos] + seq[pos + size:]
            seqs[i] = seq
        return counts

    def _substitutions(self, seqs: list[str]) -> tuple[list[str], np.ndarray]:
        """Apply uniform substitution errors to every base at ``error_rate`` (vectorised)."""
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        if self.config.error_rate <= 0 or not seqs:
            return seqs, np.zeros(len(seqs), np.int64)
        buffer = np.frombuffer(bytearray("".join(seqs).encode("ascii")), dtype=np.uint8).copy()
        total = buffer.size
        n_err = self.np_rng.binomial(total, self.config.error_rate)
        positions = np.unique(self.np_rng.integers(0, total, n_err))
        codes = np.frombuffer(b"ACGT", dtype=np.uint8)
        lookup = np.zeros(256, dtype=np.int64)
        lookup[codes] = np.arange(4)
        shift = self.np_rng.integers(1, 4, positions.size)
        buffer[positions] = codes[(lookup[buffer[positions]] + shift) % 4]
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        errors = np.bincount(np.searchsorted(offsets, positions, side="right") - 1, minlength=len(seqs))
        text = buffer.tobytes().decode("ascii")
        out = [text[offsets[i]:offsets[i + 1]] for i in range(len(seqs))]
        return out, errors


# --- writing ---------------------------------------------------------------------------------------

def _is_fasta(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".fa", ".fasta", ".fna"))


def simulate(config: SimulationConfig, reads_path: str | Path, truth_path: str | Path | None = None,
             clones_path: str | Path | None = None, germlines: GermlineSet | None = None,
             threads: int = 0) -> SimulationSummary:
    """Simulate ``config.n_reads`` reads into ``reads_path`` (FASTQ, or FASTA for .fa/.fasta; .gz compressed
    at level 1 with isal/xopen, ``threads`` compression threads) with per-read truth (``truth_path``, TSV,
    READ_TRUTH_COLUMNS; .gz allowed) and per-clone truth (``clones_path``, CLONE_TRUTH_COLUMNS, sorted by
    reads). Returns a summary. Raises GermlineNotBuiltError when the germline database is missing."""
    import dnaio
    import xopen

    began = time.perf_counter()
    sim = Simulation(config, germlines)
    reads_path = Path(reads_path)
    for path in (reads_path, truth_path, clones_path):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    fasta = _is_fasta(reads_path)
    summary = SimulationSummary(kinds=dict(sim.kinds))
    truth_handle = xopen.xopen(truth_path, "w", compresslevel=1, threads=0) if truth_path else None
    quality = "I" * (config.max_length + 64)
    try:
        if truth_handle:
            truth_handle.write("\t".join(READ_TRUTH_COLUMNS) + "\n")
        with dnaio.open(reads_path, mode="w", fileformat="fasta" if fasta else "fastq",
                        compression_level=1, open_threads=threads) as writer:
            for names, seqs, rows in sim.batches():
                if fasta:
                    for name, seq in zip(names, seqs):
                        writer.write(dnaio.SequenceRecord(name, seq))
                else:
                    for name, seq in zip(names, seqs):
                        writer.write(dnaio.SequenceRecord(name, seq, quality[:len(seq)]))
                if truth_handle:
                    truth_handle.write("".join("\t".join(str(row[c]) for c in READ_TRUTH_COLUMNS) + "\n"
                                               for row in rows))
                summary.reads += len(seqs)
    finally:
        if truth_handle:
            truth_handle.close()
    if clones_path:
        write_clone_truth(sim.clones, clones_path)
    summary.clones = len(sim.clones)
    summary.clones_with_5_reads = sum(c.reads >= 5 for c in sim.clones)
    summary.seconds = time.perf_counter() - began
    return summary


def write_clone_truth(clones: list[Clone], path: str | Path) -> None:
    """Clone truth TSV (CLONE_TRUTH_COLUMNS), most reads first."""
    import xopen

    with xopen.xopen(path, "w", compresslevel=1, threads=0) as handle:
        handle.write("\t".join(CLONE_TRUTH_COLUMNS) + "\n")
        for clone in sorted(clones, key=lambda c: (-c.reads, c.clone_id)):
            row = clone.truth_row()
            handle.write("\t".join(str(row[c]) for c in CLONE_TRUTH_COLUMNS) + "\n")


def read_tsv(path: str | Path) -> list[dict]:
    """Rows of a truth TSV (plain or .gz) as dicts of strings."""
    import xopen

    with xopen.xopen(path, "r") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


# --- evaluation against the truth ----------------------------------------------------------------

def _read_index(read_id: str) -> int:
    return int(read_id[4:]) - 1  # "read0000123" -> 122


def _normalise_locus(value: str) -> str:
    """System or locus name -> AIRR locus: "TRA+D" -> "TRA", "IGH+" -> "IGH"."""
    return value.strip().upper()[:3] if value else ""


def _gene(call: str | None) -> str:
    first = (call or "").split(",")[0].strip()
    return first.split("*")[0]


def _bool(value) -> bool | None:
    text = str(value).strip().lower()
    if text in ("t", "true", "1", "yes"):
        return True
    if text in ("f", "false", "0", "no"):
        return False
    return None


def evaluate(truth_path: str | Path, clones_path: str | Path, assignments_path: str | Path,
             airr_path: str | Path | None = None, top: int = 100, attribution_min_reads: int = 20) -> dict:
    """Compare a vdj run with the simulation truth.

    ``assignments_path``: the run's ``--read-assignments`` TSV (``read_id clone_id locus status``, status
    ``SEG`` when detected); ``airr_path``: the run's AIRR TSV (one row per reported clone, ``sequence_id`` =
    clone id). Returns a dict of figures (fractions in 0..1):
    detection (recombined reads detected), locus_right (among them), background_detected (+ per kind),
    truncated/chimera detected, reported_clones_5 vs true_clones_5 (and their ratio),
    attribution_min/mean (share of each true clone's reads in its majority reported clone, clones with
    >= ``attribution_min_reads`` reads), abundance_ratio_mean, top-N overlap, junction/productive/V/J right
    in the top N, V and J gene right over all designated reported clones."""
    import xopen

    kind_code = {k: i for i, k in enumerate(KINDS)}
    clone_rows = read_tsv(clones_path)
    clone_index = {row["clone_id"]: i for i, row in enumerate(clone_rows)}
    true_reads = np.array([int(row["reads"]) for row in clone_rows], dtype=np.int64)
    kinds, true_clone, true_locus = [], [], []
    with xopen.xopen(truth_path, "r") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        ck, cc, cl = col["kind"], col["clone_id"], col["locus"]
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            kinds.append(kind_code[parts[ck]])
            true_clone.append(clone_index.get(parts[cc], -1))
            true_locus.append(parts[cl])
    n = len(kinds)
    kinds = np.array(kinds, dtype=np.int8)
    true_clone = np.array(true_clone, dtype=np.int64)
    detected = np.zeros(n, dtype=bool)
    assigned = np.full(n, -1, dtype=np.int64)
    locus_right = np.zeros(n, dtype=bool)
    reported_ids: dict[str, int] = {}
    statuses: dict[str, int] = {}
    with xopen.xopen(assignments_path, "r") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4 or parts[0] == "read_id":
                continue
            i = _read_index(parts[0].split()[0])
            status = parts[3]
            statuses[status] = statuses.get(status, 0) + 1
            if status == "SEG":
                detected[i] = True
                if parts[1]:
                    assigned[i] = reported_ids.setdefault(parts[1], len(reported_ids))
                locus_right[i] = _normalise_locus(parts[2]) == true_locus[i]
    rec = kinds == kind_code["recombined"]
    background = kinds >= kind_code["background_random"]
    out: dict = {"reads": n, "recombined_reads": int(rec.sum()), "statuses": statuses}
    out["detection"] = float(detected[rec].mean()) if rec.any() else 0.0
    out["locus_right"] = float(locus_right[rec & detected].mean()) if (rec & detected).any() else 0.0
    out["background_detected"] = float(detected[background].mean()) if background.any() else 0.0
    for name in KINDS[1:]:
        mask = kinds == kind_code[name]
        if mask.any():
            out[f"{name}_detected"] = float(detected[mask].mean())
    # reported clone sizes (from the assignments) and majority true clone of each reported clone
    n_rep = len(reported_ids)
    rep_size = np.bincount(assigned[assigned >= 0], minlength=n_rep)
    pair_mask = rec & (assigned >= 0)
    pairs = true_clone[pair_mask] * (n_rep + 1) + assigned[pair_mask]
    keys, counts = np.unique(pairs, return_counts=True)
    pair_true, pair_rep = keys // (n_rep + 1), keys % (n_rep + 1)
    majority_rep = np.full(len(clone_rows), -1, dtype=np.int64)
    majority_rep_count = np.zeros(len(clone_rows), dtype=np.int64)
    majority_true = np.full(n_rep, -1, dtype=np.int64)
    majority_true_count = np.zeros(n_rep, dtype=np.int64)
    for t, r, c in zip(pair_true.tolist(), pair_rep.tolist(), counts.tolist()):
        if c > majority_rep_count[t]:
            majority_rep_count[t], majority_rep[t] = c, r
        if c > majority_true_count[r]:
            majority_true_count[r], majority_true[r] = c, t
    big = np.nonzero(true_reads >= attribution_min_reads)[0]
    if big.size:
        share = majority_rep_count[big] / true_reads[big]
        abundance = np.where(majority_rep[big] >= 0, rep_size[np.maximum(majority_rep[big], 0)], 0) / true_reads[big]
        worst = int(big[np.argmin(share)])
        out.update(attribution_min=float(share.min()), attribution_mean=float(share.mean()),
                   attribution_clones=int(big.size), attribution_worst_clone=clone_rows[worst]["clone_id"],
                   abundance_ratio_mean=float(abundance.mean()),
                   clones_attributed_97=float((share >= 0.97).mean()))
    out["true_clones_5"] = int((true_reads >= 5).sum())
    out["reported_windows"] = n_rep
    out["reported_windows_5_from_assignments"] = int((rep_size >= 5).sum())
    # AIRR rows: reported clones with their designation
    rows = []
    if airr_path and Path(airr_path).exists():
        rows = read_tsv(airr_path)
    out["reported_clones"] = len(rows)
    counts_airr = [int(float(r.get("duplicate_count") or 0)) for r in rows]
    out["reported_clones_5"] = sum(c >= 5 for c in counts_airr) if rows else out["reported_windows_5_from_assignments"]
    out["clones_5_ratio"] = out["reported_clones_5"] / out["true_clones_5"] if out["true_clones_5"] else 0.0
    order = sorted(range(len(rows)), key=lambda i: -counts_airr[i])
    top_rows = [rows[i] for i in order[:top]]
    true_top = set(np.argsort(-true_reads, kind="stable")[:top].tolist())
    mapped, junction_ok, productive_ok, v_ok, j_ok, unmapped = [], 0, 0, 0, 0, 0
    for row in top_rows:
        r = reported_ids.get(row.get("sequence_id", ""), -1)
        t = int(majority_true[r]) if r >= 0 else -1
        if t < 0:
            unmapped += 1
            continue
        mapped.append(t)
        truth = clone_rows[t]
        junction_ok += (row.get("junction") or "").upper() == truth["junction"]
        productive_ok += _bool(row.get("productive")) == (truth["productive"] == "T")
        v_ok += _gene(row.get("v_call")) == _gene(truth["v_call"])
        j_ok += _gene(row.get("j_call")) == _gene(truth["j_call"])
    size = max(1, len(top_rows))
    out.update(top_n=len(top_rows), top_overlap=len(set(mapped) & true_top), top_unmapped=unmapped,
               top_duplicates=len(mapped) - len(set(mapped)), top_junction_right=junction_ok / size,
               top_productive_right=productive_ok / size, top_v_right=v_ok / size, top_j_right=j_ok / size,
               top_missing_true_ranks=sorted(int(np.sum(true_reads > true_reads[t])) + 1
                                             for t in true_top - set(mapped))[:20])
    designated = v_total = v_right = j_right = 0
    for row in rows:
        r = reported_ids.get(row.get("sequence_id", ""), -1)
        t = int(majority_true[r]) if r >= 0 else -1
        if t < 0 or not row.get("v_call"):
            continue
        designated += 1
        v_right += _gene(row.get("v_call")) == _gene(clone_rows[t]["v_call"])
        j_right += _gene(row.get("j_call")) == _gene(clone_rows[t]["j_call"])
    v_total = designated
    out.update(designated_clones=designated, v_right=v_right / v_total if v_total else 0.0,
               j_right=j_right / v_total if v_total else 0.0)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m vdj.simulate -n N -o reads.fastq.gz [--truth T.tsv] [--clones C.tsv] ...``"""
    defaults = SimulationConfig()
    parser = argparse.ArgumentParser(prog="python -m vdj.simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--reads", type=int, default=defaults.n_reads, help="number of reads")
    parser.add_argument("-o", "--output", required=True, help="FASTQ/FASTA output (.gz allowed)")
    parser.add_argument("--truth", help="per-read truth TSV")
    parser.add_argument("--clones", help="per-clone truth TSV")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--loci", default=",".join(defaults.loci), help="comma list (default: 7 human loci)")
    parser.add_argument("--n-clones", type=int, help="number of clones (default 0.14%% of reads, >= 20)")
    parser.add_argument("--alpha", type=float, default=defaults.power_law_alpha, help="power-law exponent")
    parser.add_argument("--min-length", type=int, default=defaults.min_length)
    parser.add_argument("--max-length", type=int, default=defaults.max_length)
    parser.add_argument("--error-rate", type=float, default=defaults.error_rate)
    parser.add_argument("--indel-rate", type=float, default=defaults.indel_rate)
    parser.add_argument("--reverse", type=float, default=defaults.reverse_fraction)
    parser.add_argument("--background", type=float, default=defaults.background_fraction)
    parser.add_argument("--truncated", type=float, default=defaults.truncated_fraction)
    parser.add_argument("--chimera", type=float, default=defaults.chimera_fraction)
    parser.add_argument("--shm", type=float, default=defaults.shm_rate, help="mean IG SHM rate (0 = off)")
    parser.add_argument("--productive", type=float, default=defaults.productive_fraction)
    parser.add_argument("--min-clone-distance", type=int, default=defaults.min_clone_distance,
                        help="minimal edits between two clones' junctions +-10 nt (default 3)")
    parser.add_argument("--species", default=defaults.species)
    parser.add_argument("--threads", type=int, default=0, help="compression threads for .gz output")
    args = parser.parse_args(argv)
    config = SimulationConfig(
        n_reads=args.reads, seed=args.seed, loci=tuple(x.strip() for x in args.loci.split(",") if x.strip()),
        n_clones=args.n_clones, power_law_alpha=args.alpha, min_length=args.min_length,
        max_length=args.max_length, error_rate=args.error_rate, indel_rate=args.indel_rate,
        reverse_fraction=args.reverse, background_fraction=args.background, truncated_fraction=args.truncated,
        chimera_fraction=args.chimera, shm_rate=args.shm, productive_fraction=args.productive,
        min_clone_distance=args.min_clone_distance,
        species=args.species)
    try:
        summary = simulate(config, args.output, args.truth, args.clones, threads=args.threads)
    except Exception as exc:  # a clear one-line error for the command line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{summary.reads} reads, {summary.clones} clones ({summary.clones_with_5_reads} with >= 5 reads), "
          f"kinds {summary.kinds}, {summary.seconds:.1f} s -> {args.output}")
    return 0


__all__ = [
    "SimulationConfig", "Simulation", "Clone", "simulate", "make_clones", "germline_pools", "read_tsv",
    "write_clone_truth", "evaluate", "READ_TRUTH_COLUMNS", "CLONE_TRUTH_COLUMNS", "KINDS", "translate", "translate_junction",
    "reverse_complement",
]

if __name__ == "__main__":
    sys.exit(main())
