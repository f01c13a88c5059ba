"""The issuing scope of a holder's latest licence (the licence, its tier, governorate and
activities) and the customer of the document, read in one statement whose SQL is built once
per process. The same statement says whether any webhook subscription may want the documents'
events (`webhooks.selectors.any_subscriber_sql`): with none, issuing emits nothing at no cost.

Every document issued starts here, and through the ORM this was two queries whose compilation
cost more than the database's work (a third of an issue under the profiler, issue 13). The
statement joins the licence–activity table to the four tables (and the customer, if it is the
holder's); the rows become model instances
through `Model.from_db` with the same converters the ORM applies, so the objects are those the
ORM would have returned (the activities set as if prefetched).
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.db import connection, models
from django.db.models.expressions import Col

from khutwa import prebuilt
from khutwa.catalogue.models import Activity, Governorate, LicenceTier
from khutwa.documents.models import Customer
from khutwa.licensing.models import Licence
from khutwa.webhooks.selectors import any_subscriber_sql

#: The models of one row, in column order, with their SQL alias.
_PARTS: tuple[tuple[type[models.Model], str], ...] = (
    (Licence, "lic"),
    (LicenceTier, "tier"),
    (Governorate, "gov"),
    (Activity, "act"),
    (Customer, "cust"),
)


@cache
def _statement(vendor: str) -> tuple[str, tuple[tuple[type[models.Model], list[str], list[Any]], ...]]:
    """The SQL and, per model, its field names and the converters of the columns that have
    any (built once)."""
    through = Licence.activities.through._meta
    columns, parts = [], []
    for model, alias in _PARTS:
        fields = model._meta.concrete_fields
        columns += [f'{alias}."{f.column}"' for f in fields]
        converters = []  # (column index, converters, expression), for the columns that have any
        for i, f in enumerate(fields):
            expression = Col(alias, f)
            found = connection.ops.get_db_converters(expression) + cast(Any, f).get_db_converters(connection)
            if found:
                converters.append((i, found, expression))
        parts.append((model, [f.attname for f in fields], converters))
    order = ", ".join(
        f'act."{cast(Any, Activity._meta.get_field(n)).column}"' for n in ("sort_order", "code")
    )
    subscribed = any_subscriber_sql('lic."holder_id"')
    sql = (
        f"SELECT {', '.join(columns)}, {subscribed} "  # noqa: S608 - built from our own model metadata
        f'FROM "{through.db_table}" la '
        f'JOIN "{Licence._meta.db_table}" lic ON lic."id" = la."licence_id" '
        f'JOIN "{LicenceTier._meta.db_table}" tier ON tier."id" = lic."tier_id" '
        f'JOIN "{Governorate._meta.db_table}" gov ON gov."id" = lic."governorate_id" '
        f'JOIN "{Activity._meta.db_table}" act ON act."id" = la."activity_id" '
        f'LEFT JOIN "{Customer._meta.db_table}" cust ON cust."owner_id" = lic."holder_id" AND cust."id" = %s '
        f'WHERE la."licence_id" = (SELECT "id" FROM "{Licence._meta.db_table}" '
        'WHERE "holder_id" = %s ORDER BY "issued_at" DESC LIMIT 1) '
        f"ORDER BY {order}"
    )
    return sql, tuple(parts)


def _instance(model: type[models.Model], names: list[str], converters: list[Any], values: tuple) -> Any:
    if not converters:
        return model.from_db(connection.alias, names, values)
    converted = list(values)
    for i, functions, expression in converters:
        value = converted[i]
        for function in functions:
            value = function(value, expression, connection)
        converted[i] = value
    return model.from_db(connection.alias, names, converted)


def _key(value: int | None) -> int:
    """A customer id the database can compare (0 matches none): anything else, a number out of
    a big integer's range included, is simply no customer of the holder's."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    return 0


def latest_licence_with_scope(holder_id: int, customer_id: int | None = None) -> tuple[Licence | None, Any]:
    """The holder's latest licence (by issue time) with tier, governorate and activities loaded,
    and the holder's customer `customer_id` (None if it is not theirs); the licence is None when
    it has no activities (no licence is issued so) or there is no licence."""
    licence, customer, _subscribed = latest_licence_with_scope_and_subscribers(holder_id, customer_id)
    return licence, customer


def latest_licence_with_scope_and_subscribers(
    holder_id: int, customer_id: int | None = None
) -> tuple[Licence | None, Any, bool]:
    """`latest_licence_with_scope`, and whether some active webhook subscription may receive
    the holder's documents' events (True when there is no licence: nothing is known)."""
    sql, parts = _statement(connection.vendor)
    rows = prebuilt.run(sql, [_key(customer_id), holder_id], fetch=True)
    if not rows:
        return None, None, True
    subscribed = bool(rows[0][-1])
    licence = tier = governorate = customer = None
    activities = []
    for row in rows:
        start = 0
        objects = []
        for model, names, converters in parts:
            end = start + len(names)
            objects.append((model, names, converters, row[start:end]))
            start = end
        if licence is None:
            licence = _instance(*objects[0])
            tier = _instance(*objects[1])
            governorate = _instance(*objects[2])
            if objects[4][3][0] is not None:  # the LEFT JOIN found the customer
                customer = _instance(*objects[4])
        activities.append(_instance(*objects[3]))
    assert licence is not None  # noqa: S101 - rows is not empty
    licence.tier = tier
    licence.governorate = governorate
    prefetched = licence.activities.all()  # never evaluated: filled as a prefetch fills it
    prefetched._result_cache = activities
    setattr(prefetched, "_prefetch_done", True)  # noqa: B010 - as Django's prefetch sets it
    setattr(licence, "_prefetched_objects_cache", {"activities": prefetched})  # noqa: B010
    return licence, customer, subscribed
