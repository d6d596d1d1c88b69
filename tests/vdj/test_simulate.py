"""Read simulator: determinism and consistency of the truth with the reads and the germlines."""

from __future__ import annotations

import collections
import gzip

import dnaio
import pytest

from vdj.germline import load_germlines
from vdj.simulate import (
    CLONE_TRUTH_COLUMNS, READ_TRUTH_COLUMNS, Simulation, SimulationConfig, read_tsv, reverse_complement,
    simulate, translate,
)


@pytest.fixture(scope="module")
def germlines():
    return load_germlines("multi")


@pytest.fixture(scope="module")
def run(tmp_path_factory, germlines):
    out = tmp_path_factory.mktemp("sim")
    config = SimulationConfig(n_reads=6000, seed=7, n_clones=60, truncated_fraction=0.02, chimera_fraction=0.02)
    summary = simulate(config, out / "reads.fastq.gz", out / "truth.tsv", out / "clones.tsv", germlines=germlines)
    with dnaio.open(out / "reads.fastq.gz") as reader:
        reads = {r.name: r.sequence for r in reader}
    return config, summary, reads, read_tsv(out / "truth.tsv"), read_tsv(out / "clones.tsv"), out


def test_files_and_columns(run):
    config, summary, reads, truth, clones, out = run
    assert len(reads) == len(truth) == summary.reads == config.n_reads
    assert list(truth[0]) == READ_TRUTH_COLUMNS and list(clones[0]) == CLONE_TRUTH_COLUMNS
    assert [row["read_id"] for row in truth] == list(reads)
    with gzip.open(out / "reads.fastq.gz", "rt") as handle:
        first = [next(handle) for _ in range(4)]
    assert first[0].startswith("@read") and first[2] == "+\n" and len(first[1]) == len(first[3])


def test_kinds_lengths_strands(run):
    config, summary, reads, truth, _, _ = run
    kinds = collections.Counter(row["kind"] for row in truth)
    assert kinds["recombined"] == config.n_reads - 300 - 120 - 120
    assert kinds["background_random"] + kinds["background_v"] + kinds["background_j"] == 300
    assert kinds["truncated"] == 120 and kinds["chimera"] == 120
    lengths = [len(s) for s in reads.values()]
    assert min(lengths) >= 100 and max(lengths) <= config.max_length
    assert sum(config.min_length <= n for n in lengths) > 0.95 * len(lengths)
    minus = sum(row["strand"] == "-" for row in truth) / len(truth)
    assert 0.45 < minus < 0.55
    assert len({row["locus"] for row in truth if row["kind"] == "recombined"}) == 7


def test_recombined_reads_contain_their_junction(run, germlines):
    """Error-free recombined reads contain the junction and the whole (5'-deleted) J, and >= 60 nt of V
    before Cys104 unless the read is too short for both."""
    _, _, reads, truth, clones, _ = run
    alleles = germlines.alleles()
    by_id = {c["clone_id"]: c for c in clones}
    checked = 0
    for row in truth:
        if row["kind"] != "recombined" or row["errors"] != "0":
            continue
        seq = reads[row["read_id"]]
        forward = reverse_complement(seq) if row["strand"] == "-" else seq
        assert row["junction"] in forward, row
        clone = by_id[row["clone_id"]]
        assert alleles[clone["j_call"]].sequence[int(clone["del_j"]):] in forward
        before_junction = forward.index(row["junction"])
        j_body = alleles[clone["j_call"]].sequence[int(clone["del_j"]):]
        assert before_junction >= 60 or forward.endswith(j_body)  # short read ending at the J end
        checked += 1
    assert checked > 1500  # about a third of the reads have no sequencing error


def test_junctions_have_anchors_and_productivity(run, germlines):
    _, _, _, _, clones, _ = run
    alleles = germlines.alleles()
    for clone in clones:
        junction = clone["junction"]
        assert junction[:3] in ("TGT", "TGC")
        in_frame = len(junction) % 3 == 0
        if in_frame:
            assert translate(junction) == clone["junction_aa"] and clone["junction_aa"][-1] in "FW"
        else:  # vidjil's convention: V frame, '#', J frame
            assert clone["junction_aa"].count("#") == 1 and clone["junction_aa"][0] == "C"
            assert clone["junction_aa"][-1] in "FW"
        assert clone["productive"] == ("T" if in_frame and "*" not in clone["junction_aa"] else "F")
        v = alleles[clone["v_call"]]
        j = alleles[clone["j_call"]]
        assert v.locus == clone["locus"] == j.locus
        # the template is V (3' deleted) + N + D + N + J (5' deleted) + downstream
        assert clone["sequence"].startswith(v.sequence[:len(v.sequence) - int(clone["del_v"])])
        assert j.sequence[int(clone["del_j"]):] in clone["sequence"]
        assert junction.endswith(j.sequence[int(clone["del_j"]):j.anchor + 3])
        if clone["d_call"]:
            d = alleles[clone["d_call"]]
            assert d.sequence[int(clone["del_d5"]):len(d.sequence) - int(clone["del_d3"])] in junction
    productive = sum(c["productive"] == "T" for c in clones) / len(clones)
    assert 0.65 < productive < 0.95


def test_clone_counts_match_reads(run):
    _, summary, _, truth, clones, _ = run
    counts = collections.Counter(row["clone_id"] for row in truth if row["kind"] == "recombined")
    truncated = collections.Counter(row["clone_id"] for row in truth if row["kind"] == "truncated")
    for clone in clones:
        assert int(clone["reads"]) == counts[clone["clone_id"]]
        assert int(clone["reads_truncated"]) == truncated[clone["clone_id"]]
    reads = [int(c["reads"]) for c in clones]
    assert reads == sorted(reads, reverse=True) and reads[0] > 10 * reads[len(reads) // 2]  # power law
    assert summary.clones == len(clones)


def test_error_rate(run):
    config, _, reads, truth, _, _ = run
    errors = sum(int(row["errors"]) for row in truth)
    bases = sum(len(s) for s in reads.values())
    assert abs(errors / bases - config.error_rate) < 0.0015


def test_background_truncated_and_chimeras(run):
    _, _, reads, truth, clones, _ = run
    junctions = [c["junction"] for c in clones]
    locus_of = {}
    for c in clones:
        locus_of[c["v_call"]] = c["locus"]
        locus_of[c["j_call"]] = c["locus"]
    for row in truth:
        seq = reads[row["read_id"]]
        forward = reverse_complement(seq) if row["strand"] == "-" else seq
        if row["kind"].startswith("background"):
            assert row["clone_id"] == "" and row["junction"] == ""
            assert not any(j in forward for j in junctions if len(j) > 20)
        elif row["kind"] == "truncated":
            assert row["clone_id"] and row["junction"] not in forward
        elif row["kind"] == "chimera":
            loci = {row["v_call"][:3], row["j_call"][:3]}
            assert row["clone_id"] == "" and len(loci) == 2 and loci != {"TRA", "TRD"}


def test_deterministic(tmp_path, germlines):
    config = SimulationConfig(n_reads=500, seed=3, shm_rate=0.03, indel_rate=0.001)
    for name in ("a", "b"):
        simulate(config, tmp_path / f"{name}.fastq", tmp_path / f"{name}.tsv", germlines=germlines)
    assert (tmp_path / "a.fastq").read_bytes() == (tmp_path / "b.fastq").read_bytes()
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    simulate(SimulationConfig(n_reads=500, seed=4), tmp_path / "c.fastq", germlines=germlines)
    assert (tmp_path / "a.fastq").read_bytes() != (tmp_path / "c.fastq").read_bytes()


def test_somatic_hypermutation_is_shared_by_the_clone(germlines):
    sim = Simulation(SimulationConfig(n_reads=2000, seed=5, shm_rate=0.04, error_rate=0.0, loci=("IGH", "TRB")),
                     germlines)
    ig = [c for c in sim.clones if c.locus == "IGH"]
    tr = [c for c in sim.clones if c.locus == "TRB"]
    assert sum(c.shm_mutations for c in ig) > 0 and all(c.shm_mutations == 0 for c in tr)
    mutated = next(c for c in ig if c.shm_mutations > 3)
    assert not mutated.sequence.startswith(mutated.v.sequence[:mutated.v.anchor])
    index = {c.clone_id: c for c in sim.clones}
    for names, seqs, rows in sim.batches():
        for seq, row in zip(seqs, rows):
            if row["clone_id"] == mutated.clone_id and row["kind"] == "recombined":
                forward = reverse_complement(seq) if row["strand"] == "-" else seq
                assert forward in index[row["clone_id"]].sequence  # no sequencing error: exact substring


def test_fasta_output_and_loci_subset(tmp_path, germlines):
    summary = simulate(SimulationConfig(n_reads=300, seed=2, loci=("TRG",), background_fraction=0.0),
                       tmp_path / "r.fa", tmp_path / "t.tsv", germlines=germlines)
    with dnaio.open(tmp_path / "r.fa") as reader:
        records = list(reader)
    assert len(records) == 300 and records[0].qualities is None
    assert {row["locus"] for row in read_tsv(tmp_path / "t.tsv")} == {"TRG"}
    assert summary.kinds["background_random"] == 0


def test_bad_configuration():
    with pytest.raises(ValueError):
        Simulation(SimulationConfig(n_reads=10, min_length=200, max_length=100))
    with pytest.raises(ValueError):
        Simulation(SimulationConfig(n_reads=10, background_fraction=0.7, chimera_fraction=0.5))._plan()


def test_evaluate_perfect_and_imperfect_runs(run):
    """The benchmark's comparison gives 100 % for a run that reproduces the truth, and less when it errs."""
    from vdj.simulate import evaluate

    _, _, _, truth, clones, out = run
    perfect = out / "perfect.tsv"
    perfect.write_text("".join(
        f"{r['read_id']}\t{r['clone_id'] if r['kind'] == 'recombined' else ''}\t{r['locus']}\t"
        f"{'SEG' if r['kind'] == 'recombined' else 'UNSEG too few V/J'}\n" for r in truth))
    airr = out / "airr.tsv"
    airr.write_text("sequence_id\tduplicate_count\tv_call\td_call\tj_call\tjunction\tjunction_aa\tproductive\t"
                    "locus\n" + "".join(
                        f"{c['clone_id']}\t{c['reads']}\t{c['v_call']}\t{c['d_call']}\t{c['j_call']}\t{c['junction']}"
                        f"\t{c['junction_aa']}\t{c['productive']}\t{c['locus']}\n" for c in clones))
    figures = evaluate(out / "truth.tsv", out / "clones.tsv", perfect, airr)
    assert figures["detection"] == 1.0 and figures["locus_right"] == 1.0
    assert figures["background_detected"] == 0.0 and figures["truncated_detected"] == 0.0
    assert figures["reported_clones_5"] == figures["true_clones_5"] and figures["clones_5_ratio"] == 1.0
    assert figures["attribution_min"] == 1.0 and figures["abundance_ratio_mean"] == 1.0
    assert figures["top_overlap"] == min(100, len(clones)) and figures["top_junction_right"] == 1.0
    assert figures["top_productive_right"] == 1.0 and figures["v_right"] == 1.0 and figures["j_right"] == 1.0
    # split the largest clone in two halves, detect one background read, call one wrong V
    largest = clones[0]["clone_id"]
    lines, seen, bg_done = [], 0, False
    for r in truth:
        clone_id = r["clone_id"] if r["kind"] == "recombined" else ""
        status = "SEG" if r["kind"] == "recombined" else "UNSEG"
        if clone_id == largest:
            seen += 1
            clone_id = largest + ("b" if seen % 2 else "")
        if r["kind"] == "background_random" and not bg_done:
            clone_id, status, bg_done = "noise", "SEG", True
        lines.append(f"{r['read_id']}\t{clone_id}\t{r['locus']}\t{status}\n")
    imperfect = out / "imperfect.tsv"
    imperfect.write_text("".join(lines))
    airr.write_text(airr.read_text().replace(f"\t{clones[1]['v_call']}\t", "\tIGHV9-99*01\t", 1))
    figures = evaluate(out / "truth.tsv", out / "clones.tsv", imperfect, airr)
    assert figures["background_detected"] > 0
    assert 0.45 < figures["attribution_min"] < 0.55
    assert figures["v_right"] < 1.0


def test_clones_of_a_locus_are_at_least_three_edits_apart(germlines):
    import edlib

    sim = Simulation(SimulationConfig(n_reads=60000, seed=9, loci=("TRG",)), germlines)
    regions = [c.sequence[max(0, c.junction_start - 10):c.junction_end + 10] for c in sim.clones]
    assert len(regions) == 84
    for i, a in enumerate(regions):
        for b in regions[i + 1:]:
            assert edlib.align(a, b)["editDistance"] >= 3
