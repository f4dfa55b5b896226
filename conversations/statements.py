"""A turn's writes as one SQL statement.

Storing a turn used to be a transaction of five statements (messages, trace, LLM calls, the
conversation's counters, and BEGIN/COMMIT around them): five round trips and five ORM query
compilations per turn. Chained as data-modifying CTEs they are one statement, which PostgreSQL
runs atomically on its own, so no transaction is opened either.

Each table's rows travel as one JSON document that PostgreSQL turns back into rows of that table
(`jsonb_populate_recordset`): compiling the inserts with Django's compilers and binding every
value one by one cost ~0.8 ms of CPU per turn, most of a turn's storing. The rows are still model
instances, so field defaults stay the models' own, and `pre_save` still stamps `auto_now_add`.
"""

from __future__ import annotations

import functools
import json

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Model


@functools.cache
def _columns(model: type[Model]) -> tuple[tuple, str]:
    """The fields an insert writes (all but the id), and the INSERT … SELECT for them."""
    opts = model._meta
    fields = tuple(f for f in opts.concrete_fields if not f.generated and f is not opts.pk)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(opts.db_table)
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608 - names from the model, rows a parameter
        f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) WITH ORDINALITY ORDER BY ordinality "
        f"RETURNING {connection.ops.quote_name(opts.pk.column)}"
    )
    return fields, sql


def _json(rows: list[dict]) -> str:
    try:
        return orjson.dumps(rows).decode()
    except TypeError:  # an integer past 64 bits (a long number a user typed, in a trace): json writes it exactly
        return json.dumps(rows, cls=DjangoJSONEncoder)


def _insert(objs: list[Model]) -> tuple[str, list]:
    fields, sql = _columns(type(objs[0]))
    rows = [{f.column: f.pre_save(obj, True) for f in fields} for obj in objs]
    return sql, [_json(rows)]


def _update(model: type[Model], pk: int, values: dict, add: dict) -> tuple[str, list]:
    quote, opts = connection.ops.quote_name, model._meta
    sets, params = [], []
    for name, value in values.items():
        sets.append(f"{quote(opts.get_field(name).column)} = %s")
        params.append(value)
    for name, by in add.items():
        column = quote(opts.get_field(name).column)
        sets.append(f"{column} = {column} + %s")
        params.append(by)
    table, key = quote(opts.db_table), quote(opts.pk.column)
    return f"UPDATE {table} SET {', '.join(sets)} WHERE {key} = %s", [*params, pk]  # noqa: S608 - names from the model


def write_together(
    *,
    returning: list[Model],
    inserts: list[list[Model]],
    update: tuple[type[Model], int, dict, dict] | None = None,
) -> list[int]:
    """Insert `returning` (one model's rows; their ids come back in order), every list of
    `inserts` and run `update` = (model, pk, values to set, amounts to add), all in one statement."""
    parts, params = [], []
    for i, rows in enumerate([returning, *inserts]):
        if rows:
            sql, p = _insert(rows)
            parts.append(f"w{i} AS ({sql})")
            params.extend(p)
    if update is not None and (update[2] or update[3]):
        sql, p = _update(*update)
        parts.append(f"u AS ({sql})")
        params.extend(p)
    if not parts:
        return []
    select = "SELECT id FROM w0 ORDER BY id" if returning else "SELECT 1 WHERE false"
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {select}", params)
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(returning, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
    return ids
