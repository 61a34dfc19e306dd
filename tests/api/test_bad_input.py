"""Random bodies on every POST route: never a 5xx, and a refused request writes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from recur import bootstrap
from recur.api.framework import ROUTES, Route
from recur.api.routes import load_all
from recur.services.accounts import AccountKeys
from recur.storage.tables import metadata
from tests.support.objects import create_one_of_each, fill_path
from tests.support.server import LiveServer

load_all()
POST_ROUTES = [r for r in ROUTES if r.method == "POST"]
TENANT_TABLES = [t for t in metadata.sorted_tables if "account_id" in t.c and t.name != "api_keys"]


def _known_names(target: Route) -> list[str]:
    return sorted(target.params.model_json_schema().get("properties", {}))


_junk_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_[]0", min_size=1, max_size=12)
_scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1", "true", "false", "null", "9" * 30, "1.5", "eur", "inf"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_junk_names, inner, max_size=3),
    max_leaves=6,
)


def _encode(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _encode(f"{prefix}[{k}]", v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _encode(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, value))


def _counts(container: bootstrap.Container, account_id: str) -> dict[str, int]:
    with container.engine.connect() as connection:
        return {
            table.name: int(
                connection.execute(
                    select(func.count()).select_from(table).where(table.c.account_id == account_id)
                ).scalar_one()
            )
            for table in TENANT_TABLES
        }


@pytest.mark.parametrize("target", POST_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_random_bodies_never_fail_with_5xx_nor_write_on_error(
    target: Route,
    server: LiveServer,
    container: bootstrap.Container,
    client: stripe.StripeClient,
    account: AccountKeys,
) -> None:
    ids = create_one_of_each(client)
    path = fill_path(target, ids)
    names = _known_names(target)
    bodies = st.dictionaries(
        st.sampled_from(names) | _junk_names if names else _junk_names, _values, max_size=5
    )

    @settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies)
    def check(body: dict[str, Any]) -> None:
        pairs: list[tuple[str, str]] = []
        for key, value in body.items():
            _encode(key, value, pairs)
        before = _counts(container, account.account)
        with server.http(account.test_secret_key) as http:
            response = http.post(
                path,
                content=urlencode(pairs),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        assert response.status_code < 500, (path, pairs, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["type"] in {"invalid_request_error", "card_error", "idempotency_error"}
            assert error["message"]
            assert _counts(container, account.account) == before, (path, pairs, error)

    check()
