"""What every repository of API objects shares: scoping, keyset pages, CRUD."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from recur.domain.errors import Conflict, NotFound

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork

Record = Mapping[Any, Any]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A list request: at most `limit` rows after/before a cursor id, newest first."""

    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records, newest first, and whether more lie beyond it."""

    records: Sequence[Record]
    has_more: bool


@dataclass(frozen=True, slots=True)
class CreatedFilter:
    """Stripe's `created` range filter on lists."""

    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


class ObjectRepository:
    """Scoped access to one table of API objects (subclasses add their own queries)."""

    table: Table
    kind: str  # the word used in "No such customer: 'cus_…'"

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.scope = uow.scope
        self.connection = uow.connection

    def _in_scope(self) -> list[ColumnElement[bool]]:
        t = self.table
        return [t.c.account_id == self.scope.account_id, t.c.livemode == self.scope.livemode]

    def insert(self, values: Mapping[str, Any]) -> Record:
        """Insert one object of this tenant and return it as stored."""
        row = dict(values, account_id=self.scope.account_id, livemode=self.scope.livemode)
        try:
            self.connection.execute(insert(self.table), [row])
        except IntegrityError as exc:
            # Services check uniqueness first; reaching here means a concurrent request won
            # the race. Retrying will see its row and answer as the API normally does.
            raise Conflict(
                f"This {self.kind} was changed by a concurrent request; retry the request.",
                code="lock_timeout",
                retriable=True,
            ) from exc
        return self.get(row["id"])

    def find(self, object_id: str, *, for_update: bool = False) -> Record | None:
        """The object with this id in this tenant, or None."""
        query = select(self.table).where(self.table.c.id == object_id, *self._in_scope())
        if for_update and self.uow.dialect == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).mappings().first()
        return row

    def get(self, object_id: str, *, param: str | None = None, for_update: bool = False) -> Record:
        """The object with this id in this tenant, or NotFound naming `param`."""
        row = self.find(object_id, for_update=for_update)
        if row is None:
            raise NotFound.for_id(self.kind, object_id, param)
        return row

    def update(self, object_id: str, values: Mapping[str, Any]) -> Record:
        """Change columns of one object and return it as stored."""
        if values:
            self.connection.execute(
                update(self.table)
                .where(self.table.c.id == object_id, *self._in_scope())
                .values(**values)
            )
        return self.get(object_id)

    def delete(self, object_id: str) -> None:
        """Remove one object of this tenant."""
        self.connection.execute(
            delete(self.table).where(self.table.c.id == object_id, *self._in_scope())
        )

    def page_matching(
        self, request: PageRequest, *, created: CreatedFilter | None = None, **equal: Any
    ) -> Page:
        """A page of the objects whose columns equal the given values (a None value: any),
        the list filters most endpoints take (`customer=`, `charge=`…)."""
        t = self.table
        conditions = [t.c[name] == value for name, value in equal.items() if value is not None]
        return self.page(request, *conditions, created=created)

    def page(
        self,
        request: PageRequest,
        *conditions: ColumnElement[bool],
        created: CreatedFilter | None = None,
        oldest_first: bool = False,
    ) -> Page:
        """A keyset page, newest first (or oldest first: an invoice's lines); cursors are
        object ids of this tenant."""
        t = self.table
        where = [*self._in_scope(), *conditions, *self._created_conditions(created)]
        query = select(t).where(*where)
        # "Forward" is the list's order; `ending_before` pages backwards from a cursor.
        forward, backward = (
            (t.c.pk.asc(), t.c.pk.desc())
            if oldest_first
            else (
                t.c.pk.desc(),
                t.c.pk.asc(),
            )
        )

        def beyond(cursor: int) -> ColumnElement[bool]:
            return t.c.pk > cursor if oldest_first else t.c.pk < cursor

        def before(cursor: int) -> ColumnElement[bool]:
            return t.c.pk < cursor if oldest_first else t.c.pk > cursor

        if request.ending_before is not None:
            cursor = self._cursor(request.ending_before, "ending_before")
            query = query.where(before(cursor)).order_by(backward)
            rows = list(self.connection.execute(query.limit(request.limit + 1)).mappings())
            has_more = len(rows) > request.limit
            return Page(list(reversed(rows[: request.limit])), has_more)
        if request.starting_after is not None:
            cursor = self._cursor(request.starting_after, "starting_after")
            query = query.where(beyond(cursor))
        query = query.order_by(forward).limit(request.limit + 1)
        rows = list(self.connection.execute(query).mappings())
        return Page(rows[: request.limit], len(rows) > request.limit)

    def count(self, *conditions: ColumnElement[bool]) -> int:
        """How many objects of this tenant match."""
        query = select(func.count()).select_from(self.table).where(*self._in_scope(), *conditions)
        return int(self.connection.execute(query).scalar_one())

    def _cursor(self, object_id: str, param: str) -> int:
        t = self.table
        pk = self.connection.execute(
            select(t.c.pk).where(t.c.id == object_id, *self._in_scope())
        ).scalar_one_or_none()
        if pk is None:
            raise NotFound.for_id(self.kind, object_id, param)
        return int(pk)

    def _created_conditions(self, created: CreatedFilter | None) -> list[ColumnElement[bool]]:
        if created is None:
            return []
        c = self.table.c.created
        out: list[ColumnElement[bool]] = []
        if created.gt is not None:
            out.append(c > created.gt)
        if created.gte is not None:
            out.append(c >= created.gte)
        if created.lt is not None:
            out.append(c < created.lt)
        if created.lte is not None:
            out.append(c <= created.lte)
        return out
