"""Command line: ``python -m vdj INPUT -o OUTDIR [options]`` (also ``repseq analyze``).

Writes ``OUTDIR/BASENAME.vidjil`` and ``OUTDIR/BASENAME.tsv`` (AIRR), prints a summary on stderr.
Exit status: 0 success (an empty input is a valid run with 0 reads); 2 bad input or options (one
line on stderr, no traceback); 1 unexpected internal error.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from vdj import __version__
from vdj.kmer import DEFAULT_SEED

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2

_SEQUENCE_SUFFIXES = (".fastq", ".fq", ".fasta", ".fa", ".fna", ".fas", ".txt")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")


def default_basename(path: str) -> str:
    """File name without compression and FASTA/FASTQ suffixes: "x/S1.fastq.gz" -> "S1"."""
    name = Path(path).name
    for suffixes in (_COMPRESSION_SUFFIXES, _SEQUENCE_SUFFIXES):
        for suffix in suffixes:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
    return name


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _window(text: str) -> int:
    value = int(text)
    if not 10 <= value <= 500:
        raise argparse.ArgumentTypeError(f"window must be 10..500 nt, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vdj",
        description="Detect V(D)J recombinations in a FASTA/FASTQ(.gz) file, group reads into clones and "
                    "designate the top clones; writes OUTDIR/BASENAME.vidjil and OUTDIR/BASENAME.tsv (AIRR).")
    parser.add_argument("input", metavar="INPUT", help="FASTA or FASTQ file, optionally gzip-compressed")
    parser.add_argument("-o", "--output-dir", metavar="OUTDIR", default="out", help="output directory (default: out)")
    parser.add_argument("-b", "--base", metavar="BASENAME", help="output file base name (default: input name)")
    parser.add_argument("-g", "--germline", metavar="PRESET", default="multi",
                        help="germline systems: multi (all, default), or names such as IGH or IGH,TRG")
    parser.add_argument("--species", default="homo-sapiens", help="germline species (default: homo-sapiens)")
    parser.add_argument("--germline-dir", metavar="DIR", help="germline database root (default: $REPSEQ_GERMLINE_DIR "
                        "or vdj/germline_data)")
    parser.add_argument("-w", "--window", type=_window, default=50, help="window length in nt, the clone identity (default: 50)")
    parser.add_argument("-r", "--min-reads", type=_positive_int, default=5, help="minimal reads of a reported clone (default: 5)")
    parser.add_argument("-z", "--max-designations", type=_non_negative_int, default=100,
                        help="number of top clones given a consensus and a full V(D)J designation (default: 100)")
    parser.add_argument("--max-clones", type=_non_negative_int, default=None,
                        help="maximal number of clones written (default: all with >= min reads)")
    parser.add_argument("-e", "--e-value", type=float, default=1.0,
                        help="maximal e-value of the k-mer detection (expected false detections in the file; default: 1)")
    parser.add_argument("--merge-distance", type=_non_negative_int, default=2,
                        help="windows within this edit distance of a larger one are merged into it when their read "
                             "count is explained by sequencing errors; 0 = off (default: 2)")
    parser.add_argument("--merge-far-distance", type=_non_negative_int, default=None,
                        help="the same up to this edit distance, for windows explained by few errors (default: window/10)")
    parser.add_argument("--error-rate", type=float, default=None,
                        help="sequencing error rate per base (substitutions and indels) assumed by the merging "
                             "(default: measured on the largest clones)")
    parser.add_argument("--consensus-reads", type=_positive_int, default=30,
                        help="reads kept per window for the consensus (the longest; default: 30)")
    parser.add_argument("-s", "--seed", default=None,
                        help="spaced seed of the k-mer detection, '#' = used, '-' = ignored (default: %s)" % DEFAULT_SEED)
    parser.add_argument("--threads", type=_positive_int, default=1,
                        help="cores to use (default: 1); 2: detection on a second thread, 3 and more: worker processes")
    parser.add_argument("--batch-size", type=_positive_int, default=4096,
                        help="reads detected together (default: 4096; memory grows with it)")
    parser.add_argument("--read-assignments", metavar="FILE",
                        help="write a TSV read_id, clone_id, locus, status for every read")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None,
                          help="show a progress bar (default: when stderr is a terminal)")
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    parser.add_argument("--version", action="version", version=f"repseq-vdj {__version__}")
    return parser


def run_notes(stats, min_reads: int) -> list[str]:
    """Plain-language notes on a run whose outputs could surprise (printed even with ``-q``): an input
    without reads, or clones left out of the outputs by ``-r``. ``stats`` is the run's RunStatistics."""
    notes = []
    if stats.total == 0:
        notes.append("the input holds no reads (empty file): the outputs list no clone")
    hidden = stats.clones - stats.reported_clones
    if hidden > 0 and min_reads > 1:
        notes.append(f"{hidden} of {stats.clones} clones have fewer than {min_reads} reads (-r {min_reads}) "
                     "and are not in the outputs; use -r 1 to report every clone")
    return notes


def _summary(result) -> str:
    lines = [result.stats.render()]
    for clone in result.clones[:10]:
        designation = clone.designation
        name = designation.name if designation is not None and designation.name else clone.germline
        junction = designation.junction_aa if designation is not None and designation.junction_aa else ""
        percent = 100.0 * clone.reads / result.stats.segmented if result.stats.segmented else 0.0
        lines.append(f"  clone {clone.top:03d}  {clone.germline:<6} {clone.reads:8d} reads {percent:6.2f}%  {name}  {junction}")
    lines.append(f"  time: {result.stats.seconds_total:.2f} s, "
                 f"{result.stats.total / result.stats.seconds_total if result.stats.seconds_total else 0:.0f} reads/s")
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str = "python -m vdj") -> int:
    """Run the command line with ``argv`` (default: sys.argv[1:]); returns the exit status. ``prog``: the command
    as the user typed it (in messages and in the ``.vidjil`` command line)."""
    from vdj.germline import GermlineError
    from vdj.pipeline import AnalysisOptions, analyze
    from vdj.reader import InputError

    parser = build_parser()
    parser.prog = prog
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    raw_argv = sys.argv[1:] if argv is None else argv
    output_dir = Path(args.output_dir)
    basename = args.base or default_basename(args.input)
    options = AnalysisOptions(
        germline_preset=args.germline, species=args.species, germline_dir=args.germline_dir,
        window=args.window, min_reads=args.min_reads, max_designations=args.max_designations,
        max_clones=args.max_clones, evalue=args.e_value, threads=args.threads,
        read_assignments=args.read_assignments, merge_distance=args.merge_distance,
        merge_far_distance=args.merge_far_distance, merge_error_rate=args.error_rate, consensus_reads=args.consensus_reads, progress=args.progress,
        batch_size=args.batch_size,
        **({"seed": args.seed} if args.seed else {}),
        commandline=prog + " " + " ".join(shlex.quote(a) for a in raw_argv))
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        if args.read_assignments:
            parent = Path(args.read_assignments).resolve().parent
            if not parent.is_dir():
                raise InputError(f"{args.read_assignments}: directory {parent} does not exist")
        result = analyze(args.input, options)
        result.write_vidjil(output_dir / f"{basename}.vidjil")
        result.write_airr(output_dir / f"{basename}.tsv")
    except (InputError, GermlineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if not args.quiet:
        print(_summary(result), file=sys.stderr)
        print(f"  ==> {output_dir / (basename + '.vidjil')}\n  ==> {output_dir / (basename + '.tsv')}", file=sys.stderr)
    for note in run_notes(result.stats, args.min_reads):
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK
