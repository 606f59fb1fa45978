"""Per-change queries compiled once: a per-change run asks the same few queries for every change,
and for most of them Django building and compiling the SQL took longer than PostgreSQL running
it (a rule with subqueries: 9 ms of Python for 3 ms in the database).

``field__any=ids`` keeps the SQL the same whatever the ids: on PostgreSQL it is one array
parameter (``field = ANY(%s)``, planned as an ``IN`` list). ``compiled_rows`` builds a rule's
query with placeholders the first time (an array of ids, or a moment such as a window's start),
keeps its SQL, parameters and converters on the connection, and afterwards only puts the run's
values in their places. Everything else the query depends on (thresholds, today's date) goes
into the cache key. Elsewhere than on PostgreSQL, or when the placeholders cannot be found in
the compiled parameters, the query is built and run as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, ForeignObject, Lookup, QuerySet
from django.db.models.query import ValuesIterable
from django.db.models.sql.compiler import SQLCompiler

CACHE_ATTRIBUTE = "_oversight_compiled"
MAX_ENTRIES = 500


class AnyOf(Lookup):
    """``field__any=ids``: the field's value is one of ``ids``. On PostgreSQL the ids are one
    array parameter, so the SQL does not change with their number; elsewhere an ``IN`` list."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, self.rhs)
        values = list(self.rhs)
        if not values:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)


class _Slot(list):
    """A placeholder array, found again among the compiled parameters by its class: Django
    rebuilds a list it is given as a new list of the same class, so there is one per name."""


class _TimeSlot(datetime):
    """A placeholder moment (a window's start), found again by its class the same way."""


_SLOTS: dict[tuple[type, str], type] = {}


def _slot(name: str, value: Any) -> Any:
    """The placeholder for one input: an empty array stays itself (it is part of the key)."""
    if isinstance(value, datetime):
        base: type = _TimeSlot
    elif value:
        base = _Slot
    else:
        return value
    if (base, name) not in _SLOTS:
        _SLOTS[(base, name)] = type(f"{base.__name__}_{name}", (base,), {})
    cls = _SLOTS[(base, name)]
    if base is _TimeSlot:
        return cls.fromtimestamp(value.timestamp(), value.tzinfo)
    return cls(value)


@dataclass
class _Compiled:
    compiler: SQLCompiler
    sql: str
    params: list[Any]
    slots: dict[str, list[int]]
    converters: dict
    names: list[str]

    def rows(self, inputs: dict[str, Any]) -> list[dict[str, Any]]:
        params = list(self.params)
        for name, positions in self.slots.items():
            value = inputs[name]
            for position in positions:
                params[position] = value if isinstance(value, datetime) else list(value)
        with self.compiler.connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows: Any = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        return [dict(zip(self.names, row, strict=True)) for row in rows]


def compiled_rows(
    key: Hashable, build: Callable[..., QuerySet], **inputs: list[int] | datetime
) -> list[dict[str, Any]]:
    """The rows of ``build(**inputs)``, a ``values()`` queryset. An input is an array of ids,
    used only in ``__any`` lookups, or a moment compared with a date-time field (a window's
    start). ``key`` names the query and everything else it depends on. An empty array is passed
    as itself (a query may leave out a condition on nothing), so it is part of the key too."""
    arrays = inputs
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return list(build(**arrays))
    cache: dict = connection.__dict__.setdefault(CACHE_ATTRIBUTE, {})
    shape = tuple(
        sorted(
            (name, "moment" if isinstance(value, datetime) else not value) for name, value in arrays.items()
        )
    )
    full_key = (key, shape, connection.timezone_name)
    entry = cache.get(full_key)
    if entry is None:
        if len(cache) >= MAX_ENTRIES:  # a key that varies with every call would only fill it
            cache.clear()
        entry = _compile(build, arrays)
        cache[full_key] = entry
    if entry is False:
        return list(build(**arrays))
    return entry.rows(arrays)


def _compile(build: Callable[..., QuerySet], arrays: dict[str, Any]) -> _Compiled | bool:
    """Build with placeholders and compile; False when the query cannot be kept (a placeholder
    not passed as one parameter, or a query that is empty by construction)."""
    slots = {name: _slot(name, value) for name, value in arrays.items()}
    queryset = build(**slots)
    if queryset._iterable_class is not ValuesIterable or queryset.db != DEFAULT_DB_ALIAS:
        return False
    query = queryset.query
    compiler = query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return False
    positions = {
        name: [i for i, param in enumerate(params) if type(param) is type(slot)]
        for name, slot in slots.items()
        if isinstance(slot, (_Slot, _TimeSlot))
    }
    if not all(positions.values()):
        return False
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    names = (
        list(query.selected)
        if query.selected
        else [*query.extra_select, *query.values_select, *query.annotation_select]
    )
    return _Compiled(compiler, sql, list(params), positions, compiler.get_converters(fields), names)
