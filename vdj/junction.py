"""JUNCTION and CDR3 (IMGT definitions), translation and productivity.

IMGT (Lefranc et al., Dev. Comp. Immunol. 2003, 27:55, "IMGT unique numbering"):
JUNCTION = from the first nucleotide of the 2nd-CYS 104 codon to the last nucleotide of the
J-PHE/J-TRP 118 codon, inclusive; CDR3-IMGT = positions 105..117 = JUNCTION without its first and
last codons. FR4-IMGT starts at 118.

Productive (AIRR "productive", vidjil-algo's rule): the junction is in frame (length multiple of 3),
there is no stop codon in the V..J coding region read in the junction's frame, and, for IGH, the
FR4 starts with the conserved {W,P}-G-x-G motif (ERIC guidelines) when the sequence covers it.
Otherwise ``unproductive`` is "out-of-frame", "stop-codon" or "no-WPGxG-pattern".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {a + b + c: _AMINO[16 * i + 4 * j + k]
               for i, a in enumerate(_BASES) for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}
FR4_IGH_MOTIF = re.compile(r"^[WP]G.G")


def translate(sequence: str) -> str:
    """Amino acids of ``sequence`` read from its first nucleotide, one letter per full codon
    ('*' stop, 'X' for a codon with a non-ACGT nucleotide); a trailing partial codon is dropped."""
    sequence = sequence.upper()
    return "".join(CODON_TABLE.get(sequence[i:i + 3], "X") for i in range(0, len(sequence) - 2, 3))


def translate_junction(junction: str, j_start: int | None = None) -> str:
    """Amino acids of a junction.

    In frame: plain translation. Out of frame (length not a multiple of 3): the J part (from
    ``j_start``, the offset of the first J nucleotide in the junction) is read in the J frame, i.e.
    backwards from the Phe/Trp118 codon, the rest in the V frame from Cys104, and the 1 or 2
    left-over nucleotides are shown as one '#' (vidjil-algo's convention, checked on its curated
    sequences). Without ``j_start``, the split is at the middle of the junction.
    """
    n = len(junction)
    extra = n % 3
    if extra == 0:
        return translate(junction)
    codons = n // 3
    if j_start is None or not 0 <= j_start <= n:
        right_codons = codons // 2
    else:
        right_codons = min(codons, (n - j_start) // 3)
    left_codons = codons - right_codons
    left = translate(junction[:3 * left_codons])
    right = translate(junction[3 * left_codons + extra:])
    return left + "#" + right


@dataclass
class JunctionFeatures:
    """JUNCTION and CDR3 of a sequence (0-based, end-exclusive positions on the sequence)."""

    junction_start: int
    junction_end: int
    junction: str
    junction_aa: str
    cdr3_start: int
    cdr3_end: int
    cdr3: str
    cdr3_aa: str
    in_frame: bool
    stop_codon: bool
    productive: bool
    unproductive_reason: str | None


def junction_features(sequence: str, cys_position: int, phe_position: int, locus: str,
                      coding_start: int = 0, coding_end: int | None = None,
                      j_start: int | None = None) -> JunctionFeatures | None:
    """JUNCTION/CDR3 from the positions of the first nucleotide of Cys104 and of Phe/Trp118.

    ``coding_start``/``coding_end`` bound the region scanned for stop codons (the V start and the
    J end on the sequence; default: whole sequence); ``j_start`` (position of the first J
    nucleotide) places the '#' of an out-of-frame junction. Returns None when the anchors do not give a
    junction of at least 2 codons inside the sequence.
    """
    if coding_end is None:
        coding_end = len(sequence)
    start, end = cys_position, phe_position + 3
    if start < 0 or end > len(sequence) or end - start < 6:
        return None
    sequence = sequence.upper()
    junction = sequence[start:end]
    junction_aa = translate_junction(junction, None if j_start is None else j_start - start)
    in_frame = len(junction) % 3 == 0
    cdr3 = junction[3:-3]
    cdr3_aa = junction_aa[1:-1] if len(junction_aa) >= 2 else ""
    stop = False
    reason = None
    if not in_frame:
        reason = "out-of-frame"
    else:
        frame_start = coding_start + ((start - coding_start) % 3)
        coding = translate(sequence[frame_start:coding_end])
        stop = "*" in coding
        if stop:
            reason = "stop-codon"
        elif locus == "IGH":
            fr4 = translate(sequence[phe_position:min(coding_end, phe_position + 12)])
            if len(fr4) >= 4 and not FR4_IGH_MOTIF.match(fr4):
                reason = "no-WPGxG-pattern"
    if "*" in junction_aa:
        stop = True
        reason = reason or "stop-codon"
    return JunctionFeatures(start, end, junction, junction_aa, start + 3, end - 3, cdr3, cdr3_aa,
                            in_frame, stop, reason is None, reason)
