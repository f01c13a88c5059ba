"""Eligibility as composable rules read from the programme's configuration. Each rule says
passed or failed, with an explanation in Arabic and English."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q

from khutwa.accounts.models import Enterprise
from khutwa.documents.models import CustomerKind, Document, DocumentType
from khutwa.documents.selectors import addressed_to
from khutwa.licensing.models import Application, Licence, LicenceStatus
from khutwa.support.models import RESERVING, ApplicationStatus, BeneficiaryKind, Programme, SupportApplication


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    explanation_ar: str
    explanation_en: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    programme: Programme
    user: Any
    today: dt.date
    quotation: Document | None
    licence: Licence | None
    as_holder: bool
    exclude_application: int | None = None


Rule = Callable[[Context], RuleResult]


def _r(rule: str, passed: bool, ar: str, en: str) -> RuleResult:
    return RuleResult(rule, passed, ar, en)


def programme_open(c: Context) -> RuleResult:
    p = c.programme
    if p.is_paused:
        return _r("programme_open", False, "البرنامج متوقف مؤقتًا.", "The programme is paused.")
    if c.today < p.open_from:
        return _r(
            "programme_open",
            False,
            f"يفتح البرنامج في {p.open_from.isoformat()}.",
            f"The programme opens on {p.open_from.isoformat()}.",
        )
    if p.open_until and c.today > p.open_until:
        return _r(
            "programme_open",
            False,
            f"أُغلق البرنامج في {p.open_until.isoformat()}.",
            f"The programme closed on {p.open_until.isoformat()}.",
        )
    return _r("programme_open", True, "البرنامج مفتوح.", "The programme is open.")


def beneficiary_kind(c: Context) -> RuleResult:
    allowed = c.programme.beneficiaries
    if allowed == BeneficiaryKind.HOLDERS and not c.as_holder:
        return _r(
            "beneficiary_kind",
            False,
            "البرنامج لأصحاب القيد فقط.",
            "The programme is for licence holders only.",
        )
    if allowed == BeneficiaryKind.CUSTOMERS and c.as_holder:
        return _r(
            "beneficiary_kind",
            False,
            "البرنامج لعملاء تمكين فقط.",
            "The programme is for Tamkeen customers only.",
        )
    return _r("beneficiary_kind", True, "فئة المستفيد مؤهلة.", "You are an eligible kind of beneficiary.")


def not_blocked(c: Context) -> RuleResult:
    beneficiary = getattr(c.user, "beneficiary", None)
    if beneficiary is not None and beneficiary.is_blocked:
        return _r(
            "not_blocked", False, "المستفيد موقوف عن الدعم.", "The beneficiary is blocked from support."
        )
    return _r("not_blocked", True, "المستفيد غير موقوف.", "The beneficiary is not blocked.")


def quotation_ok(c: Context) -> RuleResult:
    if not c.programme.requires_quotation:
        return _r("quotation", True, "لا يلزم تسعيرة.", "No quotation is needed.")
    q = c.quotation
    if q is None:
        return _r("quotation", False, "أرفق تسعيرة رسمية.", "Reference an official quotation.")
    if q.type != DocumentType.QUOTATION:
        return _r(
            "quotation", False, "المستند المرفق ليس تسعيرة.", "The referenced document is not a quotation."
        )
    if not addressed_to(c.user, q.customer):
        return _r("quotation", False, "التسعيرة ليست موجهة إليك.", "The quotation is not addressed to you.")
    if q.valid_until and q.valid_until < c.today:
        return _r("quotation", False, "انتهت صلاحية التسعيرة.", "The quotation has expired.")
    return _r(
        "quotation",
        True,
        f"التسعيرة {q.number} صالحة وموجهة إليك.",
        f"Quotation {q.number} is valid and addressed to you.",
    )


def self_dealing(user: Any, quotation: Document) -> str:
    """Whether the quotation's supplier is the beneficiary themself: "person" (the supplier's
    licence is the user's, by account or CPR, or quotes to its own holder's CPR), "business"
    (the quotation's customer is a commercial registration that the supplier's holder declared
    acting for, checked or not), "household" (the supplier's licence is registered at a home the
    user declared as theirs: the address, block, road, building and flat, of any licence or
    licence application of the user's); "" otherwise. The licence itself carries no CR."""
    licence = quotation.licence
    customer = quotation.customer
    cprs = {cpr for cpr in (licence.cpr, getattr(licence.holder, "cpr", None)) if cpr}
    if licence.holder_id == user.pk or (user.cpr and user.cpr in cprs):
        return "person"
    if customer.kind == CustomerKind.INDIVIDUAL and customer.cpr in cprs:
        return "person"
    supplier = Q(user_id=licence.holder_id) if licence.holder_id else Q(pk__in=[])
    if (
        customer.kind == CustomerKind.BUSINESS
        and customer.cr_number
        and Enterprise.objects.filter(supplier | Q(user__cpr__in=cprs), cr_number=customer.cr_number).exists()
    ):
        return "business"
    if licence.address_key:
        mine = Q(holder_id=user.pk) | (Q(cpr=user.cpr) if user.cpr else Q(pk__in=[]))
        applied = Q(applicant_id=user.pk) | (Q(cpr=user.cpr) if user.cpr else Q(pk__in=[]))
        if (
            Licence.objects.filter(mine, address_key=licence.address_key).exists()
            or Application.objects.filter(applied, address_key=licence.address_key).exists()
        ):
            return "household"
    return ""


def not_self_dealing(c: Context) -> RuleResult:
    """A quotation from a supplier to themself cannot be the basis of support."""
    q = c.quotation
    if q is None:
        return _r(
            "not_self_dealing",
            True,
            "لا توجد تسعيرة للتحقق من مورّدها.",
            "There is no quotation whose supplier to check.",
        )
    if not addressed_to(c.user, q.customer):
        return _r(
            "not_self_dealing",
            False,
            "تعذر التحقق من المورد: التسعيرة ليست موجهة إليك.",
            "The supplier cannot be checked: the quotation is not addressed to you.",
        )
    lic = q.licence
    found = self_dealing(c.user, q)
    if found == "person":
        return _r(
            "not_self_dealing",
            False,
            f"التسعيرة {q.number} صادرة بترخيصك {lic.number}: لا يُبنى الدعم على بيعك لنفسك.",
            f"Quotation {q.number} is issued under your own licence {lic.number}: support cannot rest "
            "on a sale to yourself.",
        )
    if found == "business":
        return _r(
            "not_self_dealing",
            False,
            f"التسعيرة {q.number} موجهة إلى منشأة (السجل التجاري {q.customer.cr_number}) يمثلها المورد "
            f"صاحب الترخيص {lic.number}: لا يُبنى الدعم على بيع المورد لنفسه.",
            f"Quotation {q.number} is addressed to a business (CR {q.customer.cr_number}) that the "
            f"supplier, licence {lic.number}, acts for: support cannot rest on a sale to oneself.",
        )
    if found == "household":
        return _r(
            "not_self_dealing",
            False,
            f"ترخيص المورد {lic.number} مسجل في عنوان منزلك نفسه (عنوان ترخيصك أو طلب ترخيصك): "
            "لا يُبنى الدعم على بيع داخل الأسرة الواحدة.",
            f"The supplier's licence {lic.number} is registered at your own home (the address of your "
            "licence or licence application): support cannot rest on a sale within one household.",
        )
    return _r(
        "not_self_dealing",
        True,
        f"المورد صاحب الترخيص {lic.number} ليس أنت، ولا يمثل منشأتك، وليس مسجلًا في عنوان منزلك.",
        f"The supplier, licence {lic.number}, is not you, does not act for your business and is not "
        "registered at your home.",
    )


def licence_active(c: Context) -> RuleResult:
    lic = c.licence
    if lic is None:
        return _r(
            "licence_active", False, "لا يوجد ترخيص يمكن الاستناد إليه.", "There is no licence to rely on."
        )
    if lic.status != LicenceStatus.ACTIVE or not (lic.valid_from <= c.today <= lic.valid_until):
        return _r(
            "licence_active", False, f"الترخيص {lic.number} غير ساري.", f"Licence {lic.number} is not active."
        )
    return _r("licence_active", True, f"الترخيص {lic.number} ساري.", f"Licence {lic.number} is active.")


def tier_eligible(c: Context) -> RuleResult:
    tiers = list(c.programme.eligible_tiers.all())
    if c.licence is None:
        return _r("tier_eligible", False, "لا توجد فئة ترخيص.", "There is no licence tier.")
    if tiers and c.licence.tier_id not in {t.pk for t in tiers}:
        return _r(
            "tier_eligible",
            False,
            f"فئة «{c.licence.tier.name_ar}» غير مؤهلة لهذا البرنامج.",
            f"The {c.licence.tier.name_en} tier is not eligible for this programme.",
        )
    return _r(
        "tier_eligible",
        True,
        f"فئة «{c.licence.tier.name_ar}» مؤهلة.",
        f"The {c.licence.tier.name_en} tier is eligible.",
    )


def activity_eligible(c: Context) -> RuleResult:
    categories = {cat.pk for cat in c.programme.eligible_categories.all()}
    if c.quotation is not None:
        activities = {line.activity for line in c.quotation.lines.select_related("activity__category")}
    elif c.licence is not None:
        activities = set(c.licence.activities.select_related("category"))
    else:
        activities = set()
    if not activities:
        return _r("activity_eligible", False, "لا توجد أنشطة.", "There are no activities.")
    if categories:
        outside = sorted(a.name_en for a in activities if a.category_id not in categories)
        outside_ar = sorted(a.name_ar for a in activities if a.category_id not in categories)
        if outside:
            return _r(
                "activity_eligible",
                False,
                f"أنشطة غير مؤهلة: {'، '.join(outside_ar)}.",
                f"Activities not eligible: {', '.join(outside)}.",
            )
    return _r("activity_eligible", True, "الأنشطة مؤهلة.", "The activities are eligible.")


def frequency(c: Context) -> RuleResult:
    months = c.programme.frequency_months
    if not months:
        return _r("frequency", True, "لا حد لعدد مرات الدعم.", "There is no limit on how often.")
    since = c.today - dt.timedelta(days=round(months * 30.44))
    recent = SupportApplication.objects.filter(
        programme=c.programme,
        beneficiary=c.user,
        decided_at__date__gte=since,
        status__in=[*RESERVING, ApplicationStatus.PAID, ApplicationStatus.CLOSED],
    )
    if c.exclude_application:
        recent = recent.exclude(pk=c.exclude_application)
    last = recent.order_by("-decided_at").first()
    if last is not None:
        return _r(
            "frequency",
            False,
            f"حصلت على هذا الدعم في آخر {months} شهرًا ({last.reference}).",
            f"You received this support in the last {months} months ({last.reference}).",
        )
    return _r(
        "frequency",
        True,
        f"لم تحصل على هذا الدعم في آخر {months} شهرًا.",
        f"You have not received it in the last {months} months.",
    )


def budget_left(c: Context) -> RuleResult:
    left = c.programme.remaining
    if left <= 0:
        return _r("budget_left", False, "نفدت ميزانية البرنامج.", "The programme's budget is used up.")
    return _r(
        "budget_left", True, f"المتبقي من الميزانية {left:.3f} د.ب.", f"{left:.3f} BHD of the budget is left."
    )


RULES: list[Rule] = [
    programme_open,
    beneficiary_kind,
    not_blocked,
    quotation_ok,
    not_self_dealing,
    licence_active,
    tier_eligible,
    activity_eligible,
    frequency,
    budget_left,
]


def relevant_licence(user: Any, quotation: Document | None, as_holder: bool) -> Licence | None:
    """A holder's own licence decides; a Tamkeen customer relies on the supplier's licence."""
    if as_holder:
        return Licence.objects.filter(holder=user).select_related("tier").order_by("-issued_at").first()
    return quotation.licence if quotation is not None else None


def applies_as_holder(user: Any) -> bool:
    """Licence holders apply on their own licence; anyone else as a Tamkeen customer."""
    return bool(user.has_role("holder"))


def evaluate(
    *,
    programme: Programme,
    user: Any,
    quotation: Document | None,
    today: dt.date,
    exclude_application: int | None = None,
) -> list[RuleResult]:
    as_holder = applies_as_holder(user)
    context = Context(
        programme=programme,
        user=user,
        today=today,
        quotation=quotation,
        licence=relevant_licence(user, quotation, as_holder),
        as_holder=as_holder,
        exclude_application=exclude_application,
    )
    return [rule(context) for rule in RULES]


def eligible_amount(quotation: Document | None) -> Decimal:
    return quotation.total if quotation is not None else Decimal("0.000")


#: The rules that read the quotation: for a Tamkeen customer the supplier's licence (its tier
#: and activities) comes from the quotation too; a holder's own licence does not.
QUOTATION_RULES = frozenset({"quotation", "not_self_dealing"})
SUPPLIER_RULES = frozenset({"licence_active", "tier_eligible", "activity_eligible"})


def depends_on_quotation(rule: str, *, as_holder: bool) -> bool:
    """Whether a rule can be judged only once the quotation is known."""
    return rule in QUOTATION_RULES or (not as_holder and rule in SUPPLIER_RULES)


def never_eligible(*, programme: Programme, user: Any, today: dt.date) -> list[RuleResult]:
    """The rules the user fails whatever the quotation: why a programme is closed to them now."""
    as_holder = applies_as_holder(user)
    results = evaluate(programme=programme, user=user, quotation=None, today=today)
    return [r for r in results if not r.passed and not depends_on_quotation(r.rule, as_holder=as_holder)]
