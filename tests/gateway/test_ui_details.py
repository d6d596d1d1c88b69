"""Details of the browser application found by a tester at 1280x800 (no service needed: the app is built but
these requests never reach an RPC, or the pure view functions are called): favicon, plot labels and legend,
clone-table labels and row numbers, AIRR export validity."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gateway.app import create_app


@pytest.fixture(scope="module")
def client():
    from services.common.config import Settings

    settings = Settings.from_env().replace(amqp_uri="pyamqp://guest:guest@127.0.0.1:1//", rpc_timeout=1.0)
    return create_app(settings).test_client()


def test_favicon_is_a_small_svg_served_by_the_gateway(client):
    for path in ("/favicon.ico", "/assets/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "image/svg+xml"
        root = ET.fromstring(response.data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(response.data) < 2000
        assert b"http://" not in response.data.replace(b"http://www.w3.org/2000/svg", b"")
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">' in page


def test_fused_airr_export_is_valid_airr_with_unique_sequence_ids(tmp_path):
    """`repseq results --format airr` / `.../clones.airr.tsv`: every required AIRR Rearrangement field (v_cigar,
    d_cigar, j_cigar included, empty when unknown), the locus in the AIRR vocabulary (the Vidjil system, e.g. an
    incomplete "IGK+" rearrangement, kept in ``germline``), one unique sequence_id per (clone, sample) even when
    two clones share a rank (the best rank over samples)."""
    import copy

    import airr
    from airr.schema import RearrangementSchema

    from gateway import clones as views
    from test_views import FUSED, clone

    fused = copy.deepcopy(FUSED)
    # a second rank-1 clone (the top clone of the other sample) and an incomplete Kappa rearrangement
    fused["clones"].append(clone("TTTT", "IGHV1-2*02 IGHJ6*02", [0, 300], 1, "IGHV1-2*02", "IGHJ6*02", "ARVW"))
    fused["clones"].append(clone("ACGT", "IGKV1-5*01 INTRON", [5, 5], 4, "IGKV1-5*01", "INTRON", "",
                                 locus="IGK+"))
    path = tmp_path / "clones.airr.tsv"
    path.write_text(views.clone_table_airr(fused))
    assert airr.validate_rearrangement(str(path))
    rows = list(airr.read_rearrangement(str(path)))
    header = path.read_text().splitlines()[0].split("\t")
    assert set(RearrangementSchema.required) <= set(header)
    ids = [r["sequence_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 7
    kappa = [r for r in rows if r["clone_id"] == "ACGT"]
    assert {r["locus"] for r in kappa} == {"IGK"} and {r["germline"] for r in kappa} == {"IGK+"}
    assert {r["duplicate_count"] for r in kappa} == {5}
    top = next(r for r in rows if r["clone_id"] == "AAAA")
    assert top["productive"] is True and top["rev_comp"] is False and top["v_call"] == "IGHV4-34*01"
