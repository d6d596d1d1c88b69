"""Spaced-seed k-mer index of the germline V (5') and J (3') sequences of every system.

Method: Giraud, Salson et al., BMC Genomics 2014, 15:409 (vidjil-algo) index every spaced k-mer
of the 5' and 3' germline sequences of each system, on both strands, and label each read position
by the germline it hits. We keep one *dense* table for all systems at once: the seed's 2-bit key
(4**weight entries, weight 12 -> 16.7 M) gives in one memory access

* which (system, side, strand) labels the k-mer belongs to (an index into a small table of 64-bit
  label masks: label = 4 * system + 2 * side + strand, side 0 = 5'/V, 1 = 3'/J, strand 0 = +),
* the k-mer's offset to the *reference point* of its gene (``delta``), when all germline
  occurrences of the k-mer agree on it: the first nucleotide of the Cys104 codon for an anchored
  V, the nucleotide after the Phe/Trp118 codon for an anchored J (so reference 5' .. reference 3'
  is exactly the IMGT JUNCTION), the end of the sequence for an un-anchored 5' segment (D, intron)
  and its start for an un-anchored 3' segment (KDE, D3). A read's k-mer at position p with offset
  delta puts the reference point at ``p - delta``, which positions the junction from the germline
  itself rather than from where matching stops (stable under somatic hypermutation).

Table value: ``mask_index | (delta + DELTA_BIAS) << MASK_BITS``; 0 = no hit; delta field 0 = no delta.
The built index is cached as ``.npz`` keyed by a hash of the germline sequences and the seed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_SEED = "#####-#####"
DELTA_BIAS = 1 << 19
MASK_BITS = 12
MASK_LIMIT = (1 << MASK_BITS) - 1
MAX_SYSTEMS = 16
INDEX_FORMAT_VERSION = 3

# 2-bit codes of nucleotides; anything else (N, IUPAC, '-') -> 4.
NUCLEOTIDE_CODE = np.full(256, 4, dtype=np.uint8)
for _letters, _code in (("Aa", 0), ("Cc", 1), ("Gg", 2), ("TtUu", 3)):
    for _letter in _letters:
        NUCLEOTIDE_CODE[ord(_letter)] = _code

_COMPLEMENT = str.maketrans("ACGTUNacgtunRYKMSWBDHVrykmswbdhv", "TGCAANtgcaanYRMKSWVHDByrmkswvhdb")


def reverse_complement(sequence: str) -> str:
    """Reverse complement of a nucleotide string (case kept, IUPAC codes complemented)."""
    return sequence.translate(_COMPLEMENT)[::-1]


@dataclass(frozen=True)
class Seed:
    """A spaced seed such as ``######-######`` ('#' = used position, '-' = ignored).

    ``span`` is the number of read nucleotides covered, ``weight`` the number used (the key has
    2 * weight bits), ``blocks`` the (start, length) of each run of '#'.
    """

    shape: str

    def __post_init__(self) -> None:
        if not self.shape or set(self.shape) - {"#", "-"} or self.shape[0] != "#" or self.shape[-1] != "#":
            raise ValueError(f"invalid seed {self.shape!r}: use '#' and '-', starting and ending with '#'")
        if not 6 <= self.weight <= 13:
            raise ValueError(f"seed weight {self.weight} out of range 6..13")

    @property
    def span(self) -> int:
        return len(self.shape)

    @property
    def weight(self) -> int:
        return self.shape.count("#")

    @property
    def blocks(self) -> np.ndarray:
        """int64[n_blocks, 3]: for each run of '#', (right shift, mask, bits) extracting it from the
        2-bit code of the whole span (first nucleotide in the high bits); the key is the blocks'
        bits concatenated left to right, as in :func:`seed_keys`."""
        rows = []
        start = None
        for i, c in enumerate(self.shape + "-"):
            if c == "#" and start is None:
                start = i
            elif c != "#" and start is not None:
                length = i - start
                rows.append((2 * (self.span - start - length), (1 << (2 * length)) - 1, 2 * length))
                start = None
        return np.array(rows, dtype=np.int64)

    @property
    def positions(self) -> np.ndarray:
        return np.array([i for i, c in enumerate(self.shape) if c == "#"], dtype=np.int64)


def encode(sequence: str) -> np.ndarray:
    """2-bit codes (uint8, 4 for non-ACGT) of one sequence."""
    return NUCLEOTIDE_CODE[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]


def encode_batch(sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated 2-bit codes of ``sequences`` and their offsets (len(sequences) + 1, int64)."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "".join(sequences).encode("ascii", "replace")
    codes = NUCLEOTIDE_CODE[np.frombuffer(joined, dtype=np.uint8)]
    return codes, offsets


def seed_keys(codes: np.ndarray, seed: Seed) -> tuple[np.ndarray, np.ndarray]:
    """Keys of every seed position of one encoded sequence (vectorised).

    Returns ``(positions, keys)`` for the positions whose used nucleotides are all A/C/G/T.
    """
    n = len(codes) - seed.span + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keys = np.zeros(n, dtype=np.int64)
    valid = np.ones(n, dtype=bool)
    for offset in seed.positions:
        column = codes[offset:offset + n].astype(np.int64)
        valid &= column < 4
        keys = (keys << 2) | (column & 3)
    positions = np.nonzero(valid)[0]
    return positions, keys[positions]


@dataclass
class SystemInfo:
    """What the kernels and reports need to know about one germline system."""

    name: str
    locus: str
    shortcut: str
    complete: bool
    five_anchored: bool
    three_anchored: bool


@dataclass
class KmerIndex:
    """Dense seed index over all systems (see module docstring for the encoding)."""

    seed: Seed
    systems: list[SystemInfo]
    table: np.ndarray  # uint32[4**weight]
    masks: np.ndarray  # uint64[n_masks]; masks[0] = 0
    density: np.ndarray  # float64[4 * n_systems]: share of keys carrying each label
    digest: str
    extra: dict = field(default_factory=dict)

    @property
    def n_systems(self) -> int:
        return len(self.systems)

    def system_index(self, name: str) -> int:
        for i, system in enumerate(self.systems):
            if system.name == name:
                return i
        raise KeyError(name)


def label(system: int, side: int, strand: int) -> int:
    """Label number of (system index, side 0=5'/1=3', strand 0=+/1=-)."""
    return 4 * system + 2 * side + strand


def _reference_point(allele, side: int) -> int:
    anchor = getattr(allele, "anchor", None)
    if side == 0:
        return int(anchor) if anchor is not None else len(allele.sequence)
    return int(anchor) + 3 if anchor is not None else 0


def germline_digest(systems, seed: Seed) -> str:
    """Hash of the seed and every (system, side, allele, sequence, anchor) of ``systems``."""
    digest = hashlib.sha256(f"v{INDEX_FORMAT_VERSION}|{seed.shape}".encode())
    for system in systems:
        digest.update(f"|S{system.name}".encode())
        for side, alleles in ((0, system.five), (1, system.three)):
            for allele in alleles:
                digest.update(f"|{side}:{allele.name}:{allele.anchor}:{allele.sequence}".encode())
    return digest.hexdigest()[:20]


def _system_info(system) -> SystemInfo:
    return SystemInfo(
        name=system.name,
        locus=system.locus,
        shortcut=getattr(system, "shortcut", "?") or "?",
        complete=bool(getattr(system, "complete", True)),
        five_anchored=any(a.anchor is not None for a in system.five),
        three_anchored=any(a.anchor is not None for a in system.three),
    )


def build_index(systems, seed: Seed | str = DEFAULT_SEED) -> KmerIndex:
    """Build the dense index of ``systems`` (a sequence of germline ``System`` objects).

    Every allele of ``system.five`` (side 0) and ``system.three`` (side 1) is indexed on both
    strands. Cost: ~1 s and 4**weight * 4 bytes (67 MB for weight 12).

    Raises:
        ValueError: more than MAX_SYSTEMS systems, or a bad seed.
    """
    seed = Seed(seed) if isinstance(seed, str) else seed
    systems = list(systems)
    if len(systems) > MAX_SYSTEMS:
        raise ValueError(f"at most {MAX_SYSTEMS} systems can be indexed together, got {len(systems)}")
    all_keys, all_labels, all_deltas = [], [], []
    for s_index, system in enumerate(systems):
        for side, alleles in ((0, system.five), (1, system.three)):
            for allele in alleles:
                sequence = allele.sequence.upper()
                codes = encode(sequence)
                reference = _reference_point(allele, side)
                length = len(codes)
                # + strand
                positions, keys = seed_keys(codes, seed)
                all_keys.append(keys)
                all_labels.append(np.full(len(keys), label(s_index, side, 0), dtype=np.int64))
                all_deltas.append(positions - reference)
                # - strand: k-mer at reverse position q' is the forward k-mer at length - q' - span
                rc_codes = encode(reverse_complement(sequence))
                positions, keys = seed_keys(rc_codes, seed)
                all_keys.append(keys)
                all_labels.append(np.full(len(keys), label(s_index, side, 1), dtype=np.int64))
                all_deltas.append((length - positions - seed.span) - reference)
    size = 4 ** seed.weight
    table = np.zeros(size, dtype=np.uint32)
    masks = np.zeros(1, dtype=np.uint64)
    density = np.zeros(4 * max(1, len(systems)), dtype=np.float64)
    if all_keys:
        keys = np.concatenate(all_keys)
        labels = np.concatenate(all_labels)
        deltas = np.concatenate(all_deltas)
        order = np.argsort(keys, kind="stable")
        keys, labels, deltas = keys[order], labels[order], deltas[order]
        bits = np.left_shift(np.uint64(1), labels.astype(np.uint64))
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        unique_keys = keys[starts]
        key_masks = np.bitwise_or.reduceat(bits, starts)
        delta_min = np.minimum.reduceat(deltas, starts)
        delta_max = np.maximum.reduceat(deltas, starts)
        distinct_masks, mask_index = np.unique(key_masks, return_inverse=True)
        if len(distinct_masks) > MASK_LIMIT:
            raise ValueError(f"too many distinct label combinations for the index (> {MASK_LIMIT})")
        masks = np.concatenate([np.zeros(1, dtype=np.uint64), distinct_masks.astype(np.uint64)])
        delta_field = np.where(delta_min == delta_max, delta_min + DELTA_BIAS, 0).astype(np.uint64)
        table[unique_keys] = ((mask_index.astype(np.uint64) + 1) | (delta_field << np.uint64(MASK_BITS))).astype(np.uint32)
        for lab in range(4 * len(systems)):
            hit = (key_masks >> np.uint64(lab)) & np.uint64(1)
            density[lab] = float(hit.sum()) / size
    return KmerIndex(
        seed=seed,
        systems=[_system_info(s) for s in systems],
        table=table,
        masks=masks,
        density=density,
        digest=germline_digest(systems, seed),
    )


def _cache_dirs(germline_directory: Path | None) -> list[Path]:
    dirs = []
    env = os.environ.get("VDJ_INDEX_CACHE")
    if env:
        dirs.append(Path(env))
    if germline_directory is not None:
        dirs.append(Path(germline_directory) / "index-cache")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    dirs.append(Path(base) / "repseq-vdj")
    return dirs


def load_or_build_index(systems, seed: Seed | str = DEFAULT_SEED, germline_directory: Path | None = None) -> KmerIndex:
    """The index of ``systems``, from the on-disk cache when present, else built and cached.

    The cache file (``<digest>.npz`` + memory-mapped ``<digest>.table.npy``) goes to
    ``$VDJ_INDEX_CACHE``, ``<germline dir>/index-cache`` or ``~/.cache/repseq-vdj``, the first
    writable one. A corrupt cache file is rebuilt.
    """
    seed = Seed(seed) if isinstance(seed, str) else seed
    systems = list(systems)
    digest = germline_digest(systems, seed)
    infos = [_system_info(s) for s in systems]
    for directory in _cache_dirs(germline_directory):
        meta_path = directory / f"{digest}.npz"
        table_path = directory / f"{digest}.table.npy"
        if meta_path.exists() and table_path.exists():
            try:
                with np.load(meta_path) as meta:
                    masks = meta["masks"].copy()
                    density = meta["density"].copy()
                table = np.load(table_path, mmap_mode="r")
                if table.shape == (4 ** seed.weight,):
                    return KmerIndex(seed, infos, table, masks, density, digest)
            except (OSError, ValueError, KeyError):
                pass
    index = build_index(systems, seed)
    for directory in _cache_dirs(germline_directory):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp_table = directory / f".{digest}.{os.getpid()}.table.npy"
            tmp_meta = directory / f".{digest}.{os.getpid()}.npz"
            np.save(tmp_table, index.table)
            np.savez(tmp_meta, masks=index.masks, density=index.density)
            os.replace(tmp_table, directory / f"{digest}.table.npy")
            os.replace(tmp_meta, directory / f"{digest}.npz")
            break
        except OSError:
            continue
    return index
