"""Curated sequences (Vidjil's ``*.should-vdj.fa``): V, D, J genes, junction and locus per sequence.

Each FASTA header is the expected designation (format: docs of vidjil ``should-vdj.md``, summarised in
/work/shared/reference/vidjil-format.md section 4.1), e.g.
``>IGHV3-74*02 7/CCGCGGT/6 IGHD3-9*01 4/CTTCGAACA/7 IGHJ4*02  [IGH]  {CAR...W} # comment``.
The header is parsed here (our own reading of the format): alternatives ``(a, b)`` are expanded, the
first gene is the 5' partner (V, D for D-J, ``Intron``), the last the 3' partner (J, ``KDE``, TRDD3),
genes in between are D. Every sequence is designated with ``vdj.designation.designate_sequence`` on the
``multi`` preset and checked on: locus, 5' gene, D genes, 3' gene (gene level), junction amino acids
(``{...}``, ``!`` = vidjil's ``#`` frameshift mark) and the full designation string (regex built from the
header, vidjil-style: alleles, deletions and N must match).

Results: a table printed by locus and test-output/should_vdj.json. The test fails when the pass rate drops
below FLOOR or when a sequence fails that is neither marked BUG/TODO in its header nor listed in
KNOWN_FAILURES (so every tolerated failure is listed, and new failures show up).
Sequences whose system is not available in the germline database (incomplete systems needing supplied
flanks/KDE, docs/germlines.md) are counted apart as "unavailable".

Run as a script for the table only: ``python tests/vdj/test_should_vdj.py [FILES...]``.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "vidjil"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
LOCI = ("IGH", "IGH+", "IGK", "IGK+", "IGL", "TRA", "TRA+D", "TRB", "TRB+", "TRG", "TRD", "TRD+")

# Floor on the pass rate (all criteria together) over the sequences whose system is available (BUG/TODO
# included). Set from the algorithm's result once it landed (42/70 = 60.0 %, commit 631bcc0 + working tree
# of the same day), minus a small margin.
FLOOR = 0.55
# (file name, header) of failing sequences not marked BUG/TODO in their header, tolerated for now
# (the algorithm's result at the same date). Remove entries as they get fixed.
KNOWN_FAILURES: set[tuple[str, str]] = {
    # TRD with two D genes (or a D) not found / D split differently
    ("0000-nck-TRD+-VDDJ.should-vdj.fa",
     "TRDV1*01 10/CTCCCGCAAAATTCA/2 TRDD2*01 0/TGCC/5 TRDD3*01 3/GCACTTTTCCTT/27 TRDJ1*01 [TRD]"),
    ("0000-nck-TRD+-VDDJ.should-vdj.fa",
     "TRDV1*01 0/T/1 TRDD1*01 2/CCTTAGGGATGGTCGAGGA/2 TRDD3*01 6//4 TRDJ1*01 [TRD]"),
    ("0000-nck-TRD+-VDDJ.should-vdj.fa",
     "TRDV1*01 1/AATCACCTCTT/1 TRDD2*01 3/CCACGAAAACAT/0 TRDD3*01 2//9 TRDJ1*01 [TRD]"),
    ("0000-nck-TRD.should-vdj.fa", "TRDV1*01 0/0/3 TRDD3 4/11/0 TRDJ1*01  [TRD]"),
    ("0000-nck-TRD.should-vdj.fa", "TRAV29/DV5*01 0/9/0 TRDD3 3/9/2 TRDJ1*01  [TRD]"),
    ("0118-lil-IGH-TRG.should-vdj.fa", "IGHV3-9*01 11/A/5 IGHD2-2*02 1/GGAA/4 IGHD3-9*01 7//10 IGHJ6*03  [IGH]"),
    ("Demo-X5.fa", "TRDV1*01 5//3 TRDD2*01 1//7 TRAJ29*01  [TRA+D]"),
    ("0120-lil-TRA+D.should-vdj.fa", "TRDV2*02 6/CGGGGCCC/3 TRDD3*01 5//27 TRAJ29*01  [TRA+D]"),
    # alleles absent from the GenAIRR IMGT set (TRDV2*02, IGHV2-70D*04/IGHV2-70*04): the gene is right
    ("0124-lil-TRA+D.should-vdj.fa", "TRDV2*02 3/TGGTGG/3 TRDD3*01 3/CCCACCTCACTTG/3 TRAJ29*01  [TRA+D]"),
    ("BRI_multi.should-vdj.fa",
     "(IGHV2-70D*04, IGHV2-70*04) 4/TCCCG/10 IGHD3-10*01 10/CCTTG/0  IGHJ5*02 [IGH]"),
}

TRIPLE = re.compile(r"^(-?\d+)/([ACGTNacgtn]*|\d+)/(-?\d+)$")
BARE_SEGMENT = re.compile(r"^(IG[HKL]|TR[ABGD])[VDJ]$")


# --- parsing -------------------------------------------------------------------------------------

@dataclass
class Case:
    """One curated sequence and what its header expects."""

    file: str
    header: str
    sequence: str
    locus: str | None = None
    junction_aa: str | None = None
    bug: bool = False
    bug_locus: bool = False
    todo: bool = False
    expansions: list[list[str]] = field(default_factory=list)  # alternatives expanded to token lists

    @property
    def tolerated(self) -> bool:
        return self.bug or self.todo


def read_should_fasta(path: Path) -> list[tuple[str, str]]:
    """(header, sequence) of an "almost FASTA" should-vdj file: '#' lines are comments, sequences may be
    mixed-case and split over lines (non-letters dropped)."""
    records, header, chunks = [], None, []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(">"):
            if header is not None:
                records.append((header, "".join(chunks)))
            header, chunks = line[1:].strip(), []
        elif line.startswith("#") or header is None:
            continue
        else:
            chunks.append(re.sub(r"[^A-Za-z]", "", line).upper())
    if header is not None:
        records.append((header, "".join(chunks)))
    return records


def _tokenize(text: str) -> list[str]:
    return re.findall(r"[(),]|[^\s(),]+", text)


def _expand(tokens: list[str], limit: int = 256) -> list[list[str]]:
    """Expand ``a (b c, d) e`` into [[a, b, c, e], [a, d, e]] (nested groups allowed)."""
    def parse_seq(pos: int) -> tuple[list[list[str]], int]:
        results: list[list[str]] = [[]]
        while pos < len(tokens) and tokens[pos] not in (")", ","):
            if tokens[pos] == "(":
                branches: list[list[str]] = []
                pos += 1
                while True:
                    sub, pos = parse_seq(pos)
                    branches.extend(sub)
                    if pos >= len(tokens) or tokens[pos] == ")":
                        pos += 1
                        break
                    pos += 1  # ','
                results = [r + b for r, b in itertools.product(results, branches)][:limit]
            else:
                results = [r + [tokens[pos]] for r in results]
                pos += 1
        return results, pos

    expansions, _ = parse_seq(0)
    return expansions


def parse_header(header: str) -> dict:
    """Expected locus, junction aa, BUG/TODO marks and designation expansions of a should-vdj header."""
    text = header.split("#", 1)[0]
    info: dict = {"bug_locus": bool(re.search(r"\bBUG-LOCUS\b", text))}
    info["bug"] = bool(re.search(r"\bBUG\b(?!-)", text))
    info["todo"] = bool(re.search(r"\bTODO\b", text))
    text = re.sub(r"\bBUG-LOCUS\b|\bBUG\b|\bTODO\b", " ", text)
    locus = re.search(r"\[([^\]]+)\]", text)
    info["locus"] = locus.group(1).strip() if locus else None
    text = re.sub(r"\[[^\]]*\]", " ", text)
    junction = re.search(r"\{([^}]*)\}", text)
    info["junction_aa"] = junction.group(1).strip() if junction else None
    text = re.sub(r"\{[^}]*\}", " ", text)
    if info["locus"] is None:  # legacy: locus after two spaces
        legacy = re.search(r"\s{2,}(\S+)\s*$", text)
        if legacy and legacy.group(1) in LOCI:
            info["locus"] = legacy.group(1)
            text = text[:legacy.start()]
    info["expansions"] = [e for e in _expand(_tokenize(text.strip())) if e]
    return info


def load_cases(paths: list[Path] | None = None) -> list[Case]:
    """Every sequence of the ``*.should-vdj.fa`` / ``*.should-get.fa`` files (default: those of
    tests/data/vidjil/should-vdj and Demo-X5.fa, whose headers use the same format)."""
    if paths is None:
        paths = sorted((DATA / "should-vdj").glob("*.should-vdj.fa")) + \
            sorted((DATA / "should-vdj").glob("*.should-get.fa")) + [DATA / "Demo-X5.fa"]
    cases = []
    for path in paths:
        for header, sequence in read_should_fasta(path):
            info = parse_header(header)
            cases.append(Case(file=path.name, header=header, sequence=sequence, locus=info["locus"],
                              junction_aa=info["junction_aa"], bug=info["bug"], bug_locus=info["bug_locus"],
                              todo=info["todo"], expansions=info["expansions"]))
    return cases


# --- expected genes and regexes -------------------------------------------------------------------

def _is_triple(token: str) -> bool:
    return bool(TRIPLE.match(token))


def split_partners(tokens: list[str]) -> tuple[str | None, list[str], str | None]:
    """(5' gene, D genes, 3' gene) of one expansion; the 5' gene is None when the header starts with
    a deletion/N triple (5' partner not asserted), the 3' None when fewer than two genes are given."""
    genes = [t for t in tokens if not _is_triple(t)]
    if not genes:
        return None, [], None
    starts_with_gene = not _is_triple(tokens[0])
    if len(genes) == 1:
        return (genes[0], [], None) if starts_with_gene else (None, [], genes[0])
    if starts_with_gene:
        return genes[0], genes[1:-1], genes[-1]
    return None, genes[:-1], genes[-1]


def _calls(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[,;\s]+", value) if v.strip()]
    return [str(v) for v in value]


def gene_matches(expected: str, call: str) -> bool:
    """Gene-level comparison of an expected header token with a called allele name."""
    exp, got = expected.upper(), call.upper()
    if exp in ("KDE", "INTRON"):
        return exp in got
    if BARE_SEGMENT.match(exp):
        return got.startswith(exp)
    return exp.split("*")[0] == got.split("*")[0]


def _gene_regex(token: str) -> str:
    upper = token.upper()
    if upper in ("KDE", "INTRON"):
        return rf"\S*{upper}\S*"
    if BARE_SEGMENT.match(upper):
        return rf"{re.escape(upper)}\S*"
    if "*" in token:
        return re.escape(token) + r"(?=\s|$)"
    return re.escape(token) + r"(\*\d+)?(?=\s|$)"


def _triple_regex(token: str) -> str:
    left, n, right = TRIPLE.match(token).groups()
    middle = f"[ACGT]{{{int(n)}}}" if n.isdigit() else re.escape(n.upper())
    return f"{re.escape(left)}/{middle}/{re.escape(right)}"


def designation_regex(expansions: list[list[str]]) -> re.Pattern | None:
    """Regex matching the designation string for any expansion (vidjil-style: unanchored search;
    between two genes written without a triple, anything is allowed: "IGHV2-26*01 IGHJ4*02" asserts V and J)."""
    branches = []
    for tokens in expansions:
        parts = []
        for i, token in enumerate(tokens):
            if i:
                both_genes = not _is_triple(tokens[i - 1]) and not _is_triple(token)
                parts.append(r"\s+(?:\S+\s+)*?" if both_genes else r"\s+")
            parts.append(_triple_regex(token) if _is_triple(token) else _gene_regex(token))
        if parts:
            branches.append("".join(parts))
    return re.compile("|".join(f"(?:{b})" for b in branches), re.IGNORECASE) if branches else None


def junction_regex(expected: str) -> re.Pattern:
    """Expected junction aa -> regex (``!`` and ``#`` = frameshift mark, ``*`` = stop codon)."""
    out = []
    for char in expected.upper():
        out.append(r"[#!]" if char in "!#" else re.escape(char))
    return re.compile("".join(out))


# --- checking ------------------------------------------------------------------------------------

@dataclass
class Result:
    file: str
    header: str
    locus: str | None
    available: bool
    detected: bool
    got: dict
    checks: dict  # criterion -> True/False (absent = not asserted)
    tolerated: bool

    @property
    def passed(self) -> bool:
        return self.available and all(self.checks.values())


def unavailable_reason(case: Case, germlines) -> str | None:
    """Why ``case`` cannot be designated with this database, or None: its system is not available, or its
    expected 5' partner is not among the system's 5' sequences (e.g. TRA+D Dd2-Ja without supplied
    TRDD+up, or a V gene absent from the GenAIRR IMGT set such as IGHV3-41)."""
    if case.locus is None:
        return None
    system = germlines.systems.get(case.locus)
    if system is None:
        return f"system {case.locus} not available"
    fives = {split_partners(tokens)[0] for tokens in case.expansions} - {None}
    if fives and not any(any(gene_matches(five, allele.name) for allele in system.five) for five in fives):
        return f"5' gene {'/'.join(sorted(fives))} not among the {case.locus} 5' sequences"
    return None


def check_case(case: Case, germlines, designate) -> Result:
    """Designate ``case.sequence`` and compare with the header's expectations."""
    available = unavailable_reason(case, germlines) is None
    checks: dict[str, bool] = {}
    got: dict = {}
    if not available:
        return Result(case.file, case.header, case.locus, False, False, got, checks, case.tolerated)
    result = designate(case.sequence, germlines)
    got = {"detected": bool(result.detected), "system": result.system, "v_call": result.v_call,
           "d_call": result.d_call, "j_call": result.j_call, "name": result.name,
           "junction_aa": result.junction_aa}
    if case.locus:
        checks["locus"] = bool(result.detected) and result.system == case.locus
    if case.expansions:
        five_ok = d_ok = three_ok = None
        d_called = _calls(getattr(result, "d_calls", None) or result.d_call)
        for tokens in case.expansions:
            five, ds, three = split_partners(tokens)
            if five is not None:
                ok = any(gene_matches(five, c) for c in _calls(result.v_call))
                five_ok = ok if five_ok is None else five_ok or ok
            no_d = not ds and len(tokens) == 3 and _is_triple(tokens[1]) and bool(germlines.systems[case.locus].d
                                                                                   if case.locus else False)
            if ds or no_d:  # "V a/N/b J" on a locus with D genes asserts that there is no D
                ok = len(ds) == len(d_called) and all(gene_matches(e, c) for e, c in zip(ds, d_called))
                d_ok = ok if d_ok is None else d_ok or ok
            if three is not None:
                ok = any(gene_matches(three, c) for c in _calls(result.j_call))
                three_ok = ok if three_ok is None else three_ok or ok
        for name, value in (("5'", five_ok), ("D", d_ok), ("3'", three_ok)):
            if value is not None:
                checks[name] = bool(value)
        pattern = designation_regex(case.expansions)
        if pattern is not None:
            checks["designation"] = bool(result.name) and bool(pattern.search(result.name))
    if case.junction_aa:
        checks["junction"] = bool(result.junction_aa) and \
            bool(junction_regex(case.junction_aa).search(result.junction_aa))
    if not checks:
        checks["detected"] = bool(result.detected)
    return Result(case.file, case.header, case.locus, True, bool(result.detected), got, checks, case.tolerated)


def summarise(results: list[Result]) -> dict:
    """Per-locus table: tested, passed, unavailable, tolerated failures, per-criterion pass counts."""
    table: dict[str, dict] = {}
    for r in results:
        row = table.setdefault(r.locus or "?", {"sequences": 0, "unavailable": 0, "tested": 0, "passed": 0,
                                                  "failed_tolerated": 0, "failed": 0, "criteria": {}})
        row["sequences"] += 1
        if not r.available:
            row["unavailable"] += 1
            continue
        row["tested"] += 1
        if r.passed:
            row["passed"] += 1
        elif r.tolerated:
            row["failed_tolerated"] += 1
        else:
            row["failed"] += 1
        for criterion, ok in r.checks.items():
            cell = row["criteria"].setdefault(criterion, [0, 0])
            cell[0] += int(ok)
            cell[1] += 1
    return dict(sorted(table.items(), key=lambda kv: LOCI.index(kv[0]) if kv[0] in LOCI else 99))


def format_table(table: dict) -> str:
    criteria = ["locus", "5'", "D", "3'", "junction", "designation"]
    lines = [f"{'locus':7} {'seqs':>4} {'unav':>4} {'test':>4} {'pass':>4} {'tolF':>4} {'FAIL':>4}  "
             + "  ".join(f"{c:>11}" for c in criteria)]
    totals = {"sequences": 0, "unavailable": 0, "tested": 0, "passed": 0, "failed_tolerated": 0, "failed": 0}
    total_criteria: dict[str, list[int]] = {}
    for locus, row in table.items():
        for key in totals:
            totals[key] += row[key]
        for c, (ok, n) in row["criteria"].items():
            cell = total_criteria.setdefault(c, [0, 0])
            cell[0] += ok
            cell[1] += n
        lines.append(_row(locus, row, row["criteria"], criteria))
    lines.append(_row("all", totals, total_criteria, criteria))
    return "\n".join(lines)


def _row(label, row, crit, criteria) -> str:
    cells = "  ".join(f"{(f'{crit[c][0]}/{crit[c][1]}' if c in crit else '-'):>11}" for c in criteria)
    return (f"{label:7} {row['sequences']:>4} {row['unavailable']:>4} {row['tested']:>4} {row['passed']:>4} "
            f"{row['failed_tolerated']:>4} {row['failed']:>4}  {cells}")


def run(paths: list[Path] | None = None) -> tuple[list[Result], dict]:
    from vdj.designation import designate_sequence
    from vdj.germline import load_germlines

    germlines = load_germlines("multi")
    cases = load_cases(paths)
    results = [check_case(case, germlines, designate_sequence) for case in cases]
    table = summarise(results)
    tested = [r for r in results if r.available]
    report = {
        "germlines": {"systems": list(germlines.systems), "ref": germlines.ref},
        "sequences": len(results), "tested": len(tested), "passed": sum(r.passed for r in tested),
        "pass_rate": (sum(r.passed for r in tested) / len(tested)) if tested else 0.0,
        "pass_rate_untagged": _rate([r for r in tested if not r.tolerated]),
        "floor": FLOOR, "by_locus": table,
        "failures_not_tolerated": [asdict(r) for r in tested if not r.passed and not r.tolerated],
        "failures_tolerated": [asdict(r) for r in tested if not r.passed and r.tolerated],
        "unavailable": [{"file": c.file, "header": c.header, "locus": c.locus,
                         "reason": unavailable_reason(c, germlines)} for c in cases
                        if unavailable_reason(c, germlines) is not None],
    }
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "should_vdj.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    return results, report


def _rate(results: list[Result]) -> float:
    return sum(r.passed for r in results) / len(results) if results else 0.0


def load_locus_cases(paths: list[Path] | None = None) -> list[tuple[str, str, str, str]]:
    """(file, name, expected locus or "UNSEG", sequence) of ``*.should-locus.fa`` files (header
    ``name__LOCUS``; ``__UNSEG`` = must not be detected)."""
    if paths is None:
        paths = sorted((DATA / "should-vdj").glob("*.should-locus.fa"))
    cases = []
    for path in paths:
        for header, sequence in read_should_fasta(path):
            name = header.split()[0] if header.split() else header
            locus = name.rsplit("__", 1)[1] if "__" in name else ""
            cases.append((path.name, name, locus.upper() if locus.upper() == "UNSEG" else locus, sequence))
    return cases


def random_negatives(count: int = 40, seed: int = 20240627) -> list[tuple[str, str, str, str]]:
    """Random sequences of 150-300 nt: must stay undetected (like vidjil's do_not_segment controls)."""
    import random

    rng = random.Random(seed)
    return [("random", f"random{i}", "UNSEG", "".join(rng.choice("ACGT") for _ in range(rng.randint(150, 300))))
            for i in range(count)]


# --- tests -----------------------------------------------------------------------------------------

def test_header_parsing():
    info = parse_header("IGHV3-74*02 7/CCGCGGT/6 IGHD3-9*01 4/CTTCGAACA/7 IGHJ4*02  [IGH]  {CARW} # note BUG")
    assert info["locus"] == "IGH" and info["junction_aa"] == "CARW" and not info["bug"]
    assert info["expansions"] == [["IGHV3-74*02", "7/CCGCGGT/6", "IGHD3-9*01", "4/CTTCGAACA/7", "IGHJ4*02"]]
    info = parse_header("IGKV1-5*03 (9/4/1 IGKJ1*01, 9/7/4 IGKJ4*02)  [IGK]  {CQQYNRLWTF}")
    assert info["expansions"] == [["IGKV1-5*03", "9/4/1", "IGKJ1*01"], ["IGKV1-5*03", "9/7/4", "IGKJ4*02"]]
    info = parse_header("(IGHV1-18*01, IGHV1-18*04) 0//0 IGHD3-16*01 0//0 (IGHJ4*01, IGHJ4*02)  [IGH] BUG-LOCUS")
    assert info["bug_locus"] and not info["bug"] and len(info["expansions"]) == 4
    assert parse_header("TRGV1*01 0/AAA/0 TRGJ1*01  [TRG] BUG")["bug"]
    assert parse_header("IGHV1-18 (IGHJ1, IGHJ2)")["locus"] is None
    assert split_partners(["1/TGAGG/5", "IGHD2-15*01", "1/AA/5", "IGHJ5*02"]) == (None, ["IGHD2-15*01"], "IGHJ5*02")
    assert split_partners(["TRDD2", "1/3/15", "TRDD3"]) == ("TRDD2", [], "TRDD3")
    assert split_partners(["Intron", "2/0/9", "KDE"]) == ("Intron", [], "KDE")


def test_regexes():
    pattern = designation_regex(parse_header("IGKV1-5*03 (9/4/1 IGKJ1*01, 9/7/4 IGKJ4*02) [IGK]")["expansions"])
    assert pattern.search("IGKV1-5*03 9/ACGT/1 IGKJ1*01")
    assert not pattern.search("IGKV1-5*03 9/ACG/1 IGKJ1*01")
    assert not pattern.search("IGKV1-5*01 9/ACGT/1 IGKJ1*01")
    pattern = designation_regex(parse_header("TRGV3 7/TTT/6 TRGJP1 [TRG]")["expansions"])
    assert pattern.search("TRGV3*02 7/TTT/6 TRGJP1*01") and not pattern.search("TRGV3-1*01 7/TTT/6 TRGJP1*01")
    pattern = designation_regex(parse_header("TRDV1*01 TRDD2*01 TRAJ29*01 [TRA+D]")["expansions"])
    assert pattern.search("TRDV1*01 5//3 TRDD2*01 1//7 TRAJ29*01")
    pattern = designation_regex(parse_header("IGHV2-26*01 IGHJ4*02 [IGH]")["expansions"])
    assert pattern.search("IGHV2-26*01 0//18 IGHD3-16*02 3/GATTCTC/6 IGHJ4*02")
    assert junction_regex("CATWDG!YYKKLF").search("CATWDG#YYKKLF")
    assert gene_matches("IGHV1-18", "IGHV1-18*04") and not gene_matches("IGHV1-18", "IGHV1-18-2*01")
    assert gene_matches("KDE", "IGK-KDE") and gene_matches("Intron", "Intron")


def test_curated_files_parse():
    cases = load_cases()
    assert len(cases) >= 100
    assert all(case.sequence and set(case.sequence) <= set("ACGTNRYKMSWBDHV") for case in cases)
    assert {case.locus for case in cases} >= {"IGH", "IGH+", "IGK+", "TRA+D", "TRB+", "TRD", "TRD+", "TRG"}


def test_should_vdj_pass_rate():
    try:
        import vdj.designation  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"vdj.designation is missing ({exc}): the analysis algorithm has not landed")
    results, report = run()
    print()
    print(format_table(report["by_locus"]))
    print(f"pass rate {report['pass_rate']:.1%} of {report['tested']} tested sequences "
          f"(untagged {report['pass_rate_untagged']:.1%}); {len(report['unavailable'])} unavailable systems; "
          f"details in test-output/should_vdj.json")
    unexpected = [(r.file, r.header) for r in results
                  if r.available and not r.passed and not r.tolerated and (r.file, r.header) not in KNOWN_FAILURES]
    for file, header in unexpected:
        print(f"  FAIL {file}: {header}")
    assert report["pass_rate"] >= FLOOR, f"pass rate {report['pass_rate']:.1%} below the floor {FLOOR:.1%}"
    assert not unexpected, f"{len(unexpected)} failing sequences neither BUG/TODO nor in KNOWN_FAILURES"


if __name__ == "__main__":
    _results, _report = run([Path(p) for p in sys.argv[1:]] or None)
    print(format_table(_report["by_locus"]))
    print(f"pass rate {_report['pass_rate']:.1%} ({_report['passed']}/{_report['tested']}); "
          f"untagged {_report['pass_rate_untagged']:.1%}")
    for failure in _report["failures_not_tolerated"]:
        print(f"  FAIL {failure['file']}: {failure['header']}\n       got {failure['got'].get('name')!r} "
              f"[{failure['got'].get('system')}] {failure['got'].get('junction_aa')} "
              f"{ {k: v for k, v in failure['checks'].items() if not v} }")


def test_should_locus():
    """``*.should-locus.fa`` sequences get their locus (``__UNSEG``: not detected), and random sequences
    are not detected."""
    from vdj.designation import designate_sequence
    from vdj.germline import load_germlines

    germlines = load_germlines("multi")
    failures = []
    cases = load_locus_cases() + random_negatives()
    for file, name, locus, sequence in cases:
        if locus and locus != "UNSEG" and locus not in germlines.systems:
            continue  # system not available (docs/germlines.md)
        result = designate_sequence(sequence, germlines)
        ok = (not result.detected) if locus == "UNSEG" else (result.detected and result.system == locus)
        if not ok:
            failures.append(f"{file}: {name} -> {result.system if result.detected else result.status}")
    assert not failures, "\n".join(failures)
