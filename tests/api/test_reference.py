"""The OpenAPI document describes exactly the implemented subset; /docs is readable."""

from __future__ import annotations

from recur.api.framework import ROUTES
from recur.api.routes import load_all
from tests.support.server import LiveServer


def test_openapi_lists_exactly_the_served_routes(server: LiveServer) -> None:
    load_all()
    with server.http() as http:
        document = http.get("/openapi.json").json()
    described = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert described == {(r.method, r.path) for r in ROUTES}
    create = document["paths"]["/v1/customers"]["post"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert "email" in form["properties"]
    assert form.get("additionalProperties") is False  # unknown parameters are refused


def test_every_route_answers_with_a_stripe_error_when_unauthenticated(server: LiveServer) -> None:
    load_all()
    with server.http() as http:
        for target in ROUTES:
            path = target.path.replace("{", "x_").replace("}", "")
            response = http.request(target.method, path)
            assert response.status_code == 401, (target.method, target.path)
            assert response.json()["error"]["type"] == "authentication_error"


def test_reference_page_lists_every_endpoint(server: LiveServer) -> None:
    load_all()
    with server.http() as http:
        page = http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for target in ROUTES:
        assert f"{target.method} {target.path}" in page.text
