"""The `recur` command as an operator uses it, including `recur serve` as a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe
from typer.testing import CliRunner

from recur import bootstrap
from recur.cli import app
from recur.config import Settings
from recur.services import accounts


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"RECUR_DATABASE_URL": database_url, "RECUR_DATA_DIR": str(tmp_path / "var")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_account_create_prints_keys_once_as_json(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["account", "create", "--name", "Coworking", "--json"])
    assert result.exit_code == 0, result.output
    keys = json.loads(result.output)
    assert keys["account"].startswith("acct_")
    assert keys["test_secret_key"].startswith("sk_test_")
    assert keys["test_publishable_key"].startswith("pk_test_")
    assert keys["live_secret_key"].startswith("sk_live_")
    assert keys["live_publishable_key"].startswith("pk_live_")
    container = bootstrap.build(Settings())
    with container.uow_factory(None) as uow:
        key = accounts.authenticate(uow, keys["live_secret_key"])
    assert key is not None and key.scope.livemode is True
    assert key.scope.account_id == keys["account"]
    # Only digests are stored: the key text appears nowhere in the database.
    with container.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT key_hash, redacted FROM api_keys").all()
    assert all(keys["test_secret_key"] not in " ".join(row) for row in rows)
    container.engine.dispose()


def test_ensure_demo_creates_one_account_and_shows_its_key_every_time(
    env: dict[str, str],
) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["account", "ensure-demo"])
    second = runner.invoke(app, ["account", "ensure-demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    key_line = [w for w in first.output.split() if w.startswith("sk_test_")]
    assert key_line and key_line == [w for w in second.output.split() if w.startswith("sk_test_")]


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0
    assert "up to date" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_recur_serve_runs_as_a_process_and_the_sdk_can_use_it(env: dict[str, str]) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["account", "create", "--name", "Served", "--json"])
    secret = json.loads(created.output)["test_secret_key"]
    port = _free_port()
    recur = Path(sys.executable).parent / "recur"
    process = subprocess.Popen(
        [str(recur), "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "recur serve did not start"
            time.sleep(0.1)
        client = stripe.StripeClient(secret, base_addresses={"api": url})
        customer = client.v1.customers.create(params={"email": "first@example.com"})
        assert client.v1.customers.retrieve(customer.id).email == "first@example.com"
        assert httpx.get(f"{url}/openapi.json").json()["openapi"].startswith("3.")
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_restricted_keys(env: dict[str, str], container: bootstrap.Container) -> None:
    from tests.support.server import start_server

    runner = CliRunner()
    keys = json.loads(runner.invoke(app, ["account", "create", "--name", "R", "--json"]).output)
    read_only = runner.invoke(
        app, ["account", "restricted-key", "--account", keys["account"], "--read-only"]
    ).output.strip()
    full = runner.invoke(app, ["account", "restricted-key", "--account", keys["account"]])
    assert read_only.startswith("rk_test_") and full.output.strip().startswith("rk_test_")
    missing = runner.invoke(app, ["account", "restricted-key", "--account", "acct_nope"])
    assert missing.exit_code == 1
    server = start_server(container)
    try:
        reader = server.stripe_client(read_only)
        assert reader.v1.customers.list().data == []
        with pytest.raises(stripe.PermissionError):
            reader.v1.customers.create(params={"name": "no"})
        writer = server.stripe_client(full.output.strip())
        created = writer.v1.customers.create(params={"name": "yes"})
        assert reader.v1.customers.retrieve(created.id).name == "yes"
    finally:
        server.stop()
