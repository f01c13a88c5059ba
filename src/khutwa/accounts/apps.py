from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "khutwa.accounts"
    label = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        from khutwa.accounts.roles import roles_sync_after_migrate

        # Permissions exist only after every app has migrated: the role groups follow them.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="khutwa.roles_sync")
