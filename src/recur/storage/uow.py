"""The unit of work: one transaction, the repositories bound to it, commit or roll back."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from recur.domain.tenancy import Scope
from recur.storage.db import READONLY_OPTION

R = TypeVar("R")


class UnitOfWork:
    """A transaction scoped to one tenant; repositories are created on first use.

    Services never commit: leaving the `with` block commits, an exception rolls back.
    """

    def __init__(self, engine: Engine, scope: Scope | None, *, readonly: bool = False) -> None:
        self._engine = engine
        self._scope = scope
        self._readonly = readonly
        self._connection: Connection | None = None
        self._repositories: dict[type[Any], Any] = {}
        self._after_commit: list[Callable[[], None]] = []

    @property
    def scope(self) -> Scope:
        """The tenant; a unit of work without one may only use unscoped repositories."""
        if self._scope is None:
            raise RuntimeError("this unit of work has no tenant scope")
        return self._scope

    @property
    def connection(self) -> Connection:
        """The open connection (inside the transaction)."""
        if self._connection is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._connection

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    def __enter__(self) -> UnitOfWork:
        connection = self._engine.connect()
        if self._readonly:
            connection = connection.execution_options(**{READONLY_OPTION: True})
        connection.begin()
        self._connection = connection
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection = self.connection
        try:
            if exc_type is None and not self._readonly:
                connection.commit()
            else:
                connection.rollback()
        finally:
            connection.close()
            self._connection = None
            self._repositories.clear()
        if exc_type is None:
            callbacks, self._after_commit = self._after_commit, []
            for callback in callbacks:
                callback()

    def for_scope(self, scope: Scope) -> UnitOfWork:
        """The same transaction seen as another tenant (a worker's batch spans tenants)."""
        child = UnitOfWork(self._engine, scope, readonly=self._readonly)
        child._connection = self.connection
        child._after_commit = self._after_commit
        return child

    def repository(self, cls: Callable[[UnitOfWork], R]) -> R:
        """The repository of class `cls` bound to this transaction (one instance each)."""
        repo = self._repositories.get(cls)  # type: ignore[call-overload]
        if repo is None:
            repo = cls(self)
            self._repositories[cls] = repo  # type: ignore[index]
        return repo  # type: ignore[no-any-return]

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never if it rolls back)."""
        self._after_commit.append(callback)


class UnitOfWorkFactory:
    """Creates units of work on one engine (the composition root holds one)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, scope: Scope | None, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, scope, readonly=readonly)
