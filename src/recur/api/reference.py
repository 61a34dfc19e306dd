"""The OpenAPI document of exactly the implemented routes, and a readable reference page."""

from __future__ import annotations

import html
import re
from typing import Any

from recur import __version__
from recur.api.framework import ROUTES, Route
from recur.api.routes import load_all


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", path)
    ]


def _operation(target: Route) -> dict[str, Any]:
    schema = target.params.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    operation: dict[str, Any] = {
        "summary": target.summary,
        "operationId": f"{target.method}{target.path}",
        "parameters": _path_parameters(target.path),
        "responses": {
            "200": {
                "description": f"A {target.returns} object.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{target.returns}"}
                    }
                },
            },
            "default": {
                "description": "An error.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}},
            },
        },
        "x-publishable-key": target.publishable,
    }
    if target.method in ("GET", "DELETE"):
        for name, prop in schema.get("properties", {}).items():
            operation["parameters"].append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "schema": prop,
                    "style": "deepObject",
                    "explode": True,
                }
            )
    else:
        operation["requestBody"] = {
            "required": bool(schema.get("required")),
            "content": {
                "application/x-www-form-urlencoded": {"schema": schema},
                "application/json": {"schema": schema},
            },
        }
    operation["_definitions"] = definitions
    return operation


def openapi_document(server_url: str) -> dict[str, Any]:
    """OpenAPI 3.1 for the routes Recur serves (and nothing it does not)."""
    load_all()
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {
        "error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "param": {"type": "string"},
                        "decline_code": {"type": "string"},
                    },
                    "required": ["type", "message"],
                }
            },
            "required": ["error"],
        }
    }
    for target in ROUTES:
        operation = _operation(target)
        components.update(operation.pop("_definitions"))
        components.setdefault(
            target.returns,
            {"type": "object", "description": f"A Stripe-shaped `{target.returns}` object."},
        )
        paths.setdefault(target.path, {})[target.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Recur API",
            "version": __version__,
            "description": "A compatible subset of Stripe's v1 Billing API. See docs/api.md.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


def reference_page() -> str:
    """A plain HTML reference of every endpoint and its parameters."""
    load_all()
    sections = []
    for target in sorted(ROUTES, key=lambda r: (r.path, r.method)):
        schema = target.params.model_json_schema()
        rows = "".join(
            f"<tr><td><code>{html.escape(name)}</code></td>"
            f"<td>{'required' if name in schema.get('required', []) else 'optional'}</td>"
            f"<td>{html.escape(str(prop.get('type') or prop.get('anyOf') or prop.get('$ref', '')))}"
            "</td></tr>"
            for name, prop in schema.get("properties", {}).items()
        )
        sections.append(
            f"<section><h2><code>{target.method} {html.escape(target.path)}</code></h2>"
            f"<p>{html.escape(target.summary)} Returns a <code>{target.returns}</code>.</p>"
            f"<table><tr><th>parameter</th><th></th><th>type</th></tr>{rows}</table></section>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Recur API reference</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem}"
        "table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;"
        "text-align:left}h2{font-size:1.05rem;margin-top:2rem}</style></head><body>"
        "<h1>Recur API reference</h1><p>A compatible subset of Stripe's v1 API: form-encoded "
        "(or JSON) requests, <code>Authorization: Bearer sk_…</code>. The machine-readable "
        "description is at <a href='/openapi.json'>/openapi.json</a>.</p>"
        + "".join(sections)
        + "</body></html>"
    )
