"""OpenAPI at /api/schema/ and Swagger UI at /api/docs/, served from vendored files (no CDN)."""

import re

from django.test import Client


def test_schema_describes_the_provisioning_and_auth_endpoints(db):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/auth/token/", "/api/v1/organizations/", "/api/v1/users/", "/api/v1/regions/{code}/"]:
        assert path in paths
    assert "post" in paths["/api/v1/organizations/"]


def test_swagger_ui_loads_only_local_assets(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
    assert any("swagger-ui" in s for s in sources)


def test_every_operation_documents_its_error_answers_with_the_envelope(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    envelope = "#/components/schemas/ErrorEnvelope"
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "404"} | ({"409", "413", "422"} if method in {"post", "patch", "delete"} else set())
            if operation.get("security") != [{}] and "bearerAuth" in str(operation.get("security")):
                expected |= {"401", "403"}
            for code in expected:
                body = responses.get(code, {}).get("content", {}).get("application/json", {}).get("schema", {})
                if body.get("$ref") != envelope:
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    events = schema["paths"]["/api/v1/vehicles/{frame_no}/events/"]["get"]["responses"]["200"]
    assert events["content"]["application/json"]["schema"]["type"] == "array"  # a list, as it answers
    me = schema["paths"]["/api/v1/me/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert me["$ref"].endswith("/MeOut")  # not the token answer, which requires `token`


def test_the_api_reference_is_served_linked_from_swagger_and_names_every_endpoint(db):
    from pathlib import Path

    response = Client().get("/api/reference.md")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text == (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    # The feeds' records are on the page it links to, served beside it.
    assert "(api-additions.md#department-data-feeds)" in text
    additions = Client().get("/api/api-additions.md")
    assert additions.status_code == 200 and additions["Content-Type"].startswith("text/markdown")
    for feed in ("`police`", "`environment`", "`fire`", "`housing`"):
        assert feed in additions.content.decode()
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/reference.md" in schema["info"]["description"]
    unnamed = []
    for path in schema["paths"]:
        root = re.sub(r"\{[^}]+\}.*$", "", path)  # the resource, e.g. /api/v1/vehicles/
        tail = path.rstrip("/").rsplit("/", 1)[-1]
        if root not in text or ("{" not in tail and f"{tail}/" not in text and tail not in text):
            unnamed.append(path)
    assert unnamed == []
