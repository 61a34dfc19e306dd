"""Many rows in one driver call: the billing run's writes, and seeding at scale.

SQLAlchemy's executemany runs a bind processor per value (JSON encoding above all) and
builds a parameter dictionary per row, which costs more than the database at 100,000
rows. Here each JSON value is encoded once with orjson, rows become plain tuples, and the
driver gets them in one call: `COPY … FROM STDIN` on PostgreSQL, `executemany` on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table


def json_text(value: Any) -> str:
    """The JSON text stored for a value (the engine's serializer too: one format)."""
    return orjson.dumps(value).decode()


def _checked(table: Table, names: Sequence[str]) -> list[str]:
    # Statements are assembled from names; only the table's own column names get in.
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"not columns of {table.name}: {unknown}")
    return list(names)


@cache
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(column.name for column in table.columns if isinstance(column.type, JSON))


def _tuples(
    table: Table,
    names: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    constants: Sequence[Any] = (),
) -> list[tuple]:  # type: ignore[type-arg]
    """Each row's values in `names` order (JSON ones encoded), then `constants`."""
    json_columns = _json_columns(table)
    encoded = [position for position, name in enumerate(names) if name in json_columns]
    # One C-level call takes a row's values in column order (a tuple even for one name).
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
        itemgetter(*names) if len(names) > 1 else lambda row: tuple(row[name] for name in names)
    )
    tail = tuple(constants)
    if not encoded:
        return [(*take(row), *tail) for row in rows]
    # A value object shared by several rows (one payload for two events) is encoded once.
    texts: dict[int, tuple[Any, str]] = {}
    dumps = orjson.dumps
    out = []
    for row in rows:
        values = [*take(row), *tail]
        for position in encoded:
            value = values[position]
            if value is None:
                continue
            hit = texts.get(id(value))
            if hit is None or hit[0] is not value:
                hit = texts[id(value)] = (value, dumps(value).decode())
            values[position] = hit[1]
        out.append(tuple(values))
    return out


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert rows that all have the same keys, in one driver call; `constants` are
    columns with the same value in every row (a tenant's scope: they win over the row's)."""
    if not rows:
        return
    extra = constants or {}
    own = _checked(table, [name for name in rows[0] if name not in extra])
    names = own + _checked(table, list(extra))
    tuples = _tuples(table, own, rows, list(extra.values()))
    columns = ", ".join(f'"{name}"' for name in names)
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        copying = f"COPY {table.name} ({columns}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(copying) as copy:
            for values in tuples:
                copy.write_row(values)
        return
    marks = ", ".join("?" for _ in names)
    statement = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"  # noqa: S608 (names checked)
    connection.exec_driver_sql(statement, tuples)


def update_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Set the same columns of many rows, each found by its surrogate key `pk`."""
    if not rows:
        return
    names = _checked(table, [name for name in rows[0] if name != "pk"])
    json_columns = _json_columns(table)
    postgres = connection.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    assignments = ", ".join(
        f'"{name}" = {mark}::jsonb' if postgres and name in json_columns else f'"{name}" = {mark}'
        for name in names
    )
    tuples = [
        (*values, row["pk"]) for values, row in zip(_tuples(table, names, rows), rows, strict=True)
    ]
    statement = f"UPDATE {table.name} SET {assignments} WHERE pk = {mark}"  # noqa: S608 (names checked)
    connection.exec_driver_sql(statement, tuples)
