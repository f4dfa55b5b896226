"""A turn's writes as one SQL statement.

Storing a turn used to be a transaction of five statements (messages, trace, LLM calls, the
conversation's counters, and BEGIN/COMMIT around them): five round trips and five ORM query
compilations per turn. Chained as data-modifying CTEs they are one statement, which PostgreSQL
runs atomically on its own, so no transaction is opened either. Each part is compiled by Django's
own insert / update compilers, so field defaults, `auto_now_add` and JSON encoding stay Django's.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model, Q
from django.db.models.sql import InsertQuery, UpdateQuery


def _insert(model: type[Model], objs: list[Model]) -> tuple[str, tuple]:
    """A multi-row INSERT … RETURNING id, as `bulk_create` writes it."""
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.pk]
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
    compiler.returning_fields = [opts.pk]
    [(sql, params)] = compiler.as_sql()
    return sql, params


def _update(model: type[Model], pk: int, values: dict) -> tuple[str, tuple]:
    query = UpdateQuery(model)
    query.add_update_values(values)
    query.add_q(Q(pk=pk))
    return query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()


def write_together(
    *, returning: list[Model], inserts: list[list[Model]], update: tuple[type[Model], int, dict] | None = None
) -> list[int]:
    """Insert `returning` (one model's rows; their ids come back in order), every list of
    `inserts` and run `update` = (model, pk, values), all in one statement."""
    parts, params = [], []
    for i, rows in enumerate([returning, *inserts]):
        if rows:
            sql, p = _insert(type(rows[0]), rows)
            parts.append(f"w{i} AS ({sql})")
            params.extend(p)
    if update is not None and update[2]:
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
