"""Forms of the portal: they collect input; the services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from khutwa.accounts.models import User
from khutwa.catalogue.models import Activity, ApprovingBody, Governorate, LicenceTier
from khutwa.licensing.models import AttachmentKind
from khutwa.licensing.services import ApplicationInput


class ServiceChoiceField(forms.ChoiceField):
    """Offers choices but leaves checking the value to the service, which names every error."""

    def validate(self, value: Any) -> None:
        return None


class ServiceMultipleChoiceField(forms.MultipleChoiceField):
    def validate(self, value: Any) -> None:
        return None


class TierRadioSelect(forms.RadioSelect):
    """The licence tiers, one under the other, each radio carrying how many activities it allows
    (``data-max-activities``: khutwa.js limits the activities as the tier is picked)."""

    stacked = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_activities: dict[str, int] = {}

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        limit = self.max_activities.get(str(option["value"]))
        if limit is not None:
            option["attrs"]["data-max-activities"] = str(limit)
        return option


def tier_explained(tier: LicenceTier) -> str:
    """A tier as the applicant chooses it: its name, how many activities, the turnover ceiling."""
    allows = ngettext("up to %(max)d activity", "up to %(max)d activities", tier.max_activities) % {
        "max": tier.max_activities
    }
    return _("%(name)s: %(allows)s, annual turnover up to %(ceiling)s BHD, licence fee %(fee)s BHD") % {
        "name": tier.name,
        "allows": allows,
        "ceiling": f"{tier.turnover_ceiling:,.3f}",
        "fee": f"{tier.fee:,.3f}",
    }


class ApplicationForm(forms.Form):
    #: What the licensing service requires (it names each missing value): marked on the page.
    required_fields = frozenset(
        {
            "cpr", "name_ar", "name_en", "phone", "building", "road", "block", "area",
            "governorate", "trade_name", "tier", "activities",
        }
    )  # fmt: skip
    cpr = forms.CharField(
        label=_("CPR number"),
        max_length=9,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "dir": "ltr", "autocomplete": "off"}),
    )
    name_ar = forms.CharField(label=_("Full name in Arabic"), max_length=200, required=False)
    name_en = forms.CharField(
        label=_("Full name in English"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "dir": "ltr"}),
    )
    email = forms.CharField(
        label=_("E-mail"), max_length=254, required=False, widget=forms.EmailInput(attrs={"dir": "ltr"})
    )
    flat = forms.CharField(label=_("Flat"), max_length=10, required=False)
    building = forms.CharField(label=_("Building / house"), max_length=10, required=False)
    road = forms.CharField(label=_("Road"), max_length=10, required=False)
    block = forms.CharField(label=_("Block"), max_length=10, required=False)
    area = forms.CharField(label=_("Area"), max_length=100, required=False)
    governorate = ServiceChoiceField(label=_("Governorate"), required=False)
    trade_name = forms.CharField(label=_("Trade name"), max_length=200, required=False)
    tier = ServiceChoiceField(
        label=_("Licence tier"),
        required=False,
        widget=TierRadioSelect,
        help_text=_("The tier sets how many activities you may choose and your annual turnover ceiling."),
    )
    activities = ServiceMultipleChoiceField(
        label=_("Activities"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, cpr_editable: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["governorate"]).choices = [("", "—")] + [
            (g.code, g.name) for g in Governorate.objects.all()
        ]
        tiers = list(LicenceTier.objects.filter(is_active=True))
        cast(forms.ChoiceField, self.fields["tier"]).choices = [(t.code, tier_explained(t)) for t in tiers]
        tier_widget = cast(TierRadioSelect, self.fields["tier"].widget)
        tier_widget.max_activities = {t.code: t.max_activities for t in tiers}
        cast(forms.ChoiceField, self.fields["activities"]).choices = [
            (a.code, a.name) for a in Activity.objects.filter(is_active=True)
        ]
        if not cpr_editable:
            self.fields["cpr"].disabled = True

    def to_input(self) -> ApplicationInput:
        data = self.cleaned_data
        return ApplicationInput(
            cpr=data.get("cpr") or "",
            name_ar=data.get("name_ar") or "",
            name_en=data.get("name_en") or "",
            phone=data.get("phone") or "",
            email=data.get("email") or "",
            flat=data.get("flat") or "",
            building=data.get("building") or "",
            road=data.get("road") or "",
            block=data.get("block") or "",
            area=data.get("area") or "",
            governorate=data.get("governorate") or "",
            trade_name=data.get("trade_name") or "",
            tier=data.get("tier") or "",
            activities=list(data.get("activities") or []),
        )

    def add_service_errors(self, exc: ValidationError) -> None:
        for name, messages in exc.message_dict.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)


def initial_from(data: ApplicationInput) -> dict[str, Any]:
    return dict(data.__dict__)


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=AttachmentKind.choices)
    file = forms.FileField(label=_("File (PDF, PNG or JPEG)"))


class ActionForm(forms.Form):
    """A button alone (submit, withdraw, renew …): it has no field, only the refusal to show."""


class ReasonForm(forms.Form):
    required_fields = frozenset({"reason"})
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class ItemsForm(forms.Form):
    required_fields = frozenset({"items"})
    items = forms.CharField(
        label=_("Items missing"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class AddBodyForm(forms.Form):
    required_fields = frozenset({"body", "reason"})
    body = ServiceChoiceField(label=_("Approving body"), required=False)
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "body_%s")
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["body"]).choices = [("", "—")] + [
            (b.code, b.name) for b in ApprovingBody.objects.filter(is_active=True)
        ]


class DecisionForm(forms.Form):
    DECISIONS = [
        ("approve", _("Approve")),
        ("approve_with_conditions", _("Approve with conditions")),
        ("reject", _("Reject")),
        ("request_info", _("Request information")),
    ]
    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS, widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("Reason or question"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    conditions = forms.CharField(
        label=_("Conditions (printed on the licence)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
    )


class InspectionForm(forms.Form):
    scheduled_for = forms.DateField(
        label=_("Inspection date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    inspector: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Inspector"), queryset=User.objects.none()
    )

    def __init__(self, *args: Any, body_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Any]", self.fields["inspector"]).queryset = User.objects.filter(
            body_id=body_id, groups__name__in=["inspector", "reviewer"]
        ).distinct()


class InspectionOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("passed", _("Passed")), ("failed", _("Failed"))]
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )


class AnswerForm(forms.Form):
    required_fields = frozenset({"answer"})
    answer = forms.CharField(
        label=_("Your answer"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class VatNumberForm(forms.Form):
    vat_number = forms.CharField(
        label=_(
            "VAT account number (from the National Bureau for Revenue's certificate; empty if not registered)"
        ),
        required=False,
        max_length=15,
        widget=forms.TextInput(attrs={"dir": "ltr", "inputmode": "numeric"}),
    )


class IbanForm(forms.Form):
    required_fields = frozenset({"iban"})
    iban = forms.CharField(
        label=_("IBAN"),
        required=False,
        max_length=40,
        help_text=_("A Bahraini account: BH, two check digits, the bank's four letters, 14 characters."),
        widget=forms.TextInput(
            attrs={"dir": "ltr", "placeholder": "BH67 BMAG 0000 1299 1234 56", "autocomplete": "off"}
        ),
    )


class EnterpriseForm(forms.Form):
    """The business a Tamkeen customer acts for (its commercial registration)."""

    required_fields = frozenset({"cr_number"})
    cr_number = forms.CharField(
        label=_("Commercial registration number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"dir": "ltr", "placeholder": "145678-1", "inputmode": "numeric"}),
    )
    name_ar = forms.CharField(
        label=_("Arabic name"), required=False, max_length=200, widget=forms.TextInput(attrs={"dir": "rtl"})
    )
    name_en = forms.CharField(
        label=_("English name"), required=False, max_length=200, widget=forms.TextInput(attrs={"dir": "ltr"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "ent_%s")
        super().__init__(*args, **kwargs)


class SupportDecisionForm(forms.Form):
    """A Tamkeen officer's decision on a support application."""

    required_fields = frozenset({"decision"})
    decision = ServiceChoiceField(
        label=_("Decision"),
        required=False,
        choices=[
            ("approve", _("Approve (reserves the entitlement)")),
            ("reject", _("Reject")),
            ("request_info", _("Request information")),
        ],
    )
    reason = forms.CharField(
        label=_("Reason or question"),
        required=False,
        help_text=_("Needed to reject or to ask for information; the applicant sees it."),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
    )


class ClaimForm(forms.Form):
    required_fields = frozenset({"documents"})
    documents = forms.CharField(
        label=_("The invoice, receipt and other documents: one id or QR content per line"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "dir": "ltr"}),
    )

    def document_refs(self) -> list[str]:
        text = self.cleaned_data.get("documents") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class ClaimDecisionForm(forms.Form):
    """A claim's decision: the button pressed says which; a rejection needs the reason."""

    reason = forms.CharField(
        label=_("Reason for rejecting"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(),
    )


class TrackForm(forms.Form):
    reference = forms.CharField(
        label=_("Application reference"),
        max_length=20,
        widget=forms.TextInput(attrs={"dir": "ltr", "placeholder": "APP-2026-000123"}),
    )
    cpr_last4 = forms.RegexField(
        label=_("Last four digits of the CPR"),
        regex=r"^[0-9]{4}$",
        max_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "dir": "ltr"}),
        error_messages={"invalid": _("Enter exactly four digits.")},
    )
