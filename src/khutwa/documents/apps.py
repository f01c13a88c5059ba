from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "khutwa.documents"
    label = "documents"
    verbose_name = _("Official documents")

    def ready(self) -> None:
        from khutwa.documents.verdict_function import install_after_migrate

        post_migrate.connect(install_after_migrate, dispatch_uid="khutwa.verdict_function")
