"""Many rows in one driver call: the billing run's writes, and seeding at scale.

SQLAlchemy's executemany runs a bind processor per value (JSON encoding above all) and
builds a parameter dictionary per row, which costs more than the database at 100,000
rows. Here each JSON value is encoded once with orjson, rows become plain tuples, and the
driver gets them in one call: `COPY … FROM STDIN` on PostgreSQL, `executemany` on SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
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


def _tuples(table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[tuple]:  # type: ignore[type-arg]
    json_columns = _json_columns(table)
    encoded = [name in json_columns for name in names]
    # A value object shared by several rows (one payload for two events) is encoded once.
    texts: dict[int, tuple[Any, str]] = {}

    def encode(value: Any) -> str | None:
        if value is None:
            return None
        hit = texts.get(id(value))
        if hit is None or hit[0] is not value:
            hit = texts[id(value)] = (value, json_text(value))
        return hit[1]

    return [
        tuple(
            encode(row[name]) if is_json else row[name]
            for name, is_json in zip(names, encoded, strict=True)
        )
        for row in rows
    ]


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all have the same keys, in one driver call."""
    if not rows:
        return
    names = _checked(table, list(rows[0]))
    tuples = _tuples(table, names, rows)
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
