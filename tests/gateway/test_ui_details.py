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
