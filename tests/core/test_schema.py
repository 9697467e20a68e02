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
