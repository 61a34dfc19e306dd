"""Settings read from `RECUR_*` environment variables."""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _number_at_least(name: str, raw: Any, minimum: float) -> float:
    """A finite number ≥ `minimum`; the error names the environment variable."""
    try:
        value = float(str(raw).strip()) if not isinstance(raw, int | float) else float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if math.isnan(value) or math.isinf(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number of at least {minimum:g}, got {raw!r}")
    return value


class Settings(BaseSettings):
    """Everything an operator can configure; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="RECUR_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where embedded state lives.")
    database_url: str = Field(default="", description="sqlite:///path or postgresql+psycopg://…")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    secret: str = ""
    smtp_url: str = ""
    webhook_allow_private: bool = False
    log_level: str = "info"
    # How many due subscriptions a worker claims and bills in one transaction: a killed
    # worker's uncommitted batch is redone by the next; a larger batch commits less often.
    worker_batch_size: int = 500
    # Seconds an idle worker waits before looking for due work again.
    worker_interval: float = 1.0
    # Charges per second the simulated gateway accepts from all workers together (0: no
    # limit) — to rehearse collection at a real gateway's pace (Stripe: ~100/s live).
    simulated_gateway_rate: float = 0.0

    @field_validator("worker_batch_size", mode="before")
    @classmethod
    def _check_batch_size(cls, raw: Any) -> int:
        value = _number_at_least("RECUR_WORKER_BATCH_SIZE", raw, 1)
        if value != int(value):
            raise ValueError(f"RECUR_WORKER_BATCH_SIZE must be a whole number, got {raw!r}")
        return int(value)

    @field_validator("simulated_gateway_rate", mode="before")
    @classmethod
    def _check_gateway_rate(cls, raw: Any) -> float:
        return _number_at_least("RECUR_SIMULATED_GATEWAY_RATE", raw, 0)

    @field_validator("worker_interval", mode="before")
    @classmethod
    def _check_interval(cls, raw: Any) -> float:
        return _number_at_least("RECUR_WORKER_INTERVAL", raw, 0.01)

    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'recur.sqlite3').resolve()}"

    def resolved_simulated_ledger(self) -> Path:
        """The simulated payment gateway's books: a SQLite file of its own in `data_dir`
        (it stands for the outside world: what it did survives Recur's rollbacks)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return (self.data_dir / "simulated-gateway.sqlite3").resolve()

    def resolved_public_url(self) -> str:
        """Base URL used in links sent to people (emails, portal links)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_secret(self) -> str:
        """The signing secret, generated once into `data_dir` when not configured."""
        if self.secret:
            return self.secret
        path = self.data_dir / "secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value
