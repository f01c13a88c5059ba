"""Reads about people."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Aggregate, FilteredRelation, OuterRef, Q, Subquery, TextField

from khutwa.accounts.models import Enterprise, User
from khutwa.accounts.roles import Role

#: The roles a national-identity login may hold: anyone else acts for an authority and logs in
#: with a password and a second factor (accounts/oidc.py).
CITIZEN_ROLES = frozenset({Role.APPLICANT, Role.HOLDER})


def contact_confirmed(user: Any) -> bool:
    """Has the user proved an e-mail address or a mobile number of theirs? Needed to apply for
    a licence: the decision, the requests for information and the licence reach them there."""
    return user.email_confirmed_at is not None or user.phone_confirmed_at is not None


def is_citizen_only(user: Any) -> bool:
    """Holds no role beyond applicant and licence holder, and reaches no admin."""
    if user.is_staff or user.is_superuser:
        return False
    return user.role_names() <= CITIZEN_ROLES


class _NamesAsJson(Aggregate):
    """The names aggregated as a JSON array in text (exact whatever a group's name holds):
    SQLite's json_group_array, PostgreSQL's json_agg."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "%(function)s(%(expressions)s)::text"
        return self.as_sql(compiler, connection, function="JSON_AGG", template=template)


def user_for_session(pk: Any, *, device_id: int | None = None) -> User | None:
    """The user a session names, with what every request asks of them, in one query: their
    roles (group names, `User.role_names`), their enterprise (`User.verified_cr`) and, when the
    session names a TOTP device (`device_id`), that device if it is still theirs
    (`session_device`, None when removed). None when the account is gone. Nothing is kept
    between requests: a revoked role, a removed device or a deactivated account shows at once.

    The statement is built and compiled by the ORM once per database and shape (with or without
    the device), as `keyset.count_capped_once` does for the staff pages' counts: compiling its
    subquery and joins on every request cost more than the three queries it replaces."""
    try:
        pk = User._meta.pk.to_python(pk)
    except ValidationError:
        return None
    alias = router.db_for_read(User)
    statement = _session_statement(alias, with_device=device_id is not None)
    params = [pk if p == _PK_MARK else device_id if p == _DEVICE_MARK else p for p in statement.params]
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for position, (converters, expression) in statement.converters.items():
        for convert in converters:
            values[position] = convert(values[position], expression, connection)
    return statement.build(alias, [values[i] for i in statement.order])


# Markers for the two parameters in the compiled statement, each within its column's range (the
# device's is a 32-bit integer; an id out of range compiles to no statement on PostgreSQL).
_PK_MARK = 2**62 + 14
_DEVICE_MARK = 2**31 - 15


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    converters: dict[int, tuple[list[Any], Any]]
    order: list[int]  # the SQL's column for each value that `build` reads
    with_device: bool

    def build(self, alias: str, values: list[Any]) -> User:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        n_user, n_enterprise = len(_USER_FIELDS), len(_ENTERPRISE_FIELDS)
        user = User.from_db(alias, _USER_FIELDS, values[:n_user])
        user._role_names = set(json.loads(values[n_user] or "[]"))
        start = n_user + 1
        enterprise_values = values[start : start + n_enterprise]
        enterprise = None
        if enterprise_values[0] is not None:
            enterprise = Enterprise.from_db(alias, _ENTERPRISE_FIELDS, enterprise_values)
            Enterprise._meta.get_field("user").set_cached_value(enterprise, user)
        User.enterprise.related.set_cached_value(user, enterprise)
        if self.with_device:
            device_fields = [f.attname for f in TOTPDevice._meta.concrete_fields]
            device_values = values[start + n_enterprise :]
            device = None
            if device_values[0] is not None:
                device = TOTPDevice.from_db(alias, device_fields, device_values)
            user.session_device = device  # type: ignore[attr-defined]
        return user


_USER_FIELDS = [f.attname for f in User._meta.concrete_fields]
_ENTERPRISE_FIELDS = [f.attname for f in Enterprise._meta.concrete_fields]
_STATEMENTS: dict[tuple[str, bool], _Statement] = {}


def _session_statement(alias: str, *, with_device: bool) -> _Statement:
    kept = _STATEMENTS.get((alias, with_device))
    if kept is not None:
        return kept
    from django_otp.plugins.otp_totp.models import TOTPDevice

    roles = (
        User.groups.through.objects.filter(user_id=OuterRef("pk"))
        .values("user_id")
        .annotate(names=_NamesAsJson("group__name"))
        .values("names")  # type: ignore[misc]  # the stubs miss the annotation
    )
    qs = User.objects.using(alias).filter(pk=_PK_MARK).annotate(session_roles=Subquery(roles))
    columns = [*_USER_FIELDS, "session_roles", *(f"enterprise__{name}" for name in _ENTERPRISE_FIELDS)]
    if with_device:
        relation = TOTPDevice._meta.get_field("user").related_query_name()
        condition = Q(**{f"{relation}__pk": _DEVICE_MARK})
        qs = qs.annotate(session_device=FilteredRelation(relation, condition=condition))
        columns += [f"session_device__{f.attname}" for f in TOTPDevice._meta.concrete_fields]
    compiler = qs.values_list(*columns).query.get_compiler(alias)
    sql, params = compiler.as_sql()
    converters = compiler.get_converters([column[0] for column in compiler.select])
    names = [alias for _expression, _sql, alias in compiler.select]  # the SELECT's own order
    order = [names.index(column) for column in columns]
    statement = _Statement(sql, tuple(params), converters, order, with_device)
    _STATEMENTS[(alias, with_device)] = statement
    return statement
