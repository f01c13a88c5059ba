from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations: health and readiness, metrics, structured logs, backups."""

    name = "khutwa.ops"
    label = "ops"
    verbose_name = _("Operations")
