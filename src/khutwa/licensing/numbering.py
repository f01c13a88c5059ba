"""Gapless yearly numbers (application references, licence numbers) taken under a row lock
inside the caller's transaction: a refused write rolls the number back with it."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from khutwa.licensing.models import Counter


def counter_next(name: str, year: int) -> int:
    with transaction.atomic():
        updated = Counter.objects.filter(name=name, year=year).update(last=F("last") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    Counter.objects.create(name=name, year=year, last=1)
                return 1
            except IntegrityError:
                Counter.objects.filter(name=name, year=year).update(last=F("last") + 1)
        return Counter.objects.get(name=name, year=year).last


def application_reference(year: int) -> str:
    return f"APP-{year}-{counter_next('application', year):06d}"


def licence_number(year: int) -> str:
    """Licence numbers: KH-<year of first issue>-<six-digit sequence>, e.g. KH-2026-000123."""
    return f"KH-{year}-{counter_next('licence', year):06d}"
