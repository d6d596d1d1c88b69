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


__all__ = ["analyze", "__version__"]
