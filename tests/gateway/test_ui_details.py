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


SVG = "{http://www.w3.org/2000/svg}"


def _plot(names: list[str], user_name: str | None = None):
    import copy

    from gateway import clones as views
    from gateway.plot import follow_up_svg
    from test_views import FUSED

    fused = copy.deepcopy(FUSED)
    fused["samples"]["names"] = names
    analysis = {"clones": [{"id": "CCCC", "name": user_name}]} if user_name else None
    rows = views.clone_rows(fused, top=3, analysis=analysis)
    samples = views.samples_view(fused)
    return ET.fromstring(follow_up_svg(rows, samples, views.time_order(samples)))


def test_long_sample_names_end_with_an_ellipsis_and_keep_the_full_name_as_tooltip():
    from gateway.plot import text_width

    long_name = "immunedb-d1_colon-2024-03-12-relapse-follow-up-after-second-line-therapy-bone-marrow.fastq.gz"
    root = _plot(["spleen", long_name])
    width = float(root.get("width"))
    labels = [t for t in root.findall(f"{SVG}text") if t.get("fill") == "#333" and t.text and "%" not in t.text
              and t.get("transform") is None]
    shortened = [t for t in labels if t.text.endswith("…")]
    assert len(shortened) == 1, [t.text for t in labels]
    assert shortened[0].find(f"{SVG}title").text == long_name
    assert long_name.startswith(shortened[0].text[:-1])
    assert len(shortened[0].text) > 22  # the room between samples is used, not a fixed 22 characters
    short = next(t for t in labels if t.text == "spleen")
    assert short.find(f"{SVG}title") is None
    import inspect

    from gateway.plot import follow_up_svg

    legend_left = width - inspect.signature(follow_up_svg).parameters["legend_width"].default + 10
    for text in labels:
        start = float(text.get("x")) - (text_width(text.text) / 2 if text.get("text-anchor") == "middle" else 0)
        assert 0 <= start and start + text_width(text.text) <= legend_left, text.text


def test_legend_entries_end_inside_the_svg_with_a_tooltip_when_shortened():
    from gateway.plot import text_width

    name = "MRD marker followed since the diagnosis in 2019 (relapse clone, IGHV3-23 ARDGYW, lab notebook 7)"
    root = _plot(["spleen", "colon"], user_name=name)
    width = float(root.get("width"))
    legend = root.findall(f"{SVG}text[@class='legend']")
    assert len(legend) == 3
    for text in legend:
        assert float(text.get("x")) + text_width(text.text) <= width - 4, text.text
    named = next(t for t in legend if t.text.startswith("MRD marker"))
    assert named.text.endswith("…") and named.find(f"{SVG}title").text == name
    # "V J CDR3" labels that fit are kept whole, without tooltip
    assert any(t.text == "IGHV4-34 IGHJ4 AKMGPNLDY" and t.find(f"{SVG}title") is None for t in legend)
