"""Read statuses of the detection (vidjil-algo's SEG / UNSEG reasons), shared by modules that must
not import the numba kernels (reports, outputs).

``SEG``: a recombination was found and a window extracted. The others are the reasons a read is not
counted in a clone: ``too short`` (shorter than the seed), ``too few V/J`` (no significant
similarity), ``only V/5'`` / ``only J/3'`` (one side only), ``strand`` (hits on both strands),
``ambiguous`` (5' and 3' hits interleaved, or a junction of impossible length), ``too short w``
(junction found but the read is too short for a window), ``unexpected`` (significant 5' and 3'
sides from different systems: chimeras).
"""

SEG = 0
UNSEG_TOO_SHORT = 1
UNSEG_TOO_FEW = 2
UNSEG_ONLY_V = 3
UNSEG_ONLY_J = 4
UNSEG_STRAND = 5
UNSEG_AMBIGUOUS = 6
UNSEG_TOO_SHORT_W = 7
UNSEG_UNEXPECTED = 8

STATUS_NAMES = (
    "SEG",
    "UNSEG too short",
    "UNSEG too few V/J",
    "UNSEG only V/5'",
    "UNSEG only J/3'",
    "UNSEG strand",
    "UNSEG ambiguous",
    "UNSEG too short w",
    "UNSEG unexpected",
)
