from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def cache_table_after_migrate(sender: Any, **kwargs: Any) -> None:
    """The database cache's table (the shared store of rate-limit counters) exists wherever the
    database was migrated: `make run`, the scripts, the benchmarks, the test databases."""
    if getattr(sender, "label", None) != "audit":
        return
    from django.core.management import call_command

    call_command("createcachetable", database=kwargs.get("using", "default"), verbosity=0)


class AuditConfig(AppConfig):
    name = "khutwa.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        post_migrate.connect(cache_table_after_migrate, dispatch_uid="khutwa.cache_table")
