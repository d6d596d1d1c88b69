"""The OpenAPI document is generated from the routes: every /api/v1 route is documented, the document is a valid
OpenAPI 3.1 document, and request validation answers 422/400 in the standard error shape. No service needed: the
app is built but these requests never reach an RPC."""

import pytest

from gateway.app import create_app
from gateway.openapi import REGISTRY, openapi_path


@pytest.fixture(scope="module")
def client():
    from services.common.config import Settings

    settings = Settings.from_env().replace(amqp_uri="pyamqp://guest:guest@127.0.0.1:1//", rpc_timeout=1.0)
    app = create_app(settings)
    return app.test_client()


def test_every_api_route_is_in_the_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    app = client.application
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("openapi."):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (openapi_path(rule.rule), method.lower()) in documented, f"{method} {rule.rule} undocumented"
    assert len(documented) == len(REGISTRY)


def test_document_is_valid_openapi(client):
    """Checked against the OpenAPI 3.1 meta-schema (as bundled by schemathesis)."""
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    document = client.get("/api/v1/openapi.json").get_json()
    errors = [str(e) for e in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []
    assert document["openapi"].startswith("3.1")


def test_error_responses_are_documented_with_the_error_schema(client):
    document = client.get("/api/v1/openapi.json").get_json()
    upload = document["paths"]["/api/v1/samples/{sample_id}/file"]["put"]
    assert {"401", "403", "404", "413", "503"} <= set(upload["responses"])
    assert upload["requestBody"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "details"]


def test_browsable_page_lists_operations(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"/api/v1/sample_sets" in page.data and b"OpenAPI" in page.data
    assert b"https://" not in page.data.split(b"<main")[1].split(b"</main>")[0].replace(b"https://github", b"")


@pytest.mark.parametrize("body, status, code", [
    ({"email": "a@b.org"}, 422, "validation_failed"),
    ({"email": "a@b.org", "password": "x", "extra": 1}, 422, "validation_failed"),
    ("not json", 400, "bad_request"),
])
def test_login_body_validation(client, body, status, code):
    if isinstance(body, str):
        response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    else:
        response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["details"], dict)


def test_unauthenticated_api_call_is_401_json(client):
    response = client.get("/api/v1/sample_sets")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_unknown_api_path_is_404_json_and_unknown_page_is_html(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert response.get_json()["error"]["message"].startswith("no such address: GET /api/v1/nothing-here")
    negative = client.get("/api/v1/samples/-1")   # not Flask's "If you entered the URL manually..."
    assert negative.status_code == 404 and "ids are positive integers" in negative.get_json()["error"]["message"]
    page = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_pages_need_login(client):
    response = client.get("/sets?kind=patient")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/login").status_code == 200


def test_static_assets_are_local(client):
    login = client.get("/login").data.decode()
    assert "cdn" not in login.lower() and "//fonts." not in login
    assert client.get("/assets/app.js").status_code == 200
    assert client.get("/assets/app.css").status_code == 200


def test_no_page_or_asset_loads_anything_from_another_host():
    """Hospital networks are closed: templates, CSS and JS reference only the gateway itself."""
    import re
    from pathlib import Path

    ui = Path(__file__).resolve().parents[2] / "gateway" / "ui"
    external = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.IGNORECASE)
    offenders = [f"{path.relative_to(ui)}: {match.group(0)}" for path in ui.rglob("*")
                 if path.suffix in (".html", ".css", ".js") for match in external.finditer(path.read_text())]
    assert offenders == []
    assert "@import" not in (ui / "static" / "app.css").read_text()
