"""A tiny hand-made germline set and reads built from it, for the unit tests of vdj/ stages.

Two systems: "IGH" (2 V, 2 D, 2 J) and "TRG" (2 V, 2 J), random but fixed sequences with a Cys104
codon (TGT) 12 nt before each V end and a Trp/Phe118 codon followed by G-x-G in each J. Nothing here
depends on the installed germline database.
"""

from __future__ import annotations

import random
from pathlib import Path

from vdj.germline import Allele, GermlineSet, System
from vdj.kmer import reverse_complement

_RNG = random.Random(20240627)


def _random(n: int, rng: random.Random = _RNG) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


def _no_stop(sequence: str) -> str:
    """Replace stop codons (frame 0) so that V genes translate cleanly."""
    codons = [sequence[i:i + 3] for i in range(0, len(sequence), 3)]
    return "".join("GCT" if c in ("TAA", "TAG", "TGA") else c for c in codons)


def _v(name: str, locus: str) -> Allele:
    body = _no_stop(_random(288))
    sequence = body + "TGT" + "GCGAGAGACAC"[:9]  # Cys104 at 288, 9 nt after it
    return Allele(name=name, segment="V", locus=locus, sequence=sequence, anchor=288, functional="F")


def _j(name: str, locus: str, motif: str) -> Allele:
    head = _no_stop(_random(15))
    sequence = head + motif + "GGCCAGGGAACCCTGGTCACCGTCTCCTCAG"  # W/F at 15, then G-Q-G
    return Allele(name=name, segment="J", locus=locus, sequence=sequence, anchor=15, functional="F")


def _d(name: str) -> Allele:
    return Allele(name=name, segment="D", locus="IGH", sequence=_random(23), anchor=None, functional="F")


IGHV = (_v("IGHV1-1*01", "IGH"), _v("IGHV2-1*01", "IGH"))
IGHD = (_d("IGHD1-1*01"), _d("IGHD2-1*01"))
IGHJ = (_j("IGHJ1*01", "IGH", "TGG"), _j("IGHJ2*01", "IGH", "TGG"))
TRGV = (_v("TRGV1*01", "TRG"), _v("TRGV2*01", "TRG"))
TRGJ = (_j("TRGJ1*01", "TRG", "TTT"), _j("TRGJ2*01", "TRG", "TTC"))


def germline_set() -> GermlineSet:
    """The synthetic germline set (systems IGH and TRG)."""
    systems = {
        "IGH": System("IGH", "IGH", "H", IGHV, IGHD, IGHJ, True, "synthetic IGH"),
        "TRG": System("TRG", "TRG", "G", TRGV, (), TRGJ, True, "synthetic TRG"),
    }
    alleles = IGHV + IGHD + IGHJ + TRGV + TRGJ
    return GermlineSet(species="synthetic", taxon_id=0, systems=systems, provenance={"ref": "synthetic"},
                       directory=Path("/nonexistent"), species_name="Synthetic", all_alleles=alleles)


def recombine(v: Allele, j: Allele, n_region: str, del_v: int = 2, del_j: int = 3, d: Allele | None = None,
              d_trim: tuple[int, int] = (3, 3), n2: str = "") -> tuple[str, int, int]:
    """A recombined sequence V(-del_v) N [D N2] J(-del_j) and its junction (start, end) positions."""
    left = v.sequence[: len(v.sequence) - del_v]
    middle = n_region
    if d is not None:
        middle += d.sequence[d_trim[0]: len(d.sequence) - d_trim[1]] + n2
    right = j.sequence[del_j:]
    sequence = left + middle + right
    junction_start = v.anchor
    junction_end = len(left) + len(middle) + (j.anchor - del_j) + 3
    return sequence, junction_start, junction_end


def mutate(sequence: str, positions: list[int]) -> str:
    """Substitute the nucleotide at each position (A->C->G->T->A)."""
    letters = list(sequence)
    for p in positions:
        letters[p] = "ACGT"["ACGT".index(letters[p]) - 3]
    return "".join(letters)


def read_from(sequence: str, start: int, length: int, reverse: bool = False) -> str:
    piece = sequence[start:start + length]
    return reverse_complement(piece) if reverse else piece


def random_sequence(n: int, seed: int) -> str:
    return _random(n, random.Random(seed))
