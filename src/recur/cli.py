"""The `recur` command: serve, worker, migrate, listen, account."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from recur import bootstrap
from recur.config import Settings
from recur.domain.errors import NotFound
from recur.services import accounts
from recur.storage.migrate import upgrade

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
account_app = typer.Typer(no_args_is_help=True, help="Merchant accounts and their keys.")
app.add_typer(account_app, name="account")
console = Console(highlight=False)

DEMO_KEYS_FILE = "demo-account.json"


@contextmanager
def _container(settings: Settings | None = None) -> Iterator[bootstrap.Container]:
    """The composition root, its schema migrated; its connections closed afterwards."""
    container = bootstrap.build(settings)
    try:
        upgrade(container.engine)
        yield container
    finally:
        container.engine.dispose()


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (RECUR_HOST, default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (RECUR_PORT, default 8000)."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Serve the API only; run `recur worker` processes apart."
    ),
) -> None:
    """Apply pending migrations, then serve the API (and, by default, the worker loop)."""
    import uvicorn

    settings = Settings()
    container = bootstrap.build(settings)
    application = bootstrap.build_app(container)
    if not no_worker:
        bootstrap.start_background_worker(container)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
    )


@app.command()
def worker() -> None:
    """Run a standalone worker process (claims due work from the shared database)."""
    with _container() as container:
        bootstrap.run_worker(container)


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    with _container() as container:
        url = container.settings.resolved_database_url()
    console.print(f"Database up to date: {_safe_url(url)}")


@app.command()
def listen(
    forward_to: str = typer.Option(
        ..., "--forward-to", help="The local URL to POST each event to."
    ),
    events: str = typer.Option(
        "", "--events", help="Comma-separated event types to forward (default: all)."
    ),
    api_key: str = typer.Option(
        "",
        "--api-key",
        envvar="RECUR_API_KEY",
        help="A secret key of the account (default: the demo account's, after `make run`).",
    ),
    api_base: str = typer.Option(
        "", "--api-base", help="The Recur server (default: RECUR_PUBLIC_URL)."
    ),
    secret: str = typer.Option(
        "", "--secret", help="The signing secret to use (default: a new whsec_… each run)."
    ),
    interval: float = typer.Option(1.0, "--interval", hidden=True),
) -> None:
    """Stream the account's events to a local URL as they happen, signed like webhooks."""
    from recur.domain.webhooks import new_webhook_secret
    from recur.listen import Listener, ListenError

    settings = Settings()
    key = api_key or _demo_key(settings)
    if not key:
        console.print("Give an API key: --api-key sk_test_… (or RECUR_API_KEY).")
        raise typer.Exit(2)
    signing = secret or new_webhook_secret()
    listener = Listener(
        api_base=api_base or settings.resolved_public_url(),
        api_key=key,
        forward_to=forward_to,
        secret=signing,
        types=[t.strip() for t in events.split(",") if t.strip()] or None,
        interval=interval,
        say=lambda line: typer.echo(line),
    )
    try:
        listener.run(
            ready=lambda: typer.echo(
                f"Ready! Your webhook signing secret is {signing} (^C to quit)"
            )
        )
    except KeyboardInterrupt:
        pass
    except ListenError as error:
        console.print(str(error))
        raise typer.Exit(1) from error


def _demo_key(settings: Settings) -> str:
    keys_file = settings.data_dir / DEMO_KEYS_FILE
    if not keys_file.exists():
        return ""
    return str(json.loads(keys_file.read_text()).get("test_secret_key", ""))


@account_app.command("create")
def account_create(
    name: str = typer.Option(..., "--name", help="The merchant's name."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Create a merchant account and print its keys (shown once, stored only as digests)."""
    with _container() as container, container.uow_factory(None) as uow:
        keys = accounts.create_account(uow, name, container.clock.now())
    document = {
        "account": keys.account,
        "test_secret_key": keys.test_secret_key,
        "test_publishable_key": keys.test_publishable_key,
        "live_secret_key": keys.live_secret_key,
        "live_publishable_key": keys.live_publishable_key,
    }
    if as_json:
        typer.echo(json.dumps(document))
        return
    console.print(
        f"Account [bold]{keys.account}[/bold] ({name}). Keep these keys; they are not shown again:"
    )
    for label, value in document.items():
        if label != "account":
            console.print(f"  {label:22} {value}")


@account_app.command("restricted-key")
def account_restricted_key(
    account: str = typer.Option(..., "--account", help="The account id (acct_…)."),
    live: bool = typer.Option(False, "--live", help="A live-mode key (default: test mode)."),
    read_only: bool = typer.Option(False, "--read-only", help="Allow GET requests only."),
) -> None:
    """Issue a restricted key (`rk_…`) and print it once."""
    with _container() as container, container.uow_factory(None) as uow:
        try:
            key = accounts.issue_restricted_key(
                uow, account, livemode=live, read_only=read_only, now=container.clock.now()
            )
        except NotFound as exc:
            console.print(exc.message)
            raise typer.Exit(1) from exc
    typer.echo(key)


@account_app.command("ensure-demo")
def account_ensure_demo() -> None:
    """Create the local demo account if there is none, and print its test secret key."""
    settings = Settings()
    keys_file = settings.data_dir / DEMO_KEYS_FILE
    with _container(settings) as container, container.uow_factory(None) as uow:
        existing = accounts.find_demo_account(uow)
        created = None
        if existing is None:
            created = accounts.create_account(uow, "Demo", container.clock.now(), is_demo=True)
    if created is not None:
        # The demo account is local and test-mode only; keeping its test keys in ./var lets
        # every `make run` show them again. Real accounts' keys are shown once.
        _write_private(
            keys_file,
            {
                "account": created.account,
                "test_secret_key": created.test_secret_key,
                "test_publishable_key": created.test_publishable_key,
            },
        )
    if keys_file.exists():
        demo = json.loads(keys_file.read_text())
        console.print(
            f"Demo account {demo['account']} — test secret key: [bold]{demo['test_secret_key']}"
            f"[/bold]  publishable: {demo['test_publishable_key']}"
        )
    else:
        console.print(
            "A demo account exists but its keys file is gone; create an account with "
            "`recur account create --name NAME`."
        )


def _write_private(path: Path, document: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Console script entry point."""
    app()
