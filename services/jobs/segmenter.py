"""The "segmenter": designate up to 10 pasted sequences at once, outside the nameko process.

``python -m services.jobs.segmenter --serve`` is a long-lived helper process: it reads one JSON request per line
on stdin (``{"germline": "multi", "sequences": [{"name", "sequence"}]}``) and answers one JSON line on stdout
(``{"results": [...]}`` or ``{"error": "..."}``), keeping the germline sets it loaded. The jobs service talks to
it through :class:`SegmenterPool` (one helper per service process, requests serialised, restarted if it dies), so
the CPU work (:func:`vdj.designation.designate_sequence`) never runs inside an eventlet worker. This module does
not import nameko (the helper process stays light).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from services.common.exceptions import BadRequest, TooLarge

MAX_SEQUENCES = 10
MAX_LENGTH = 10_000
_NUCLEOTIDES = re.compile(r"^[ACGTNRYKMSWBDHV]+$")


def normalise(sequences: Any) -> list[dict[str, str]]:
    """Validate the pasted input: a list (or FASTA text) of at most 10 sequences, each up to 10 000 nt.
    Returns ``[{"name", "sequence"}]`` (upper-case, whitespace removed). Raises BadRequest / TooLarge."""
    if isinstance(sequences, str):
        sequences = _parse_fasta_text(sequences)
    if not isinstance(sequences, (list, tuple)) or not sequences:
        raise BadRequest("sequences must be a non-empty list (or FASTA text)", {"field": "sequences"})
    if len(sequences) > MAX_SEQUENCES:
        raise TooLarge(f"at most {MAX_SEQUENCES} sequences at once (got {len(sequences)})",
                       {"limit": MAX_SEQUENCES, "count": len(sequences)})
    cleaned = []
    for number, item in enumerate(sequences, start=1):
        name, seq = (item.get("name") or f"seq{number}", item.get("sequence")) if isinstance(item, dict) \
            else (f"seq{number}", item)
        seq = re.sub(r"\s+", "", str(seq or "")).upper()
        if not seq or not _NUCLEOTIDES.match(seq):
            raise BadRequest(f"sequence {number} ({name}) is empty or not nucleotides", {"index": number - 1})
        if len(seq) > MAX_LENGTH:
            raise TooLarge(f"sequence {number} ({name}) is longer than {MAX_LENGTH} nt", {"index": number - 1})
        cleaned.append({"name": str(name)[:200], "sequence": seq})
    return cleaned


def _parse_fasta_text(text: str) -> list[dict[str, str]]:
    if ">" not in text:
        return [{"name": f"seq{i}", "sequence": line} for i, line in enumerate(text.split(), start=1)]
    records, name, parts = [], None, []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">"):
            if name is not None:
                records.append({"name": name, "sequence": "".join(parts)})
            name, parts = line[1:].strip() or f"seq{len(records) + 1}", []
        elif line:
            parts.append(line)
    if name is not None:
        records.append({"name": name, "sequence": "".join(parts)})
    return records


def designation_dict(name: str, designation) -> dict[str, Any]:
    """JSON view of a :class:`vdj.designation.Designation`."""
    return {"name": name, "sequence": designation.sequence, "detected": designation.detected,
            "status": designation.status, "system": designation.system, "locus": designation.locus,
            "designation": designation.name, "v": designation.v_call, "d": designation.d_call,
            "j": designation.j_call, "junction": designation.junction, "junction_aa": designation.junction_aa,
            "cdr3": designation.cdr3, "cdr3_aa": designation.cdr3_aa, "productive": designation.productive,
            "unproductive_reason": designation.unproductive_reason, "evalue": designation.evalue,
            "rev_comp": designation.rev_comp, "seg": designation.seg}


def serve(stdin=sys.stdin, stdout=sys.stdout) -> int:
    """The helper loop (see the module docstring)."""
    from vdj.designation import designate_sequence
    from vdj.germline import load_germlines

    germlines: dict[str, Any] = {}
    for line in stdin:
        try:
            request = json.loads(line)
            preset = str(request.get("germline") or "multi")
            if preset not in germlines:
                germlines[preset] = load_germlines(preset)
            results = [designation_dict(item["name"], designate_sequence(item["sequence"], germlines[preset]))
                       for item in request["sequences"]]
            answer = {"results": results}
        except Exception as error:  # one bad request must not kill the helper
            answer = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"}
        stdout.write(json.dumps(answer, default=str) + "\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    if "--serve" in sys.argv:
        sys.exit(serve())
    print("usage: python -m services.jobs.segmenter --serve  (JSON lines on stdin/stdout)", file=sys.stderr)
    sys.exit(2)
