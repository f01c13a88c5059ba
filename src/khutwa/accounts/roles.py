"""The roles of DESIGN.md as groups, and the permissions each one holds.

This is the one place that says which role may do what in the admin; object-level rules
(a reviewer sees only their body's queue) live in each domain's selectors.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class Role:
    APPLICANT = "applicant"
    HOLDER = "holder"
    REGISTRAR = "registrar"
    REVIEWER = "reviewer"
    INSPECTOR = "inspector"
    TAMKEEN_OFFICER = "tamkeen_officer"
    TAMKEEN_FINANCE = "tamkeen_finance"
    TAMKEEN_CUSTOMER = "tamkeen_customer"
    SYSADMIN = "sysadmin"


ROLE_LABELS = {
    Role.APPLICANT: _("Applicant"),
    Role.HOLDER: _("Licence holder"),
    Role.REGISTRAR: _("Khutwa registrar"),
    Role.REVIEWER: _("Reviewer at an approving body"),
    Role.INSPECTOR: _("Inspector"),
    Role.TAMKEEN_OFFICER: _("Tamkeen officer"),
    Role.TAMKEEN_FINANCE: _("Tamkeen finance"),
    Role.TAMKEEN_CUSTOMER: _("Tamkeen customer"),
    Role.SYSADMIN: _("System administrator"),
}

BODY_ROLES = frozenset({Role.REVIEWER, Role.INSPECTOR})
STAFF_ROLES = frozenset({Role.REGISTRAR, Role.SYSADMIN, Role.TAMKEEN_OFFICER})
# People who act for the ministry, an approving body or Tamkeen (whether or not they reach the
# admin): they prove a second factor (TOTP) and their sessions end after a short idle time.
OFFICIAL_ROLES = STAFF_ROLES | frozenset(
    {Role.REVIEWER, Role.INSPECTOR, Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE}
)

_CATALOGUE_MODELS = [
    "approvingbody",
    "activitycategory",
    "activity",
    "licencetier",
    "governorate",
    "publicholiday",
    "weekday",
    "policy",
]

# role → list of "app_label.codename" (admin permissions); later issues add theirs here.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.APPLICANT: [],
    Role.HOLDER: [],
    Role.REGISTRAR: [
        *(
            f"catalogue.{verb}_{model}"
            for model in _CATALOGUE_MODELS
            for verb in ("add", "change", "delete", "view")
        ),
        "audit.view_auditevent",
    ],
    Role.REVIEWER: ["catalogue.view_activity", "catalogue.view_approvingbody"],
    Role.INSPECTOR: ["catalogue.view_activity"],
    Role.TAMKEEN_OFFICER: [
        "catalogue.view_activity",
        "catalogue.view_licencetier",
        *(
            f"support.{verb}_{model}"
            for model in ("programme", "programmecap")
            for verb in ("add", "change", "view")
        ),
        "support.view_supportapplication",
        "support.view_beneficiary",
        "support.change_beneficiary",
    ],
    Role.TAMKEEN_FINANCE: [],
    Role.TAMKEEN_CUSTOMER: [],
    Role.SYSADMIN: [
        "audit.view_auditevent",
        *(f"accounts.{verb}_user" for verb in ("add", "change", "view")),
        "accounts.view_apitoken",
        "accounts.delete_apitoken",
        # Failed logins (django-axes): see them, and unlock by deleting them.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        # Staff's TOTP devices: see them (secrets hidden), remove a lost one.
        "otp_totp.view_totpdevice",
        "otp_totp.delete_totpdevice",
        # Webhooks: every subscription (created for an integrator, switched off, deleted),
        # the events, the deliveries (replayed from the admin).
        *(f"webhooks.{verb}_subscription" for verb in ("add", "change", "delete", "view")),
        "webhooks.view_event",
        "webhooks.view_delivery",
        "webhooks.change_delivery",
        # Background work: dead letters (and "Run again"), the scheduler's runs, the task queue.
        "jobs.view_deadletter",
        "jobs.change_deadletter",
        "jobs.view_scheduledrun",
        "django_tasks_database.view_dbtaskresult",
    ],
}


def roles_sync() -> None:
    """Create each role's group and give it exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                raise LookupError(f"role {role}: no permission {dotted}")
            wanted.append(permission)
        group.permissions.set(wanted)


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "label", None) != "accounts":
        return
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"))
    roles_sync()
