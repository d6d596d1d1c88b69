"""vdj: V(D)J recombination detection, clones and designation (a re-implementation of vidjil-algo).

Library entry: :func:`analyze` (one read file -> :class:`vdj.pipeline.AnalysisResult`, with
``.to_vidjil()``, ``.write_airr(path)`` and ``.stats``); one sequence:
:func:`vdj.designation.designate_sequence`; command line: ``python -m vdj`` (:mod:`vdj.cli`).
"""

from __future__ import annotations

__version__ = "0.1.0"


def analyze(input_path, options=None, **kwargs):
    """Analyse one FASTA/FASTQ(.gz) file; see :func:`vdj.pipeline.analyze`.

    ``options``: a :class:`vdj.pipeline.AnalysisOptions`, a dict of its fields, or None (defaults);
    keyword arguments override fields (e.g. ``analyze(path, germline_preset="IGH", min_reads=1)``).
    """
    from dataclasses import replace

    from vdj.pipeline import AnalysisOptions, analyze as _analyze

    if options is None:
        options = AnalysisOptions()
    elif isinstance(options, dict):
        options = AnalysisOptions(**options)
    if kwargs:
        options = replace(options, **kwargs)
    return _analyze(input_path, options)


def warm_up(preset: str = "multi", species: str = "homo-sapiens") -> None:
    """Compile and cache the numba kernels and the k-mer index of ``preset`` (about 8 s once after
    an install or upgrade; later runs then start in well under a second). Safe to call anytime,
    e.g. at the end of an installation: ``python -c "import vdj; vdj.warm_up()"``.

    Raises vdj.germline.GermlineError when the germline database is missing.
    """
    from vdj.designation import Designer
    from vdj.germline import load_germlines

    germlines = load_germlines(preset=preset, species=species)
    designer = Designer(germlines)
    for system in germlines.systems.values():  # with and without D genes: every kernel is used
        middle = "GGGACC" + (system.d[0].sequence if system.d else "") + "CCTA"
        designer.designate(system.five[0].sequence + middle + system.three[0].sequence)


__all__ = ["analyze", "warm_up", "__version__"]
