"""Settings read from `RECUR_*` environment variables."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'recur.sqlite3').resolve()}"

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
