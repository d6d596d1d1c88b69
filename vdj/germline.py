"""Germline database: V/D/J alleles with anchors, germline systems and presets.

The repository ships no germline sequences. The database is built at install time from the data of
the GenAIRR package (``python -m vdj.germline build``), or imported from IMGT/GENE-DB FASTA downloads
(``python -m vdj.germline import-imgt``), and extended with administrator-supplied special sequences
(D + upstream flank, TRDD3 + downstream flank, IGK-KDE, IGK intron: ``python -m vdj.germline
import-special``). See docs/germlines.md.

On disk, one directory per species (``<root>/<species>/``):

- ``germlines.json``  compact allele table, loaded by :func:`load_germlines` (fast: plain JSON);
- ``provenance.json`` source package and version, reference release, licences, anchors patched;
- ``fasta/*.fa``      the same sequences as FASTA, for people and other tools (not read back).

The root defaults to ``vdj/germline_data/`` beside this module, overridable by the environment
variable ``REPSEQ_GERMLINE_DIR`` or the ``germline_dir`` argument.

Systems follow vidjil-algo's ``homo-sapiens.g`` (vidjil names and shortcuts): complete loci IGH, IGK,
IGL, TRA, TRB, TRG, TRD and incomplete recombinations TRA+D, IGH+, TRB+, TRD+, IGK+. A system whose
partners are missing from the database (e.g. IGK+ without a supplied IGK-KDE) is *not available*:
it is left out of the ``multi`` preset and naming it explicitly raises :class:`UnknownPresetError`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

FORMAT_VERSION = "repseq-germline/1"
DATABASE_FILE = "germlines.json"
PROVENANCE_FILE = "provenance.json"
DEFAULT_ROOT = Path(__file__).resolve().parent / "germline_data"
ENV_GERMLINE_DIR = "REPSEQ_GERMLINE_DIR"

#: Segment kinds. V/D/J are gene bodies; the others are special sequences supplied by an administrator.
SEGMENTS = ("V", "D", "J", "UP", "DOWN", "KDE", "INTRON")

#: Species known to the builder: directory name -> (scientific name, NCBI taxon id, aliases).
SPECIES = {
    "homo-sapiens": ("Homo sapiens", 9606, ("human", "homo sapiens", "hs")),
    "mus-musculus": ("Mus musculus", 10090, ("mouse", "mus musculus", "mm")),
}

LOCI = ("IGH", "IGK", "IGL", "TRA", "TRB", "TRG", "TRD")


class GermlineError(Exception):
    """Base class of germline database errors."""


class GermlineNotBuiltError(GermlineError):
    """The germline database of a species is missing; the message names the command that builds it."""


class UnknownPresetError(GermlineError, ValueError):
    """A preset or system name is unknown or not available; the message lists the valid names."""


@dataclass(frozen=True)
class Allele:
    """One germline sequence.

    ``sequence`` is uppercase, ungapped, coding strand 5'->3'. ``anchor`` is the 0-based offset in
    ``sequence`` of the first nucleotide of the Cys104 codon (V) or the Phe/Trp118 codon (J), IMGT
    unique numbering; None when unknown (D genes, special sequences, alleles whose anchor was not found).
    For special sequences, ``flank5``/``flank3`` count the genomic flank nucleotides included before/after
    the gene body (e.g. ``IGHD2-2*01`` segment "UP" = 60 nt upstream + D body, flank5 = 60).
    """

    name: str
    segment: str
    locus: str
    sequence: str
    anchor: int | None
    functional: str | None = None
    flank5: int = 0
    flank3: int = 0

    @property
    def gene(self) -> str:
        """Gene name without the allele number: "IGHV3-23*01" -> "IGHV3-23"."""
        return self.name.split("*", 1)[0]

    @property
    def key(self) -> str:
        """Unique key in :meth:`GermlineSet.alleles`: the name, suffixed "+up"/"+down" for flanked D/J."""
        if self.segment == "UP":
            return self.name + "+up"
        if self.segment == "DOWN":
            return self.name + "+down"
        return self.name

    @property
    def body(self) -> str:
        """The gene body without the genomic flanks."""
        return self.sequence[self.flank5: len(self.sequence) - self.flank3]


@dataclass(frozen=True)
class System:
    """A germline system (vidjil "germline"): which 5' and 3' partners recombine, for one result locus.

    ``pairs`` restricts which (5' segment kind, 3' segment kind) combinations are valid recombinations
    of this system, e.g. TRD+ = (("V", "DOWN"), ("UP", "J"), ("UP", "DOWN")); empty = any combination.
    """

    name: str
    locus: str
    shortcut: str
    five: tuple[Allele, ...]
    d: tuple[Allele, ...]
    three: tuple[Allele, ...]
    complete: bool
    description: str = ""
    pairs: tuple[tuple[str, str], ...] = ()


@dataclass
class GermlineSet:
    """The systems selected by a preset, for one species."""

    species: str
    taxon_id: int
    systems: dict[str, System]
    provenance: dict
    directory: Path
    species_name: str = ""
    all_alleles: tuple[Allele, ...] = field(default=(), repr=False)

    def alleles(self) -> dict[str, Allele]:
        """All alleles of the database by :attr:`Allele.key` (IMGT name for V/D/J/KDE/INTRON;
        "NAME+up"/"NAME+down" for flanked special sequences). Built once; do not modify the dict.
        TRAV/DV alleles exist in the TRA and TRD tables with the same sequence: the key gives one."""
        cached = self.__dict__.get("_alleles_by_key")
        if cached is None:
            cached = {allele.key: allele for allele in self.all_alleles}
            self.__dict__["_alleles_by_key"] = cached
        return cached

    @property
    def ref(self) -> str:
        """Short reference string for result files, e.g. "GenAIRR 2.3.1 IMGT 2026-03-01"."""
        return self.provenance.get("ref", "")


# --- system definitions (vidjil homo-sapiens.g, section 3.2 of the vidjil format notes) -------------

@dataclass(frozen=True)
class _SystemSpec:
    name: str
    locus: str
    shortcut: str
    complete: bool
    description: str
    five: tuple[tuple[str, str], ...]   # (locus-prefix gene selector, segment)
    d: tuple[tuple[str, str], ...]
    three: tuple[tuple[str, str], ...]
    required: tuple[tuple[str, str], ...]  # partners that must exist for the system to be available
    pairs: tuple[tuple[str, str], ...] = ()


# A selector ("IGHV", "V") takes the alleles whose name starts with the prefix and whose segment matches.
SYSTEM_SPECS: tuple[_SystemSpec, ...] = (
    _SystemSpec("TRA", "TRA", "A", True, "TRA V-J", (("TRAV", "V"),), (), (("TRAJ", "J"),),
                (("TRAV", "V"), ("TRAJ", "J"))),
    _SystemSpec("TRB", "TRB", "B", True, "TRB V-D-J", (("TRBV", "V"),), (("TRBD", "D"),), (("TRBJ", "J"),),
                (("TRBV", "V"), ("TRBJ", "J"))),
    _SystemSpec("TRB+", "TRB", "b", False, "TRB incomplete Db-Jb (needs TRBD+up)",
                (("TRBD", "UP"),), (), (("TRBJ", "J"),), (("TRBD", "UP"), ("TRBJ", "J"))),
    _SystemSpec("TRG", "TRG", "G", True, "TRG V-J", (("TRGV", "V"),), (), (("TRGJ", "J"),),
                (("TRGV", "V"), ("TRGJ", "J"))),
    _SystemSpec("TRD", "TRD", "D", True, "TRD V-D-J", (("TRDV", "V"), ("TRAV", "TRD:V")), (("TRDD", "D"),),
                (("TRDJ", "J"),), (("TRDV", "V"), ("TRDJ", "J"))),
    _SystemSpec("TRA+D", "TRA", "a", False, "TRA+D incomplete Vd-(Dd)-Ja, Dd-Ja (Dd-Ja needs TRDD+up)",
                (("TRDV", "V"), ("TRAV", "TRD:V"), ("TRDD", "UP")), (("TRDD", "D"),), (("TRAJ", "J"),),
                (("TRDV", "V"), ("TRAJ", "J"))),
    _SystemSpec("TRD+", "TRD", "d", False,
                "TRD incomplete Vd-Dd3, Dd2-(Dd)-Jd, Dd2-Dd3 (needs TRDD2+up and/or TRDD3+down)",
                (("TRDV", "V"), ("TRAV", "TRD:V"), ("TRDD2", "UP")), (("TRDD", "D"),),
                (("TRDD3", "DOWN"), ("TRDJ", "J")), (),
                (("V", "DOWN"), ("UP", "J"), ("UP", "DOWN"))),
    _SystemSpec("IGH", "IGH", "H", True, "IGH V-D-J", (("IGHV", "V"),), (("IGHD", "D"),), (("IGHJ", "J"),),
                (("IGHV", "V"), ("IGHJ", "J"))),
    _SystemSpec("IGH+", "IGH", "h", False, "IGH incomplete Dh-Jh (needs IGHD+up)",
                (("IGHD", "UP"),), (), (("IGHJ", "J"),), (("IGHD", "UP"), ("IGHJ", "J"))),
    _SystemSpec("IGK", "IGK", "K", True, "IGK V-J", (("IGKV", "V"),), (), (("IGKJ", "J"),),
                (("IGKV", "V"), ("IGKJ", "J"))),
    _SystemSpec("IGK+", "IGK", "k", False, "IGK incomplete Vk-KDE, Intron-KDE (needs IGK-KDE)",
                (("IGKV", "V"), ("", "IGK:INTRON")), (), (("", "IGK:KDE"),), (("", "IGK:KDE"),)),
    _SystemSpec("IGL", "IGL", "L", True, "IGL V-J", (("IGLV", "V"),), (), (("IGLJ", "J"),),
                (("IGLV", "V"), ("IGLJ", "J"))),
)
SYSTEM_NAMES = tuple(spec.name for spec in SYSTEM_SPECS)


def _select(alleles_by_locus: dict[str, list[Allele]], prefix: str, segment: str, default_locus: str
            ) -> list[Allele]:
    """Alleles whose name starts with ``prefix`` and whose segment is ``segment``.

    ``segment`` may be "LOCUS:SEGMENT" to read from another locus's table (TRAV/DV genes filed under
    TRD, the IGK special sequences)."""
    locus = default_locus
    if ":" in segment:
        locus, segment = segment.split(":", 1)
    if locus == "*":
        pool = [a for lst in alleles_by_locus.values() for a in lst]
    else:
        pool = alleles_by_locus.get(locus, [])
    return [a for a in pool if a.segment == segment and a.name.startswith(prefix)]


def _spec_locus_for(prefix: str, spec: _SystemSpec) -> str:
    return prefix[:3] if len(prefix) >= 3 else spec.locus


def _build_system(spec: _SystemSpec, by_locus: dict[str, list[Allele]]) -> System | None:
    """The system of ``spec`` from the database tables, or None when a required partner is missing."""
    def pick(selectors):
        chosen: list[Allele] = []
        seen: set[str] = set()
        for prefix, segment in selectors:
            for allele in _select(by_locus, prefix, segment, _spec_locus_for(prefix, spec)):
                if allele.key not in seen:
                    seen.add(allele.key)
                    chosen.append(allele)
        return tuple(chosen)

    for prefix, segment in spec.required:
        if not _select(by_locus, prefix, segment, _spec_locus_for(prefix, spec)):
            return None
    five, d, three = pick(spec.five), pick(spec.d), pick(spec.three)
    if not five or not three:
        return None
    if spec.pairs:
        # keep only the combinations whose both sides exist (e.g. TRD+ with only TRDD3+down supplied)
        kinds5 = {a.segment for a in five}
        kinds3 = {a.segment for a in three}
        pairs = tuple(p for p in spec.pairs if p[0] in kinds5 and p[1] in kinds3)
        if not pairs:
            return None
        used5 = {p[0] for p in pairs}
        used3 = {p[1] for p in pairs}
        five = tuple(a for a in five if a.segment in used5)
        three = tuple(a for a in three if a.segment in used3)
    else:
        pairs = ()
    return System(name=spec.name, locus=spec.locus, shortcut=spec.shortcut, five=five, d=d, three=three,
                  complete=spec.complete, description=spec.description, pairs=pairs)


# --- locating and loading -----------------------------------------------------------------------

def normalise_species(species: str) -> str:
    """Directory name of a species: "homo-sapiens", "human", "Homo sapiens" -> "homo-sapiens".

    Raises GermlineError for a species the builder does not know (an imported database may still use
    any directory name: unknown names are returned lower-cased with '-' for spaces)."""
    text = species.strip().lower().replace("_", "-")
    for key, (_, _, aliases) in SPECIES.items():
        if text == key or text in aliases:
            return key
    return text.replace(" ", "-")


def germline_root(germline_dir: str | os.PathLike | None = None) -> Path:
    """Root directory of the databases: argument, else $REPSEQ_GERMLINE_DIR, else vdj/germline_data/."""
    if germline_dir is not None:
        return Path(germline_dir)
    env = os.environ.get(ENV_GERMLINE_DIR)
    return Path(env) if env else DEFAULT_ROOT


def species_directory(species: str = "homo-sapiens", germline_dir: str | os.PathLike | None = None) -> Path:
    """Directory holding ``germlines.json`` for ``species``. ``germline_dir`` may be the root (holding
    one directory per species) or directly a species directory."""
    root = germline_root(germline_dir)
    if (root / DATABASE_FILE).is_file():
        return root
    return root / normalise_species(species)


def read_database(directory: Path) -> tuple[dict, list[Allele]]:
    """Parse ``germlines.json`` of a species directory -> (header dict, alleles).

    Raises GermlineNotBuiltError when the file is missing, GermlineError when it is malformed."""
    path = directory / DATABASE_FILE
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise GermlineNotBuiltError(_not_built_message(directory)) from None
    except (OSError, ValueError) as exc:
        raise GermlineError(f"cannot read germline database {path}: {exc}") from exc
    if data.get("format") != FORMAT_VERSION:
        raise GermlineError(f"{path}: unsupported format {data.get('format')!r} (expected {FORMAT_VERSION!r});"
                            f" rebuild with: python -m vdj.germline build")
    columns = data["columns"]
    alleles = [Allele(**dict(zip(columns, row))) for row in data["alleles"]]
    return data, alleles


def _not_built_message(directory: Path) -> str:
    species = directory.name
    return (f"germline database not found in {directory}: build it with "
            f"`python -m vdj.germline build --species {species}` (needs the 'germline' extra: "
            f"pip install -e '.[germline]'), or import IMGT FASTA with `python -m vdj.germline import-imgt`")


def available_systems(alleles: list[Allele]) -> dict[str, System]:
    """Every system buildable from ``alleles``, in vidjil's order, by name."""
    by_locus: dict[str, list[Allele]] = {}
    for allele in alleles:
        by_locus.setdefault(allele.locus, []).append(allele)
    systems = {}
    for spec in SYSTEM_SPECS:
        system = _build_system(spec, by_locus)
        if system is not None:
            systems[spec.name] = system
    return systems


def parse_preset(preset: str, available: dict[str, System]) -> list[str]:
    """System names selected by ``preset``: "multi" (all available), one system name, or a comma list
    (names are case-insensitive; "multi" may appear in a list). Raises UnknownPresetError."""
    names: list[str] = []
    canonical = {name.upper(): name for name in SYSTEM_NAMES}
    for token in (t.strip() for t in str(preset).split(",")):
        if not token:
            continue
        if token.lower() in ("multi", "all"):
            names.extend(n for n in available if n not in names)
            continue
        name = canonical.get(token.upper())
        if name is None:
            raise UnknownPresetError(
                f"unknown germline preset or system {token!r}; valid: multi, "
                + ", ".join(SYSTEM_NAMES) + " (or a comma-separated list)")
        if name not in available:
            raise UnknownPresetError(
                f"germline system {name!r} is not available in this database (its partner sequences are "
                f"missing, see docs/germlines.md: incomplete systems need administrator-supplied flanks/KDE); "
                f"available: multi, " + ", ".join(available))
        if name not in names:
            names.append(name)
    if not names:
        raise UnknownPresetError("empty germline preset; valid: multi, " + ", ".join(available))
    return names


def load_germlines(preset: str = "multi", species: str = "homo-sapiens",
                   germline_dir: str | os.PathLike | None = None) -> GermlineSet:
    """Load the germline systems of ``preset`` for ``species``.

    ``preset``: "multi" (every available system, incomplete ones included), a system name ("IGH",
    "TRA+D", ...) or a comma list ("IGH,IGH+,TRG"). ``germline_dir``: database root or species directory
    (default: $REPSEQ_GERMLINE_DIR or vdj/germline_data/).

    Raises GermlineNotBuiltError (database missing; the message names the build command) and
    UnknownPresetError (unknown/unavailable system; the message lists the valid names).
    Plain JSON read: a few milliseconds.
    """
    directory = species_directory(species, germline_dir)
    header, alleles = read_database(directory)
    available = available_systems(alleles)
    chosen = parse_preset(preset, available)
    provenance = {}
    try:
        with open(directory / PROVENANCE_FILE, encoding="utf-8") as handle:
            provenance = json.load(handle)
    except (OSError, ValueError):
        provenance = {}
    return GermlineSet(species=header.get("species", directory.name), taxon_id=int(header.get("taxon_id", 0)),
                       systems={name: available[name] for name in chosen}, provenance=provenance,
                       directory=directory, species_name=header.get("species_name", ""),
                       all_alleles=tuple(alleles))


def build_germlines(dest_dir: str | os.PathLike | None = None, species: str = "homo-sapiens",
                    reference_set: str = "imgt") -> Path:
    """Build the database of ``species`` from the GenAIRR package data into ``<dest_dir>/<species>/``
    (default root: $REPSEQ_GERMLINE_DIR or vdj/germline_data/). Returns the species directory.

    ``reference_set``: "imgt" (IMGT sets for every locus, default; IMGT names as in the curated tests)
    or "ogrdb" (AIRR-C/OGRDB sets for human IGH/IGK/IGL, IMGT for T-cell loci).
    Raises GermlineError when GenAIRR is not installed or has no data for the species."""
    from vdj.germline_build import build_from_genairr
    return build_from_genairr(dest_dir, species, reference_set=reference_set)


def main(argv: list[str] | None = None) -> int:
    """``python -m vdj.germline {build,import-imgt,import-special,info}``; see ``--help``."""
    from vdj.germline_build import cli
    return cli(argv)


if __name__ == "__main__":
    sys.exit(main())
