"""Building the germline database: from GenAIRR package data, IMGT/GENE-DB FASTA, supplied special sequences.

Anchors (IMGT unique numbering, Lefranc et al. 2003, Dev. Comp. Immunol. 27:55):
- V: 1st nt of the 2nd-CYS codon, position 104 = IMGT-gapped nucleotides 310-312;
- J: 1st nt of the J-PHE/J-TRP codon 118, recognised by the F/W-G-x-G motif (118-121).
Every anchor taken from GenAIRR is checked; wrong or missing ones are recomputed (gapped V position,
Y-x-C motif, F/W-G-x-G motif, position of a sibling allele, relaxed motifs) and listed in provenance.json.
This module is only used at build/import time (GenAIRR is imported lazily); loading lives in vdj.germline.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import hashlib
import json
import os
import pickle
import re
import sys
from collections import defaultdict
from pathlib import Path

from vdj.germline import (
    DATABASE_FILE, FORMAT_VERSION, LOCI, PROVENANCE_FILE, SPECIES, Allele, GermlineError, available_systems,
    germline_root, normalise_species, read_database,
)

CYS = ("TGT", "TGC")
TYR = ("TAT", "TAC")
PHE_TRP = ("TTT", "TTC", "TGG")
COLUMNS = ["name", "segment", "locus", "sequence", "anchor", "functional", "flank5", "flank3"]

_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {a + b + c: _AMINO[16 * i + 4 * j + k]
               for i, a in enumerate(_BASES) for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}

# GenAIRR data configs per species and locus (file stem in GenAIRR/data/builtin_dataconfigs/).
GENAIRR_CONFIGS = {
    "homo-sapiens": {"IGH": "HUMAN_IGH", "IGK": "HUMAN_IGK", "IGL": "HUMAN_IGL", "TRA": "HUMAN_TCRA",
                     "TRB": "HUMAN_TCRB", "TRG": "HUMAN_TCRG", "TRD": "HUMAN_TCRD"},
    "mus-musculus": {"IGH": "MOUSE_IGH", "IGK": "MOUSE_IGK", "IGL": "MOUSE_IGL", "TRA": "MOUSE_TCRA",
                     "TRB": "MOUSE_TCRB", "TRG": "MOUSE_TCRG", "TRD": "MOUSE_TCRD"},
}
#: Loci for which GenAIRR has an OGRDB (AIRR-C) set besides the IMGT one.
OGRDB_LOCI = {"homo-sapiens": {"IGH", "IGK", "IGL"}}

LICENCE_NOTES = {
    "GenAIRR": "GenAIRR package: GPL-3.0-or-later",
    "IMGT": ("IMGT/GENE-DB sequences: IMGT terms of use (vidjil quotes CC BY-NC-ND 4.0, academic/non-profit use; "
             "commercial use needs an agreement with CNRS). Cite IMGT, http://www.imgt.org"),
    "OGRDB": ("OGRDB / AIRR Community germline reference sets (https://ogrdb.airr-community.org): published openly "
              "by AIRR-C (licence believed CC BY 4.0, not verified offline)"),
}


def translate(seq: str) -> str:
    """Amino-acid translation of ``seq`` from its first nucleotide ('X' for codons with non-ACGT)."""
    return "".join(CODON_TABLE.get(seq[i:i + 3], "X") for i in range(0, len(seq) - 2, 3))


def _aa(seq: str, pos: int) -> str:
    codon = seq[pos:pos + 3]
    return CODON_TABLE.get(codon, "X") if len(codon) == 3 and pos >= 0 else ""


def j_motif_ok(seq: str, pos: int) -> bool:
    """True when the codon at ``pos`` is Phe/Trp and followed by G-x-G (the J 118-121 motif)."""
    return seq[pos:pos + 3] in PHE_TRP and _aa(seq, pos + 3) == "G" and _aa(seq, pos + 9) == "G"


def v_anchor_ok(seq: str, pos: int | None) -> bool:
    return pos is not None and 0 <= pos and seq[pos:pos + 3] in CYS


def gapped_cys_position(gapped: str | None) -> tuple[int | None, str | None]:
    """(ungapped offset, codon) of IMGT-gapped nucleotides 310-312, or (None, None) if not covered."""
    if not gapped or len(gapped) < 312:
        return None, None
    codon = gapped[309:312].upper()
    if "." in codon or "-" in codon:
        return None, None
    return len(gapped[:309].replace(".", "").replace("-", "")), codon


def find_v_anchor(seq: str, gapped: str | None, given: int | None) -> tuple[int | None, str | None]:
    """Cys104 offset of a V allele -> (anchor, method); method None when ``given`` was right.

    Order: given anchor if its codon is TGT/TGC; IMGT-gapped position 310-312 if Cys; the last
    Tyr-x-Cys in the 3' 40 nt; the gapped position even if not Cys (ORF/pseudogene: flagged); else None."""
    if v_anchor_ok(seq, given):
        return given, None
    gapped_pos, gapped_codon = gapped_cys_position(gapped)
    if gapped_pos is not None and gapped_codon in CYS and seq[gapped_pos:gapped_pos + 3] in CYS:
        return gapped_pos, "IMGT-gapped position 310-312"
    for pos in range(len(seq) - 3, max(6, len(seq) - 40) - 1, -1):
        if seq[pos:pos + 3] in CYS and seq[pos - 6:pos - 3] in TYR:
            return pos, "Y-x-C motif near the 3' end"
    if gapped_pos is not None:
        return gapped_pos, f"IMGT-gapped position 310-312, codon {seq[gapped_pos:gapped_pos + 3]} is not Cys"
    return None, "not found"


def _closest(candidates: list[int], target: int, window: int) -> int | None:
    inside = [p for p in candidates if abs(p - target) <= window]
    return min(inside, key=lambda p: (abs(p - target), p)) if inside else None


def find_j_anchor(seq: str, given: int | None, sibling_offsets_from_end: list[tuple[str, int]] = ()
                  ) -> tuple[int | None, str | None]:
    """Phe/Trp118 offset of a J allele -> (anchor, method); method None when ``given`` was right.

    Order: given anchor if F/W-G-x-G; the F/W-G-x-G motif in any frame (closest to the usual place,
    33 nt before the 3' end); the position of a sibling allele of the same gene (same distance to the 3'
    end) when G-x-G follows; relaxed motifs F/W-x-x-G or F/W-G-x-x (e.g. TRAJ16, TRGJP1/P2) or x-G-x-G
    (e.g. TRBJ2-7*02) near the usual place; the given anchor if its codon is F/W; else None."""
    if given is not None and j_motif_ok(seq, given):
        return given, None
    target = len(seq) - 33
    strict = [p for p in range(0, len(seq) - 11) if j_motif_ok(seq, p)]
    pos = _closest(strict, target, 30)
    if pos is not None:
        return pos, "F/W-G-x-G motif"
    for sibling, offset in sibling_offsets_from_end:
        pos = len(seq) - offset
        if 0 <= pos <= len(seq) - 12 and (_aa(seq, pos + 3) == "G" or _aa(seq, pos + 9) == "G"):
            return pos, f"same position as {sibling} (codon {seq[pos:pos + 3]})"
    relaxed = [p for p in range(0, len(seq) - 11)
               if seq[p:p + 3] in PHE_TRP and (_aa(seq, p + 9) == "G" or _aa(seq, p + 3) == "G")]
    pos = _closest(relaxed, target, 10)
    if pos is not None:
        return pos, f"relaxed motif {translate(seq[pos:pos + 12])} (F/W-x-x-G or F/W-G-x-x)"
    gxg = [p for p in range(0, len(seq) - 11) if _aa(seq, p + 3) == "G" and _aa(seq, p + 9) == "G"]
    pos = _closest(gxg, target, 6)
    if pos is not None:
        return pos, f"relaxed motif {translate(seq[pos:pos + 12])} (x-G-x-G, codon not F/W)"
    if given is not None and seq[given:given + 3] in PHE_TRP:
        return given, "given anchor kept: F/W codon without G-x-G"
    return None, "not found"


def clean_sequence(seq: str) -> str:
    """Uppercase, gaps removed; raises GermlineError on characters other than IUPAC nucleotides."""
    out = seq.replace(".", "").replace("-", "").replace(" ", "").upper()
    if not re.fullmatch(r"[ACGTNRYKMSWBDHV]*", out):
        raise GermlineError(f"unexpected characters in germline sequence: {out[:60]!r}")
    return out


def check_anchors(alleles: list[Allele], givens: dict[str, int | None] | None = None,
                  gapped: dict[str, str] | None = None) -> tuple[list[Allele], list[dict]]:
    """Check and recompute anchors of V and J alleles. ``givens`` = anchors from the source (by key),
    ``gapped`` = IMGT-gapped V sequences (by key). Returns (alleles with anchors set, patch records)."""
    givens = givens or {}
    gapped = gapped or {}
    by_gene: dict[str, list[Allele]] = defaultdict(list)
    for allele in alleles:
        by_gene[(allele.locus, allele.gene)].append(allele)
    out, patches = [], []
    # J first pass: reliable anchors per gene for the sibling rule
    good_j: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for allele in alleles:
        given = givens.get(_uid(allele), allele.anchor)
        if allele.segment == "J" and given is not None and j_motif_ok(allele.sequence, given):
            good_j[(allele.locus, allele.gene)].append((allele.name, len(allele.sequence) - given))
    for allele in alleles:
        given = givens.get(_uid(allele), allele.anchor)
        if allele.segment == "V":
            anchor, method = find_v_anchor(allele.sequence, gapped.get(_uid(allele)), given)
        elif allele.segment == "J":
            siblings = [s for s in good_j[(allele.locus, allele.gene)] if s[0] != allele.name]
            anchor, method = find_j_anchor(allele.sequence, given, siblings)
        else:
            out.append(allele)
            continue
        if method is not None:
            codon = allele.sequence[anchor:anchor + 3] if anchor is not None else None
            patches.append({"allele": allele.name, "locus": allele.locus, "segment": allele.segment,
                            "source_anchor": given, "anchor": anchor, "codon": codon, "method": method})
        out.append(Allele(allele.name, allele.segment, allele.locus, allele.sequence, anchor,
                          allele.functional, allele.flank5, allele.flank3))
    return out, patches


def _uid(allele: Allele) -> str:
    return f"{allele.locus}|{allele.segment}|{allele.name}"


# --- writing ------------------------------------------------------------------------------------

def _sort_key(allele: Allele):
    parts = re.split(r"(\d+)", allele.name)
    return (allele.locus, "VDJ".find(allele.segment) if allele.segment in "VDJ" else 9, allele.segment,
            [int(p) if p.isdigit() else p for p in parts])


def write_database(directory: Path, species: str, alleles: list[Allele], provenance: dict) -> Path:
    """Write germlines.json, provenance.json and fasta/*.fa into ``directory`` (atomically per file)."""
    species_name, taxon_id, _ = SPECIES.get(species, (species.replace("-", " ").capitalize(), 0, ()))
    directory.mkdir(parents=True, exist_ok=True)
    alleles = sorted(alleles, key=_sort_key)
    header = {"format": FORMAT_VERSION, "species": species, "species_name": species_name, "taxon_id": taxon_id,
              "built_at": provenance.get("built_at"), "ref": provenance.get("ref", ""), "columns": COLUMNS,
              "alleles": [[getattr(a, c) for c in COLUMNS] for a in alleles]}
    counts: dict[str, dict[str, int]] = {}
    for allele in alleles:
        counts.setdefault(allele.locus, {}).setdefault(allele.segment, 0)
        counts[allele.locus][allele.segment] += 1
    provenance = dict(provenance, species=species, counts=counts,
                      systems_available=list(available_systems(alleles)))
    _atomic_write(directory / DATABASE_FILE, json.dumps(header, separators=(",", ":")))
    _atomic_write(directory / PROVENANCE_FILE, json.dumps(provenance, indent=2, default=str) + "\n")
    fasta_dir = directory / "fasta"
    fasta_dir.mkdir(exist_ok=True)
    for old in fasta_dir.glob("*.fa"):
        old.unlink()
    groups: dict[str, list[Allele]] = defaultdict(list)
    for allele in alleles:
        groups[_fasta_name(allele)].append(allele)
    for name, group in groups.items():
        lines = []
        for allele in group:
            extra = f" anchor={allele.anchor}" if allele.anchor is not None else ""
            if allele.flank5 or allele.flank3:
                extra += f" flank5={allele.flank5} flank3={allele.flank3}"
            lines.append(f">{allele.name} segment={allele.segment} locus={allele.locus}{extra}\n{allele.sequence}\n")
        _atomic_write(fasta_dir / name, "".join(lines))
    return directory


def _fasta_name(allele: Allele) -> str:
    if allele.segment in ("V", "D", "J"):
        return f"{allele.locus}{allele.segment}.fa"
    if allele.segment == "UP":
        return f"{allele.locus}D+up.fa"
    if allele.segment == "DOWN":
        return f"{allele.locus}+down.fa"
    return f"{allele.locus}-{allele.segment}.fa"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- GenAIRR ------------------------------------------------------------------------------------

def _genairr_dir() -> tuple[Path, str]:
    try:
        import GenAIRR  # noqa: F401  (the pickles need its classes)
        from importlib.metadata import version
    except ImportError as exc:
        raise GermlineError("GenAIRR is not installed: pip install -e '.[germline]' (genairr==2.3.1)") from exc
    return Path(GenAIRR.__file__).resolve().parent / "data" / "builtin_dataconfigs", version("genairr")


def build_from_genairr(dest_dir=None, species: str = "homo-sapiens", reference_set: str = "imgt") -> Path:
    """See :func:`vdj.germline.build_germlines`. Keeps special sequences and imports already present in
    the destination (a rebuild does not lose administrator-supplied flanks)."""
    species = normalise_species(species)
    if species not in GENAIRR_CONFIGS:
        raise GermlineError(f"no GenAIRR data configured for species {species!r}; known: "
                            + ", ".join(GENAIRR_CONFIGS))
    reference_set = reference_set.lower()
    if reference_set not in ("imgt", "ogrdb"):
        raise GermlineError("reference set must be 'imgt' or 'ogrdb'")
    data_dir, genairr_version = _genairr_dir()
    directory = germline_root(dest_dir) / species
    alleles: list[Allele] = []
    givens: dict[str, int | None] = {}
    gapped: dict[str, str] = {}
    configs = {}
    for locus, stem in GENAIRR_CONFIGS[species].items():
        use = "OGRDB" if reference_set == "ogrdb" and locus in OGRDB_LOCI.get(species, ()) else "IMGT"
        path = data_dir / f"{stem}_{use}.pkl"
        with open(path, "rb") as handle:
            config = pickle.load(handle)  # trusted: data files of the installed GenAIRR package
        meta = config.metadata
        configs[locus] = {"file": path.name, "reference_set": getattr(meta, "reference_set", use),
                          "last_updated": str(getattr(meta, "last_updated", "")), "metadata": str(meta),
                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        for segment, table in (("V", config.v_alleles), ("D", config.d_alleles), ("J", config.j_alleles)):
            for gene_alleles in (table or {}).values():
                for source in gene_alleles:
                    allele = Allele(name=source.name, segment=segment, locus=locus,
                                    sequence=clean_sequence(source.ungapped_seq), anchor=None,
                                    functional=_functional(getattr(source, "functional_status", None)))
                    givens[_uid(allele)] = getattr(source, "anchor", None) if segment != "D" else None
                    if segment == "V":
                        gapped[_uid(allele)] = (source.gapped_seq or "").upper()
                    alleles.append(allele)
    alleles, patches = check_anchors(alleles, givens, gapped)
    kept_special, kept_imports = _previous_extras(directory)
    names_sets = {c["reference_set"] for c in configs.values()}
    updated = sorted({c["last_updated"] for c in configs.values()})
    provenance = {
        "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "built_by": "python -m vdj.germline build",
        "source": {"package": "GenAIRR", "version": genairr_version, "licence": "GPL-3.0-or-later",
                   "data_dir": "GenAIRR/data/builtin_dataconfigs"},
        "reference_set": reference_set.upper(),
        "ref": f"GenAIRR {genairr_version} {'/'.join(sorted(names_sets))} {'/'.join(updated)}",
        "configs": configs,
        "licences": [LICENCE_NOTES["GenAIRR"], LICENCE_NOTES["IMGT"]]
                    + ([LICENCE_NOTES["OGRDB"]] if reference_set == "ogrdb" else []),
        "anchor_patches": patches,
        "anchors_missing": [p["allele"] for p in patches if p["anchor"] is None],
        "special_sequences": [], "imports": kept_imports,
    }
    alleles.extend(kept_special)
    if kept_special:
        provenance["special_sequences"] = _previous_provenance(directory).get("special_sequences", [])
    return write_database(directory, species, alleles, provenance)


def _functional(status) -> str | None:
    if status is None:
        return None
    text = str(getattr(status, "value", status)).upper().strip("()[] ")
    return text if text in ("F", "ORF", "P") else None


def _previous_provenance(directory: Path) -> dict:
    try:
        return json.loads((directory / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _previous_extras(directory: Path) -> tuple[list[Allele], list]:
    try:
        _, alleles = read_database(directory)
    except GermlineError:
        return [], []
    special = [a for a in alleles if a.segment not in ("V", "D", "J")]
    return special, []


# --- IMGT/GENE-DB FASTA import ------------------------------------------------------------------

def read_fasta(path: Path) -> list[tuple[str, str]]:
    """(header without '>', sequence) records of a FASTA file (plain or .gz)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    records, header, chunks = [], None, []
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith(";") or line.startswith("#"):
                continue
            if line.startswith(">"):
                if header is not None:
                    records.append((header, "".join(chunks)))
                header, chunks = line[1:].strip(), []
            elif header is not None:
                chunks.append(line)
    if header is not None:
        records.append((header, "".join(chunks)))
    return records


IMGT_NAME = re.compile(r"^(IG[HKL]|TR[ABGD])[A-Z0-9/()\-.]*\*\d+$")


def parse_imgt_header(header: str) -> dict:
    """Fields of an IMGT/GENE-DB FASTA header
    ``accession|allele|species|functionality|region|start..end|length|codon_start|...``.
    Raises GermlineError when the allele field is not an IMGT allele name."""
    fields = header.split("|")
    if len(fields) < 5 or not IMGT_NAME.match(fields[1].strip()):
        raise GermlineError(f"not an IMGT/GENE-DB header: {header[:80]!r}")
    codon_start = None
    if len(fields) > 7 and fields[7].strip().isdigit():
        codon_start = int(fields[7])
    return {"accession": fields[0].strip(), "name": fields[1].strip(), "species": fields[2].strip(),
            "functional": _functional(fields[3].strip()), "region": fields[4].strip(), "codon_start": codon_start,
            "partial": "partial" in header}


def import_imgt(files: list[str | os.PathLike], dest_dir=None, species: str = "homo-sapiens",
                merge: bool = False) -> tuple[Path, dict]:
    """Import IMGT/GENE-DB FASTA files (V-REGION, D-REGION, J-REGION records of ``species``) into the
    database (created if absent). By default each imported (locus, segment) set replaces the existing
    one (e.g. an IGHV file replaces all IGHV alleles); ``merge`` adds/overwrites by allele name instead.
    TRAV/DV alleles are filed under both TRA and TRD, as in IMGT's TRDV set.
    Returns (species directory, summary counts). Raises GermlineError on unreadable/foreign files."""
    species = normalise_species(species)
    species_name = SPECIES.get(species, (species.replace("-", " "),))[0]
    directory = germline_root(dest_dir) / species
    try:
        _, existing = read_database(directory)
    except GermlineError:
        existing = []
    provenance = _previous_provenance(directory)
    imported: list[Allele] = []
    gapped: dict[str, str] = {}
    summary = {"files": [], "imported": 0, "skipped_species": 0, "skipped_region": 0}
    for file in files:
        path = Path(file)
        records = read_fasta(path)
        if not records:
            raise GermlineError(f"{path}: no FASTA records")
        count = 0
        for header, raw in records:
            info = parse_imgt_header(header)
            if info["species"] and info["species"].lower() != species_name.lower():
                summary["skipped_species"] += 1
                continue
            region = info["region"].upper()
            segment = {"V-REGION": "V", "D-REGION": "D", "J-REGION": "J"}.get(region)
            if segment is None:
                summary["skipped_region"] += 1
                continue
            name = info["name"]
            loci = [name[:3]]
            if name.startswith("TRAV") and "/DV" in name:
                loci = ["TRA", "TRD"]
            for locus in loci:
                allele = Allele(name, segment, locus, clean_sequence(raw), None, info["functional"])
                if segment == "V" and "." in raw:
                    gapped[_uid(allele)] = raw.upper()
                imported.append(allele)
            count += 1
        summary["files"].append({"path": str(path), "records": count,
                                 "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        summary["imported"] += count
    if not imported:
        raise GermlineError(f"no {species_name} V/D/J-REGION records in {', '.join(map(str, files))}")
    imported, patches = check_anchors(imported, {}, gapped)
    replaced = {(a.locus, a.segment) for a in imported}
    names = {_uid(a) for a in imported}
    if merge:
        kept = [a for a in existing if _uid(a) not in names]
    else:
        kept = [a for a in existing if (a.locus, a.segment) not in replaced]
    provenance.setdefault("built_at", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    provenance.setdefault("licences", [LICENCE_NOTES["IMGT"]])
    if LICENCE_NOTES["IMGT"] not in provenance["licences"]:
        provenance["licences"].append(LICENCE_NOTES["IMGT"])
    provenance.setdefault("ref", "IMGT/GENE-DB import")
    provenance.setdefault("anchor_patches", [])
    provenance["anchor_patches"] = [p for p in provenance["anchor_patches"]
                                    if f"{p['locus']}|{p['segment']}|{p['allele']}" not in names] + patches
    provenance["anchors_missing"] = [p["allele"] for p in provenance["anchor_patches"] if p["anchor"] is None]
    provenance.setdefault("imports", []).append({
        "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "kind": "imgt",
        "mode": "merge" if merge else "replace", "sets": sorted(f"{l}{s}" for l, s in replaced), **summary})
    write_database(directory, species, kept + imported, provenance)
    return directory, summary


# --- administrator-supplied special sequences ---------------------------------------------------

def _segment_from_filename(name: str) -> str | None:
    lower = name.lower()
    if "+up" in lower or "_up" in lower or "upstream" in lower:
        return "UP"
    if "+down" in lower or "_down" in lower or "downstream" in lower:
        return "DOWN"
    if "kde" in lower:
        return "KDE"
    if "intron" in lower:
        return "INTRON"
    return None


def import_special(files: list[str | os.PathLike], dest_dir=None, species: str = "homo-sapiens",
                   segment: str | None = None, flank: int | None = None) -> tuple[Path, dict]:
    """Add special sequences needed by incomplete recombinations (docs/germlines.md, "Supplied sequences").

    FASTA header: ``>NAME [segment=UP|DOWN|KDE|INTRON] [locus=IGK] [flank=60]`` or an IMGT pipe header;
    NAME is the IMGT allele of the gene body (``IGHD2-2*01``, ``TRDD3*01``) for UP/DOWN, and free for
    KDE/INTRON (default ``IGK-KDE`` / ``Intron``). The segment comes from the header, else ``segment``,
    else the file name (``IGHD+up.fa``, ``TRDD3+down.fa``, ``IGK-KDE.fa``, ``IGK-INTRON.fa``).
    The flank length is found by locating the known D/J body in the sequence, else ``flank=``/``flank``,
    else 60 nt (vidjil's flank length). Sequences with the same name and segment are replaced.
    Raises GermlineError when the database does not exist yet or a record cannot be classified."""
    species = normalise_species(species)
    directory = germline_root(dest_dir) / species
    _, existing = read_database(directory)
    bodies = {(a.locus, a.name): a.sequence for a in existing if a.segment in ("D", "J")}
    added: list[Allele] = []
    summary = {"files": [], "added": 0}
    for file in files:
        path = Path(file)
        records = read_fasta(path)
        if not records:
            raise GermlineError(f"{path}: no FASTA records")
        for header, raw in records:
            tokens = header.split()
            opts = dict(t.split("=", 1) for t in tokens[1:] if "=" in t)
            name = tokens[0] if tokens else ""
            if "|" in name:
                name = name.split("|")[1]
            kind = (opts.get("segment") or segment or _segment_from_filename(path.name) or "").upper()
            if kind not in ("UP", "DOWN", "KDE", "INTRON"):
                raise GermlineError(f"{path}: cannot tell the kind of {header[:60]!r}: add segment=UP|DOWN|KDE|"
                                    f"INTRON to the header or use --segment")
            if kind in ("KDE", "INTRON") and not name:
                name = "IGK-KDE" if kind == "KDE" else "Intron"
            locus = opts.get("locus") or (name[:3] if re.match(r"^(IG[HKL]|TR[ABGD])", name) else "IGK")
            seq = clean_sequence(raw)
            flank5 = flank3 = 0
            if kind in ("UP", "DOWN"):
                body = bodies.get((locus, name)) or bodies.get((locus, name.split("*")[0] + "*01"))
                given = int(opts["flank"]) if "flank" in opts else flank
                if kind == "UP":
                    if body and seq.endswith(body):
                        flank5 = len(seq) - len(body)
                    else:
                        flank5 = given if given is not None else min(60, max(len(seq) - 8, 0))
                else:
                    if body and seq.startswith(body):
                        flank3 = len(seq) - len(body)
                    else:
                        flank3 = given if given is not None else min(60, max(len(seq) - 8, 0))
            added.append(Allele(name, kind, locus, seq, None, None, flank5, flank3))
        summary["files"].append({"path": str(path), "records": len(records),
                                 "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        summary["added"] += len(records)
    keys = {(a.locus, a.segment, a.name) for a in added}
    kept = [a for a in existing if (a.locus, a.segment, a.name) not in keys]
    provenance = _previous_provenance(directory)
    provenance.setdefault("special_sequences", []).append({
        "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "sequences": sorted(f"{a.name} ({a.segment}, {a.locus}, flank5={a.flank5}, flank3={a.flank3})"
                            for a in added), **summary})
    write_database(directory, species, kept + added, provenance)
    return directory, summary


# --- command line -------------------------------------------------------------------------------

def cli(argv: list[str] | None = None, prog: str = "python -m vdj.germline") -> int:
    """Command line of ``python -m vdj.germline`` (``prog``: the name its help and errors give, e.g.
    ``repseq germline``)."""
    parser = argparse.ArgumentParser(prog=prog,
                                     description="Build, import and inspect the germline database.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="build from the GenAIRR package data")
    p_build.add_argument("--dest", help="database root (default $REPSEQ_GERMLINE_DIR or vdj/germline_data)")
    p_build.add_argument("--species", default="homo-sapiens", help="homo-sapiens (default), mus-musculus, all")
    p_build.add_argument("--set", dest="reference_set", default="imgt", choices=("imgt", "ogrdb"),
                         help="IG reference set for human (default imgt)")
    p_imgt = sub.add_parser("import-imgt", help="import IMGT/GENE-DB FASTA files (V/D/J-REGION)")
    p_imgt.add_argument("files", nargs="+")
    p_imgt.add_argument("--dest")
    p_imgt.add_argument("--species", default="homo-sapiens")
    p_imgt.add_argument("--merge", action="store_true",
                        help="add/overwrite by allele name instead of replacing each imported set")
    p_special = sub.add_parser("import-special", help="add D+up / D+down / KDE / intron sequences")
    p_special.add_argument("files", nargs="+")
    p_special.add_argument("--dest")
    p_special.add_argument("--species", default="homo-sapiens")
    p_special.add_argument("--segment", choices=("UP", "DOWN", "KDE", "INTRON", "up", "down", "kde", "intron"))
    p_special.add_argument("--flank", type=int, help="flank length when the gene body is not found (default 60)")
    p_info = sub.add_parser("info", help="print counts, systems and anchor patches")
    p_info.add_argument("--dest")
    p_info.add_argument("--species", default="homo-sapiens")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            species_list = list(GENAIRR_CONFIGS) if args.species == "all" else [args.species]
            for species in species_list:
                directory = build_from_genairr(args.dest, species, args.reference_set)
                _print_info(directory)
        elif args.command == "import-imgt":
            directory, summary = import_imgt(args.files, args.dest, args.species, merge=args.merge)
            print(f"imported {summary['imported']} alleles ({summary['skipped_species']} of other species,"
                  f" {summary['skipped_region']} non V/D/J-REGION records skipped)")
            _print_info(directory)
        elif args.command == "import-special":
            directory, summary = import_special(args.files, args.dest, args.species,
                                                segment=args.segment.upper() if args.segment else None,
                                                flank=args.flank)
            print(f"added {summary['added']} special sequences")
            _print_info(directory)
        else:
            from vdj.germline import species_directory
            _print_info(species_directory(args.species, args.dest))
    except GermlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _print_info(directory: Path) -> None:
    header, alleles = read_database(directory)
    provenance = _previous_provenance(directory)
    print(f"{directory}: {header['species_name']} (taxon {header['taxon_id']}), {len(alleles)} sequences,"
          f" ref: {provenance.get('ref', '')}")
    counts: dict[str, dict[str, int]] = {}
    for allele in alleles:
        counts.setdefault(allele.locus, {}).setdefault(allele.segment, 0)
        counts[allele.locus][allele.segment] += 1
    for locus in sorted(counts, key=lambda l: LOCI.index(l) if l in LOCI else 99):
        print(f"  {locus}: " + ", ".join(f"{s} {n}" for s, n in counts[locus].items()))
    systems = available_systems(alleles)
    print("  systems: " + ", ".join(systems))
    patches = provenance.get("anchor_patches", [])
    missing = [p for p in patches if p["anchor"] is None]
    print(f"  anchors patched/recomputed: {len(patches) - len(missing)}, not found: {len(missing)}"
          + (f" ({', '.join(p['allele'] for p in missing)})" if missing else ""))
