from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TlogConfig(AppConfig):
    name = "khutwa.tlog"
    label = "tlog"
    verbose_name = _("Public transparency log")
