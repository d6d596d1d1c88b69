"""How a worker turns a job spec into a program run, and reads what the program produced.

Programs (``analysis_config.program``):

- ``vdj``: ``python -m vdj INPUT -o OUT -b NAME --no-progress <config options>``;
- ``none``: no program; the uploaded file is an already analysed ``.vidjil`` (JSON) or AIRR TSV and becomes the
  result (an AIRR TSV is also converted to ``.vidjil`` so that it can be fused and shown);
- ``command``: an administrator's template for another installed program (vidjil-algo, MiXCR, IgBLAST...), split
  like a shell line, with the placeholders ``&input&``, ``&output_dir&``, ``&basename&``; its output is accepted
  when the output folder then holds a ``.vidjil`` file or an AIRR TSV (``.tsv`` / ``.airr``).

Pre-processes: a template with ``&file1&``, ``&file2&``, ``&result&`` run by ``/bin/sh -c`` (templates may
redirect output, e.g. ``flash --to-stdout ... > &result&``); the placeholders are replaced by quoted paths.

Read statistics come from the ``.vidjil`` ``reads`` section: ``total``, ``segmented``, ``germline`` per locus.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

#: Placeholders of analysis command templates.
INPUT, OUTPUT_DIR, BASENAME = "&input&", "&output_dir&", "&basename&"
#: Placeholders of pre-process templates.
FILE1, FILE2, RESULT = "&file1&", "&file2&", "&result&"


class ProgramError(Exception):
    """The job cannot be run or its output is unusable; ``str()`` is the readable reason."""


def analysis_argv(program: str, command: str, input_path: Path, out_dir: Path, basename: str) -> list[str] | None:
    """The argv of an analysis, or ``None`` for program ``none`` (nothing to run)."""
    if program == "vdj":
        return [sys.executable, "-m", "vdj", str(input_path), "-o", str(out_dir), "-b", basename,
                "--no-progress", *shlex.split(command or "")]
    if program == "none":
        return None
    if program == "command":
        if not command.strip():
            raise ProgramError("the config's command template is empty")
        replace = {INPUT: str(input_path), OUTPUT_DIR: str(out_dir), BASENAME: basename}
        argv = []
        for token in shlex.split(command):
            for placeholder, value in replace.items():
                token = token.replace(placeholder, value)
            argv.append(token)
        return argv
    raise ProgramError(f"unknown program {program!r}")


def pre_process_argv(command: str, file1: Path, file2: Path, result: Path) -> list[str]:
    """``/bin/sh -c <template with quoted paths>``."""
    line = (command.replace(FILE1, shlex.quote(str(file1))).replace(FILE2, shlex.quote(str(file2)))
            .replace(RESULT, shlex.quote(str(result))))
    return ["/bin/sh", "-c", line]


def find_outputs(out_dir: Path, basename: str) -> tuple[Path | None, Path | None]:
    """``(.vidjil, AIRR TSV)`` written in ``out_dir`` (the ones named ``basename`` first)."""
    vidjil = out_dir / f"{basename}.vidjil"
    airr = out_dir / f"{basename}.tsv"
    if not vidjil.exists():
        vidjil = next(iter(sorted(out_dir.glob("*.vidjil"))), None)
    if not airr.exists():
        airr = next(iter(sorted([*out_dir.glob("*.tsv"), *out_dir.glob("*.airr")])), None)
    return vidjil, airr


def sniff_analysed_file(path: Path) -> str:
    """``"vidjil"`` or ``"airr"`` for an already analysed file; ProgramError otherwise."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    text = head.lstrip()
    if text.startswith(b"{"):
        return "vidjil"
    first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    columns = first_line.rstrip("\r").split("\t")
    if "sequence_id" in columns and ("v_call" in columns or "junction" in columns):
        return "airr"
    raise ProgramError("the file is neither a .vidjil (JSON) result nor an AIRR TSV (header with sequence_id, "
                       "v_call, junction...)")


def read_stats(vidjil_path: Path) -> dict[str, Any]:
    """``{"total", "segmented", "by_locus": {locus: reads}, "clones"}`` from a ``.vidjil`` file; ProgramError
    if it is not valid JSON with a ``reads`` section."""
    try:
        with open(vidjil_path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise ProgramError(f"the .vidjil result is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ProgramError("the .vidjil result is not a JSON object")
    reads = data.get("reads") or {}

    def first(value):
        if isinstance(value, list):
            return int(value[0]) if value and value[0] is not None else None
        return int(value) if isinstance(value, (int, float)) else None

    by_locus = {}
    for locus, value in (reads.get("germline") or {}).items():
        count = first(value)
        if count:
            by_locus[locus] = count
    clones = data.get("clones")
    return {"total": first(reads.get("total")), "segmented": first(reads.get("segmented")),
            "by_locus": by_locus, "clones": len(clones) if isinstance(clones, list) else None}


def airr_to_vidjil(airr_path: Path, vidjil_path: Path, producer: str = "repseq import") -> None:
    """Write a minimal ``.vidjil`` (format 2016b) from an AIRR rearrangement TSV: one clone per row (or per
    ``clone_id``), ``reads`` from ``duplicate_count`` / ``consensus_count`` (1 if absent), the window from the
    junction (else the sequence), V/D/J calls and CDR3. Raises ProgramError when required columns are missing."""
    clones: dict[str, dict] = {}
    by_locus: dict[str, int] = {}
    total = 0
    with open(airr_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        if not reader.fieldnames or "sequence_id" not in reader.fieldnames:
            raise ProgramError("the AIRR TSV has no sequence_id column")
        for row in reader:
            count = 1
            for column in ("duplicate_count", "consensus_count"):
                if row.get(column, "").strip().isdigit():
                    count = int(row[column])
                    break
            total += count
            window = (row.get("junction") or row.get("cdr3") or row.get("sequence") or "").upper()
            if not window:
                continue
            locus = row.get("locus") or (row.get("v_call") or row.get("j_call") or "")[:3] or "unknown"
            by_locus[locus] = by_locus.get(locus, 0) + count
            key = row.get("clone_id") or window
            clone = clones.get(key)
            if clone is None:
                seg = {}
                if row.get("junction_aa"):
                    seg["junction"] = {"aa": row["junction_aa"], "productive": row.get("productive") in ("T", "true", "True")}
                if row.get("cdr3_aa"):
                    seg["cdr3"] = {"aa": row["cdr3_aa"]}
                name = " ".join(c.split(",")[0] for c in (row.get("v_call"), row.get("d_call"), row.get("j_call")) if c)
                clone = clones[key] = {"id": window, "sequence": (row.get("sequence") or window).upper(),
                                       "reads": [0], "top": 0, "germline": locus, "name": name or row["sequence_id"],
                                       "seg": seg}
                for gene, column in (("5", "v_call"), ("4", "d_call"), ("3", "j_call")):
                    if row.get(column):
                        seg[gene] = {"name": row[column].split(",")[0]}
            clone["reads"][0] += count
    ordered = sorted(clones.values(), key=lambda c: -c["reads"][0])
    for rank, clone in enumerate(ordered, start=1):
        clone["top"] = rank
    data = {"vidjil_json_version": "2016b", "producer": producer,
            "samples": {"number": 1, "original_names": [airr_path.name], "producer": [producer]},
            "reads": {"total": [total], "segmented": [sum(by_locus.values())],
                      "germline": {locus: [n] for locus, n in by_locus.items()}},
            "clones": ordered}
    with open(vidjil_path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def grep_reads(input_path: Path, sequence: str, out_path: Path) -> int:
    """Write the reads of ``input_path`` containing ``sequence`` (or its reverse complement) as FASTA; return
    their count (Vidjil's "extract the reads of a clone", --grep-reads)."""
    import dnaio

    from vdj.kmer import reverse_complement

    forward = sequence.upper()
    reverse = reverse_complement(forward)
    found = 0
    with dnaio.open(str(input_path)) as reader, open(out_path, "w") as out:
        for record in reader:
            seq = record.sequence.upper()
            if forward in seq or reverse in seq:
                out.write(f">{record.name}\n{record.sequence}\n")
                found += 1
    return found


def last_line(path: Path, limit: int = 300) -> str:
    """The last non-empty line of a log file (the program's error, usually), at most ``limit`` characters."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""
