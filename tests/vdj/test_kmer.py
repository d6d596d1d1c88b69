"""vdj.kmer: spaced seeds, 2-bit encoding, the dense index (labels, anchor offsets, densities), cache."""

from __future__ import annotations

import numpy as np
import pytest

from vdj import kmer
from vdj.detect import unpack_masks

import vdj_synthetic as syn


def test_seed_shape():
    seed = kmer.Seed("#####-#####")
    assert (seed.span, seed.weight) == (11, 10)
    assert seed.positions.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    for bad in ("", "-###", "###-", "#x#", "#" * 5, "#" * 14):
        with pytest.raises(ValueError):
            kmer.Seed(bad)


def test_encode_and_reverse_complement():
    assert kmer.encode("ACGTNacgtu").tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 3]
    codes, offsets = kmer.encode_batch(["AC", "", "GTN"])
    assert codes.tolist() == [0, 1, 2, 3, 4] and offsets.tolist() == [0, 2, 2, 5]
    assert kmer.reverse_complement("AACGTn") == "nACGTT"


def test_seed_keys_skip_n():
    seed = kmer.Seed("###-###")
    positions, keys = kmer.seed_keys(kmer.encode("ACGTACGNACGTACG"), seed)
    # span 7: positions 0..8; the N at 7 is used by 1..7 except 4 (where it falls on the '-')
    assert positions.tolist() == [0, 4, 8]
    assert keys[0] == int("".join(format(c, "02b") for c in [0, 1, 2, 0, 1, 2]), 2)  # ACG_ACG


def _index():
    return kmer.build_index(list(syn.germline_set().systems.values()), "#####-#####")


def test_index_labels_and_anchor_offsets():
    index = _index()
    assert [s.name for s in index.systems] == ["IGH", "TRG"]
    mask_labels, mask_n, _, has_label = unpack_masks(index)
    seed = index.seed
    v = syn.IGHV[0]
    positions, keys = kmer.seed_keys(kmer.encode(v.sequence), seed)
    values = index.table[keys]
    assert (values != 0).all()
    label_v_plus = kmer.label(0, 0, 0)
    assert all(has_label[value & 0xFFF, label_v_plus] for value in values.tolist())
    # offsets to Cys104 (k-mer unique to this V): position - anchor
    deltas = [(value >> 12) - kmer.DELTA_BIAS for value in values.tolist() if value >> 12]
    assert len(deltas) > 0.9 * len(values)
    assert set(deltas) <= set((positions - v.anchor).tolist())
    # reverse strand of a J: labelled J side, strand -
    j = syn.TRGJ[1]
    _, keys = kmer.seed_keys(kmer.encode(kmer.reverse_complement(j.sequence)), seed)
    label_j_minus = kmer.label(1, 1, 1)
    assert all(has_label[value & 0xFFF, label_j_minus] for value in index.table[keys].tolist())


def test_density_is_share_of_keys():
    index = _index()
    size = 4 ** index.seed.weight
    v_keys = set()
    for allele in syn.IGHV:
        v_keys |= set(kmer.seed_keys(kmer.encode(allele.sequence), index.seed)[1].tolist())
    assert index.density[kmer.label(0, 0, 0)] == pytest.approx(len(v_keys) / size)
    assert index.density.shape == (8,)


def test_cache_roundtrip(tmp_path, monkeypatch):
    monkeypatch.setenv("VDJ_INDEX_CACHE", str(tmp_path))
    systems = list(syn.germline_set().systems.values())
    built = kmer.load_or_build_index(systems, "#####-#####")
    assert len(list(tmp_path.glob("*.table.npy"))) == 1
    loaded = kmer.load_or_build_index(systems, "#####-#####")
    assert loaded.digest == built.digest
    assert np.array_equal(np.asarray(loaded.table), built.table)
    assert np.array_equal(loaded.masks, built.masks)
    # another seed is another cache entry
    kmer.load_or_build_index(systems, "####-####")
    assert len(list(tmp_path.glob("*.table.npy"))) == 2


def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("VDJ_INDEX_CACHE", str(tmp_path))
    systems = list(syn.germline_set().systems.values())
    built = kmer.load_or_build_index(systems)
    (tmp_path / f"{built.digest}.npz").write_bytes(b"not a numpy file")
    again = kmer.load_or_build_index(systems)
    assert np.array_equal(np.asarray(again.table), built.table)
