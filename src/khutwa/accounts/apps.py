from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "khutwa.accounts"
    label = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        from khutwa.accounts.middleware import stamp_login
        from khutwa.accounts.roles import roles_sync_after_migrate

        # Permissions exist only after every app has migrated: the role groups follow them.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="khutwa.roles_sync")
        user_logged_in.connect(stamp_login, dispatch_uid="khutwa.session_login_time")


class KhutwaAdminConfig(admin_apps.AdminConfig):
    """Django's admin, on a site that requires the second factor of staff (admin_site.py)."""

    default = False  # named in INSTALLED_APPS; AccountsConfig stays this module's default

    default_site = "khutwa.accounts.admin_site.KhutwaAdminSite"
