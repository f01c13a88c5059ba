"""Demo data for licensing, loaded by `khutwa demo`: two years of a working registry.

Deterministic for a seed (relative to today) and idempotent. The bulk of the rows (walk-in
applications filed at the Khutwa centre, their status changes, the bodies' reviews with
their inspections and information requests, and the licences with their history) is written
with `bulk_create`, following the domain's rules:

* every status change is a move of `workflow.TRANSITIONS`, in time order;
* references and licence numbers continue the `Counter` of their year, which is left at the
  highest number used, so that later real applications do not collide;
* a review's due date is `work_calendar().add_working_days(started_on, sla + paused)`;
* the partial unique constraints hold: one open new-licence application per CPR and per home,
  one open change per licence, one live licence per CPR, one open review per body;
* reviews are routed as `services.routing_bodies` routes them and settle as
  `approvals.services.application_settle` settles them.

The demo holder's licence and the demo applicant's application go through the real
services, so that their audit trail is real. The bulk rows have no audit events of their
own; one `demo.licensing.load` event records the load.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.accounts.models import User
from khutwa.approvals import services as approvals
from khutwa.approvals.models import (
    OPEN_REVIEW_STATUSES,
    InfoRequest,
    Inspection,
    InspectionOutcome,
    Review,
    ReviewStatus,
)
from khutwa.arabic import normalize
from khutwa.audit.services import audit_record
from khutwa.catalogue.calendar import WorkCalendar
from khutwa.catalogue.models import Activity, ApprovingBody, Governorate, LicenceTier, Policy
from khutwa.catalogue.selectors import work_calendar
from khutwa.catalogue.services import bodies_required
from khutwa.licensing import services, workflow
from khutwa.licensing.models import (
    OPEN_STATUSES,
    Application,
    ApplicationKind,
    ApplicationStatus,
    ApplicationTransition,
    Channel,
    Counter,
    Licence,
    LicenceEvent,
    LicenceStatus,
)
from khutwa.licensing.services import _add_months

MIN_APPLICATIONS = 660
HOLDER_CPR = "880202002"
APPLICANT_CPR = "900101001"
RESERVED_CPRS = frozenset({"900101001", "880202002", "870303003"})
MIN_PENDING_PER_BODY = 24
MIN_OVERDUE_PER_BODY = 4
INF = 10**6

# How many new-licence applications to draw, by the status they should show today.
NEW_PLAN = (
    ("rejected", 55),
    ("withdrawn", 40),
    ("licence_issued", 335),
    ("in_review", 100),
    ("appealed", 6),
    ("approved", 16),
    ("screening", 20),
    ("submitted", 22),
    ("draft", 18),
    ("returned", 10),
)
WITHDRAW_STAGES = (("draft", 3), ("submitted", 3), ("screening", 3), ("in_review", 6), ("approved", 2))

# Names --------------------------------------------------------------------------------

FEMALE = [
    ("فاطمة", "Fatima"),
    ("مريم", "Maryam"),
    ("زينب", "Zainab"),
    ("نورة", "Noora"),
    ("خديجة", "Khadija"),
    ("سارة", "Sara"),
    ("هدى", "Huda"),
    ("ليلى", "Layla"),
    ("أمينة", "Amina"),
    ("شيخة", "Shaikha"),
    ("منى", "Muna"),
    ("ريم", "Reem"),
    ("دانة", "Dana"),
    ("لطيفة", "Latifa"),
    ("حصة", "Hessa"),
    ("بتول", "Batool"),
    ("كوثر", "Kawthar"),
    ("زهراء", "Zahra"),
    ("إيمان", "Eman"),
    ("أسماء", "Asma"),
    ("جميلة", "Jameela"),
    ("نجلاء", "Najla"),
    ("هيا", "Haya"),
    ("شهد", "Shahad"),
    ("رقية", "Ruqaya"),
    ("سكينة", "Sakina"),
    ("وفاء", "Wafa"),
    ("أمل", "Amal"),
    ("بشرى", "Bushra"),
    ("ابتسام", "Ebtisam"),
    ("سلوى", "Salwa"),
    ("نوال", "Nawal"),
    ("حنان", "Hanan"),
    ("موزة", "Moza"),
    ("العنود", "Alanood"),
    ("غدير", "Ghadeer"),
    ("معصومة", "Masooma"),
    ("عائشة", "Aysha"),
]
MALE = [
    ("محمد", "Mohammed"),
    ("أحمد", "Ahmed"),
    ("علي", "Ali"),
    ("حسن", "Hasan"),
    ("حسين", "Hussain"),
    ("جاسم", "Jassim"),
    ("خالد", "Khalid"),
    ("عبدالله", "Abdulla"),
    ("يوسف", "Yousif"),
    ("إبراهيم", "Ebrahim"),
    ("سلمان", "Salman"),
    ("عيسى", "Isa"),
    ("راشد", "Rashid"),
    ("فيصل", "Faisal"),
    ("محمود", "Mahmood"),
    ("عباس", "Abbas"),
    ("جعفر", "Jaffar"),
    ("صالح", "Saleh"),
    ("ناصر", "Nasser"),
    ("منصور", "Mansoor"),
    ("عبدالرحمن", "Abdulrahman"),
    ("مهدي", "Mahdi"),
    ("حمد", "Hamad"),
    ("سعيد", "Saeed"),
    ("عادل", "Adel"),
]
FAMILIES = [
    ("الحداد", "Al-Haddad"),
    ("الدوسري", "Al-Dosari"),
    ("البنعلي", "Al-Binali"),
    ("المناعي", "Al-Mannai"),
    ("الكوهجي", "Al-Kooheji"),
    ("العريض", "Al-Oraied"),
    ("الجودر", "Al-Jowder"),
    ("الشيخ", "Al-Shaikh"),
    ("السيد", "Al-Sayed"),
    ("المحميد", "Al-Mahmeed"),
    ("بوعلاي", "Buallay"),
    ("الخاجة", "Al-Khaja"),
    ("البستكي", "Al-Bastaki"),
    ("الجلاهمة", "Al-Jalahma"),
    ("المسقطي", "Al-Musqati"),
    ("العلوي", "Al-Alawi"),
    ("الصفار", "Al-Saffar"),
    ("الموسوي", "Al-Mosawi"),
    ("الستري", "Al-Sitri"),
    ("الماجد", "Al-Majed"),
    ("فخرو", "Fakhro"),
    ("الزياني", "Al-Zayani"),
    ("بوكمال", "Bukamal"),
    ("الرميحي", "Al-Romaihi"),
    ("النعيمي", "Al-Nuaimi"),
    ("الحايكي", "Al-Hayki"),
    ("الشملاوي", "Al-Shamlawi"),
    ("المرزوق", "Al-Marzooq"),
    ("العصفور", "Al-Asfoor"),
    ("الملا", "Al-Mulla"),
    ("بوحجي", "Buhaji"),
    ("القصاب", "Al-Qassab"),
    ("الغانم", "Al-Ghanim"),
    ("الشروقي", "Al-Sharooqi"),
    ("المطوع", "Al-Mutawa"),
]

# governorate → (area, first block, last block, share of flats, weight)
AREAS: dict[str, list[tuple[str, int, int, float, int]]] = {
    "capital": [
        ("Manama", 301, 346, 0.5, 5),
        ("Juffair", 324, 341, 0.85, 3),
        ("Adliya", 336, 338, 0.4, 1),
        ("Gudaibiya", 304, 310, 0.3, 2),
        ("Hoora", 317, 322, 0.4, 1),
        ("Seef", 428, 436, 0.7, 1),
        ("Sanabis", 408, 412, 0.1, 2),
        ("Tubli", 701, 712, 0.1, 2),
        ("Sitra", 601, 646, 0.05, 4),
    ],
    "muharraq": [
        ("Muharraq", 201, 228, 0.15, 6),
        ("Hidd", 101, 115, 0.1, 3),
        ("Arad", 241, 245, 0.1, 2),
        ("Busaiteen", 221, 230, 0.15, 2),
        ("Galali", 251, 258, 0.1, 2),
        ("Samaheej", 231, 236, 0.05, 1),
        ("Amwaj", 256, 258, 0.7, 1),
        ("Diyar Al Muharraq", 260, 270, 0.5, 1),
    ],
    "northern": [
        ("Hamad Town", 1201, 1217, 0.05, 6),
        ("Budaiya", 551, 575, 0.1, 3),
        ("Saar", 503, 531, 0.15, 3),
        ("Diraz", 536, 544, 0.05, 2),
        ("Janabiyah", 572, 580, 0.2, 2),
        ("Aali", 740, 746, 0.05, 2),
        ("Barbar", 519, 521, 0.05, 1),
        ("Karzakan", 1027, 1031, 0.05, 1),
    ],
    "southern": [
        ("Riffa", 901, 941, 0.1, 7),
        ("Isa Town", 801, 841, 0.1, 5),
        ("Zallaq", 1050, 1060, 0.05, 2),
        ("Awali", 960, 966, 0.05, 1),
        ("Askar", 965, 970, 0.05, 1),
        ("Jaw", 979, 982, 0.05, 1),
    ],
}
GOVERNORATE_WEIGHTS = {"capital": 27, "muharraq": 22, "northern": 30, "southern": 21}

# activity → trade-name templates: {ar}/{en} the applicant's first name, {son_ar}/{son_en} a son's.
TRADE_NAMES: dict[str, list[tuple[str, str]]] = {
    "home-meals": [
        ("مطبخ {ar}", "{en}'s Kitchen"),
        ("سفرة {ar}", "Sufrat {en}"),
        ("أكل البيت", "Akl Al Bait"),
        ("غداء الديرة", "Al Deera Lunch Boxes"),
    ],
    "sweets-pastries": [
        ("حلويات {ar}", "{en} Sweets"),
        ("معجنات {ar}", "{en}'s Pastries"),
        ("كيك لمسة", "Lamsa Cakes"),
        ("حلا الدار", "Hala Al Dar"),
    ],
    "bahraini-dishes": [
        ("أكلات زمان", "Aklat Zaman"),
        ("مطبخ أم {son_ar}", "Umm {son_en}'s Kitchen"),
        ("مجبوس {ar}", "{en}'s Machboos"),
        ("بلاليط {ar}", "{en}'s Balaleet"),
    ],
    "pickles-spices": [
        ("بهارات {ar}", "{en} Spices"),
        ("مخللات الديرة", "Al Deera Pickles"),
        ("بزار أم {son_ar}", "Umm {son_en}'s Bizar"),
    ],
    "juices-drinks": [("عصائر {ar}", "{en} Juices"), ("نسيم للعصائر", "Naseem Juices")],
    "sewing-abayas": [
        ("عبايات {ar}", "{en} Abayas"),
        ("خياطة الأناقة", "Elegance Tailoring"),
        ("دار {ar} للعبايات", "Dar {en} Abayas"),
    ],
    "gift-wrapping": [("صناديق الفرح", "Farah Gift Boxes"), ("تغليف {ar}", "{en} Wrapping")],
    "pottery": [("فخار {ar}", "{en} Pottery"), ("طين الديرة", "Al Deera Clay")],
    "occasion-cards": [("بطاقات {ar}", "{en} Cards"), ("دعوات ناعمة", "Naema Invitations")],
    "handicrafts": [("أنامل {ar}", "Anamil {en}"), ("من صنع {ar}", "Handmade by {en}")],
    "event-photography": [("عدسة {ar}", "{en} Lens"), ("لقطة", "Laqta Photography")],
    "incense-perfumes": [
        ("بخور {ar}", "{en} Bukhoor"),
        ("عطور الديرة", "Al Deera Perfumes"),
        ("دخون أم {son_ar}", "Umm {son_en}'s Dukhoon"),
    ],
    "advertising-design": [("تصاميم {ar}", "{en} Designs"), ("فكرة للتصميم", "Fikra Design")],
    "book-binding": [("تجليد الورّاق", "Al Warraq Binding")],
    "flowers-gardening": [("زهور {ar}", "{en} Flowers"), ("حديقة {ar}", "{en}'s Garden")],
    "accessories": [("إكسسوارات {ar}", "{en} Accessories"), ("لؤلؤة", "Lulu'a Accessories")],
    "hand-weaving": [("سدو {ar}", "{en} Sadu"), ("نول الديرة", "Al Deera Loom")],
    "cooking-lessons": [("الطبخ مع {ar}", "Cooking with {en}")],
    "watch-repair": [("ساعات {ar}", "{en} Watch Repair")],
    "stamps-coins": [("طوابع وعملات {ar}", "{en} Stamps & Coins")],
    "laundry-ironing": [("كوي {ar}", "{en} Ironing"), ("نظافة للغسيل والكي", "Nadhafa Laundry")],
    "fishing-nets": [("شباك {ar}", "{en} Fishing Nets"), ("ليخ البحر", "Leekh Al Bahar")],
    "event-services": [("مناسبات {ar}", "{en} Events"), ("فرحة للمناسبات", "Farha Events")],
    "shoe-repair": [("تصليح أحذية {ar}", "{en} Shoe Repair")],
}
GENERIC_TRADE_NAME = ("مشروع {ar} المنزلي", "{en}'s Home Business")

ACTIVITY_WEIGHTS = {
    "home-meals": 10,
    "sweets-pastries": 10,
    "sewing-abayas": 10,
    "bahraini-dishes": 6,
    "incense-perfumes": 5,
    "gift-wrapping": 4,
    "handicrafts": 4,
    "accessories": 4,
    "pickles-spices": 3,
    "juices-drinks": 3,
    "occasion-cards": 3,
    "event-photography": 3,
    "advertising-design": 3,
    "event-services": 3,
    "flowers-gardening": 2,
    "cooking-lessons": 2,
    "laundry-ironing": 2,
}
TIER_WEIGHTS = {"basic": 40, "standard": 45, "extended": 15}

# What people write -------------------------------------------------------------------

RETURN_ITEMS = [
    "صورة البطاقة الذكية غير واضحة / The smart card copy is unreadable",
    "عقد الإيجار منتهي الصلاحية / The tenancy contract has expired",
    "لم تُرفق صورة لمكان مزاولة النشاط / No photo of the workplace was attached",
    "موافقة المالك على مزاولة النشاط غير مرفقة / The landlord's consent is missing",
]
QUESTIONS = {
    "municipality": [
        "يرجى إرفاق عقد الإيجار موقّعًا من المالك / Please attach the tenancy contract signed by the landlord",
        "يرجى توضيح مساحة المكان المخصص للنشاط / Please state the floor area used for the activity",
    ],
    "civil-defence": [
        "يرجى إرفاق صورة لطفاية الحريق في مكان النشاط / Please attach a photo of the fire extinguisher",
        "هل يوجد مخرج طوارئ ثانٍ؟ / Is there a second way out in an emergency?",
    ],
    "food-control": [
        "يرجى إرفاق شهادة صحية سارية / Please attach a valid health certificate",
        "يرجى وصف أماكن تخزين المواد الغذائية / Please describe where the food is stored",
    ],
}
GENERIC_QUESTION = "يرجى إرفاق المستندات الناقصة / Please attach the missing documents"
ANSWERS = [
    "تم إرفاق المستند المطلوب / The requested document is attached",
    "أرفقت الصور المطلوبة / The requested photos are attached",
    "التوضيح في المرفق / Explained in the attachment",
]
REJECTIONS = {
    "municipality": [
        "العقار في منطقة غير مصنفة لهذا النشاط / The property's zoning does not allow this activity",
        "عقد الإيجار لا يسمح بمزاولة نشاط تجاري / The tenancy contract forbids business use",
    ],
    "civil-defence": [
        "لا تتوفر اشتراطات السلامة من الحريق / The home does not meet the fire-safety requirements",
        "توصيلات الغاز غير آمنة / The gas connections are unsafe",
    ],
    "food-control": [
        "المطبخ لا يستوفي الاشتراطات الصحية / The kitchen does not meet the hygiene requirements",
        "لا توجد شهادة صحية سارية / There is no valid health certificate",
    ],
}
GENERIC_REJECTION = "لا يستوفي الاشتراطات / The requirements are not met"
CONDITIONS = {
    "municipality": [
        "عدم وضع لافتات خارج المنزل / No signboard outside the home",
        "عدم استقبال الزبائن بعد الساعة التاسعة مساءً / No customers after 9 pm",
    ],
    "civil-defence": [
        "إبقاء طفاية حريق وكاشف دخان في المطبخ / Keep an extinguisher and a smoke detector in the kitchen",
        "فحص توصيلات الغاز سنويًا / Have the gas connections checked every year",
    ],
    "food-control": [
        "تجديد الشهادة الصحية سنويًا / Renew the health certificate every year",
        "حفظ الأطعمة في ثلاجة مخصصة للنشاط / Keep the food in a refrigerator used only for the business",
    ],
}
GENERIC_CONDITION = "الالتزام بالاشتراطات المرفقة / Follow the attached requirements"
INSPECTION_NOTES = {
    InspectionOutcome.PASSED: [
        "المكان نظيف ومطابق / Clean and compliant",
        "جيد التهوية ومطابق / Well ventilated and compliant",
    ],
    InspectionOutcome.FAILED: [
        "لا توجد طفاية حريق / No fire extinguisher",
        "سوء تخزين المواد / Materials badly stored",
    ],
}
APPEALS = [
    "تم تصحيح الملاحظات وأرفقت صورًا جديدة / The findings were corrected; new photos are attached",
    "أرجو إعادة التفتيش بعد تركيب طفاية الحريق / Please inspect again: an extinguisher is now installed",
]
SUSPENSIONS = [
    "شكوى من الجيران بشأن الروائح؛ بانتظار التفتيش / Neighbours complained about smells; pending inspection",
    "انتهاء الشهادة الصحية / The health certificate expired",
    "مزاولة نشاط غير مرخص / An unlicensed activity was carried out",
]
REINSTATEMENTS = [
    "تم تصحيح المخالفة / The breach was corrected",
    "قُدمت شهادة صحية جديدة / A new health certificate was provided",
]
CANCELLATIONS = [
    "بناءً على طلب صاحب الترخيص / At the holder's request",
    "انتقل النشاط إلى محل تجاري / The business moved to a shop",
    "مخالفات متكررة / Repeated breaches",
]

# The plan of an application's life ---------------------------------------------------

QUICK = frozenset({"approve", "reject", "approve_auto"})
DECISION_STATUS = {
    "approve": ReviewStatus.APPROVED,
    "approve_with_conditions": ReviewStatus.APPROVED_WITH_CONDITIONS,
    "reject": ReviewStatus.REJECTED,
}


@dataclass(eq=False)
class _ReviewPlan:
    body: ApprovingBody
    inspection: bool
    decision: str = "approve"
    reason: str = ""
    conditions: str = ""
    question: str = ""
    answer: str = ""
    inspection_outcome: str = InspectionOutcome.PASSED
    inspection_day: int = 0
    decide_day: int = 0


@dataclass
class _Step:
    day: int  # working days after the application was created
    seq: int  # tie-break: the order in which things happen on one day
    action: str
    review: _ReviewPlan | None = None


@dataclass
class _Life:
    steps: list[_Step]
    marks: dict[str, int]
    reviews: list[_ReviewPlan]


@dataclass
class _Home:
    flat: str
    building: str
    road: str
    block: str
    area: str
    governorate: str
    key: str


@dataclass(eq=False)
class _Person:
    cpr: str
    name_ar: str
    name_en: str
    first_ar: str
    first_en: str
    son_ar: str
    son_en: str
    phone: str
    email: str
    home: _Home


@dataclass(eq=False)
class _AppRecord:
    app: Application
    person: _Person
    activities: list[Activity]
    transitions: list[ApplicationTransition] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    info_requests: list[InfoRequest] = field(default_factory=list)
    inspections: list[Inspection] = field(default_factory=list)
    issued_at: dt.datetime | None = None
    issue_transition: ApplicationTransition | None = None
    last_day: int = 0  # absolute working-day index of its last step


@dataclass(eq=False)
class _LicenceRecord:
    licence: Licence
    person: _Person
    activities: list[Activity]
    issue_day: int
    events: list[LicenceEvent] = field(default_factory=list)
    issue_transitions: list[ApplicationTransition] = field(default_factory=list)


class _Days:
    """The working days from a little over two years ago to a year ahead, indexed."""

    def __init__(self, calendar: WorkCalendar, today: dt.date) -> None:
        first = today - dt.timedelta(days=760)
        span = (today - first).days + 420
        candidates = (first + dt.timedelta(days=i) for i in range(span))
        self.list = [d for d in candidates if calendar.is_working_day(d)]
        self.cutoff = self.before(today)  # the last working day before today
        self.start = self.on_or_after(today - dt.timedelta(days=730))

    def before(self, day: dt.date) -> int:
        return bisect.bisect_left(self.list, day) - 1

    def on_or_after(self, day: dt.date) -> int:
        return bisect.bisect_left(self.list, day)

    def __getitem__(self, index: int) -> dt.date:
        return self.list[index]


class _Builder:
    def __init__(self, *, seed: int, registrar: User) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
        self.tz = timezone.get_current_timezone()
        self.today = timezone.localdate()
        self.calendar = work_calendar()
        self.days = _Days(self.calendar, self.today)
        self.registrar = registrar
        self.seq = itertools.count()
        self.activities = list(
            Activity.objects.filter(is_active=True).prefetch_related("bodies").order_by("sort_order", "code")
        )
        self.tiers = list(LicenceTier.objects.filter(is_active=True).order_by("max_activities", "code"))
        self.governorates = {g.code: g for g in Governorate.objects.all()}
        policy = Policy.current()
        self.renewal_body_pks = set(policy.renewal_bodies.values_list("pk", flat=True))
        self.renewal_window = policy.renewal_window_days
        self.reviewers: dict[int, User] = {}
        for body in ApprovingBody.objects.filter(is_active=True):
            reviewer = User.objects.filter(body=body).order_by("pk").first()
            if reviewer is not None:
                self.reviewers[body.pk] = reviewer
        self.used_cprs: set[str] = set(RESERVED_CPRS)
        for model in (User, Application, Licence):
            self.used_cprs.update(c for c in model.objects.values_list("cpr", flat=True) if c)
        self.used_homes: set[str] = set(Application.objects.values_list("address_key", flat=True))
        self.used_homes.update(Licence.objects.values_list("address_key", flat=True))
        self.records: list[_AppRecord] = []
        self.licences: list[_LicenceRecord] = []
        self.auto_note = _("No approving body needs to review this change.")

    # People and homes ------------------------------------------------------------------

    def reserve_home(self, **parts: str) -> None:
        self.used_homes.add(services.address_key(**parts))

    def _cpr(self) -> str:
        while True:
            year = self.rng.randint(1962, 2004)
            cpr = f"{year % 100:02d}{self.rng.randint(1, 12):02d}{self.rng.randint(0, 99999):05d}"
            if cpr not in self.used_cprs:
                self.used_cprs.add(cpr)
                return cpr

    def _home(self) -> _Home:
        rng = self.rng
        codes = [c for c in GOVERNORATE_WEIGHTS if c in self.governorates] or sorted(self.governorates)
        governorate = rng.choices(codes, weights=[GOVERNORATE_WEIGHTS.get(c, 1) for c in codes])[0]
        areas = AREAS.get(governorate) or [("Manama", 301, 346, 0.3, 1)]
        area, low, high, flats, _weight = rng.choices(areas, weights=[a[4] for a in areas])[0]
        while True:
            block = rng.randint(low, high)
            road = str(int(f"{block % 100:02d}{rng.randint(1, 60):02d}"))
            building = str(rng.randint(1, 2999))
            flat = str(rng.randint(1, 42)) if rng.random() < flats else ""
            key = services.address_key(block=str(block), road=road, building=building, flat=flat)
            if key not in self.used_homes:
                self.used_homes.add(key)
                return _Home(flat, building, road, str(block), area, governorate, key)

    def _person(self) -> _Person:
        rng = self.rng
        first_ar, first_en = rng.choice(FEMALE) if rng.random() < 0.78 else rng.choice(MALE)
        father_ar, father_en = rng.choice(MALE)
        family_ar, family_en = rng.choice(FAMILIES)
        son_ar, son_en = rng.choice(MALE)
        email = ""
        if rng.random() < 0.35:
            local = f"{first_en}.{family_en.removeprefix('Al-')}".lower().replace("-", "")
            email = f"{local}{rng.randint(1, 99)}@example.com"
        return _Person(
            cpr=self._cpr(),
            name_ar=f"{first_ar} {father_ar} {family_ar}",
            name_en=f"{first_en} {father_en} {family_en}",
            first_ar=first_ar,
            first_en=first_en,
            son_ar=son_ar,
            son_en=son_en,
            phone=rng.choice(["33", "34", "35", "36", "37", "38", "39", "66"])
            + f"{rng.randint(0, 999999):06d}",
            email=email,
            home=self._home(),
        )

    def _trade_name(self, person: _Person, activity: Activity) -> str:
        ar, en = self.rng.choice(TRADE_NAMES.get(activity.code) or [GENERIC_TRADE_NAME])
        names = {
            "ar": person.first_ar,
            "en": person.first_en,
            "son_ar": person.son_ar,
            "son_en": person.son_en,
        }
        return f"{ar.format(**names)} / {en.format(**names)}"

    # Catalogue choices -----------------------------------------------------------------

    def _tier(self) -> LicenceTier:
        return self.rng.choices(self.tiers, weights=[TIER_WEIGHTS.get(t.code, 10) for t in self.tiers])[0]

    def _weighted(self, choices: Sequence[Activity]) -> Activity:
        return self.rng.choices(list(choices), weights=[ACTIVITY_WEIGHTS.get(a.code, 1) for a in choices])[0]

    def _activities(self, tier: LicenceTier, need_body: ApprovingBody | None = None) -> list[Activity]:
        rng = self.rng
        top = max(1, min(tier.max_activities, len(self.activities)))
        count = (
            1
            if top == 1
            else rng.choices(range(1, top + 1), weights=[3, 4, 2, 1, 1][:top] + [1] * (top - 5))[0]
        )
        pool = self.activities
        if need_body is not None:
            pool = [a for a in self.activities if any(b.pk == need_body.pk for b in a.bodies.all())] or pool
        chosen = [self._weighted(pool)]
        while len(chosen) < count:
            rest = [a for a in self.activities if a not in chosen]
            if not rest:
                break
            if len(chosen) == 1 and rng.random() < 0.4:  # a mix of food and non-food
                other = [a for a in rest if a.is_food != chosen[0].is_food]
                rest = other or rest
            chosen.append(self._weighted(rest))
        return chosen

    def _route(
        self,
        kind: str,
        activities: Sequence[Activity],
        before: Sequence[Activity] = (),
        moved: bool = False,
    ) -> list[ApprovingBody]:
        """As `services.routing_bodies` routes an application."""
        needed = bodies_required(activities)
        if kind == ApplicationKind.NEW:
            return needed
        if kind == ApplicationKind.RENEWAL:
            return [b for b in needed if b.pk in self.renewal_body_pks]
        if moved:
            return needed
        had = {b.pk for b in bodies_required(before)}
        return [b for b in needed if b.pk not in had]

    # Lives -----------------------------------------------------------------------------

    def _life(
        self,
        *,
        bodies: Sequence[ApprovingBody],
        inspection: bool,
        outcome: str,
        returned: bool = False,
        linger: bool = False,
        appeal: bool = False,
    ) -> _Life:
        """Everything that happens to one application, in working days from its creation."""
        rng = self.rng
        steps: list[_Step] = []
        marks: dict[str, int] = {}

        def add(day: int, action: str, review: _ReviewPlan | None = None) -> None:
            steps.append(_Step(day, next(self.seq), action, review))

        add(0, "create")
        # A walk-in is often submitted at the counter the day it is filed.
        submit = rng.randint(2, 15) if linger else 0 if rng.random() < 0.55 else rng.randint(1, 4)
        add(submit, "submit")
        screen = submit + rng.randint(1, 3)
        add(screen, "start_screening")
        if returned:
            marks["return"] = screen + rng.randint(0, 2)
            add(marks["return"], "return")
            submit = marks["return"] + rng.randint(2, 12)
            marks["resubmit"] = submit
            add(submit, "submit")
            screen = submit + rng.randint(1, 2)
            add(screen, "start_screening")
        marks["submit"], marks["screen"] = submit, screen
        accept = screen + rng.randint(1, 4)
        marks["accept"] = accept
        add(accept, "accept")
        plans = []
        for body in bodies:
            plan = _ReviewPlan(body=body, inspection=inspection and body.conducts_inspections)
            day = accept
            if rng.random() < 0.2:
                plan.question = rng.choice(QUESTIONS.get(body.code, [GENERIC_QUESTION]))
                plan.answer = rng.choice(ANSWERS)
                asked = day + rng.randint(1, 4)
                day = asked + rng.randint(2, 8)
                add(asked, "info_ask", plan)
                add(day, "info_answer", plan)
            if plan.inspection:
                scheduled = day + rng.randint(0, 2)
                plan.inspection_day = day = scheduled + rng.randint(1, 5)
                add(scheduled, "inspection_schedule", plan)
                add(day, "inspection_record", plan)
                day += rng.randint(1, 3)
            else:
                day += rng.randint(2, 7)
            if rng.random() < 0.22:  # a backlog at the body
                day += rng.randint(4, 16)
            plan.decide_day = day
            add(day, "decide", plan)
            if rng.random() < 0.28:
                plan.decision = "approve_with_conditions"
                plan.conditions = rng.choice(CONDITIONS.get(body.code, [GENERIC_CONDITION]))
            plans.append(plan)
        steps.sort(key=lambda s: (s.day, s.seq))
        if not plans:
            marks["settle"] = accept
            add(accept, "approve_auto")
        elif outcome == "reject":
            inspecting = [p for p in plans if p.inspection]
            loser = rng.choice(inspecting if inspecting and rng.random() < 0.65 else plans)
            loser.decision, loser.conditions = "reject", ""
            loser.reason = rng.choice(REJECTIONS.get(loser.body.code, [GENERIC_REJECTION]))
            if loser.inspection and rng.random() < 0.7:
                loser.inspection_outcome = InspectionOutcome.FAILED
            # The first rejection settles the application: nothing after it happens.
            cut = next(i for i, s in enumerate(steps) if s.action == "decide" and s.review is loser)
            del steps[cut + 1 :]
            marks["settle"] = loser.decide_day
            add(loser.decide_day, "reject")
            if appeal:
                marks["appeal"] = loser.decide_day + rng.randint(2, 15)
                add(marks["appeal"], "appeal")
        else:
            marks["settle"] = max(p.decide_day for p in plans)
            add(marks["settle"], "approve")
        if outcome == "approve":
            marks["issue"] = marks["settle"] + rng.randint(1, 5)
            add(marks["issue"], "issue_licence")
        return _Life(steps, marks, plans)

    @staticmethod
    def _window(life: _Life, target: str) -> tuple[int, int]:
        """The days since creation at which the application shows `target`."""
        m = life.marks
        if target == "draft":
            return (m["return"], m["resubmit"] - 1) if "return" in m else (0, m["submit"] - 1)
        if target == "submitted":
            return m["submit"], m["screen"] - 1
        if target == "screening":
            return m["screen"], m["accept"] - 1
        if target == "in_review":
            return (m["appeal"], INF) if "appeal" in m else (m["accept"], m["settle"] - 1)
        if target == "approved":
            return m["settle"], m.get("issue", INF) - 1
        if target == "licence_issued":
            return m.get("issue", INF), INF
        if target == "rejected":
            return m["settle"], INF
        raise ValueError(target)

    def _withdrawn(self, life: _Life, stage: str) -> int | None:
        """Cut the life short by a withdrawal during `stage`; the day it happens, or None."""
        low, high = self._window(life, stage)
        if low > high:
            return None
        day = self.rng.randint(low, min(high, low + 25))
        life.steps = [s for s in life.steps if s.day <= day]
        life.steps.append(_Step(day, next(self.seq), "withdraw"))
        return day

    # Applications ----------------------------------------------------------------------

    def _base_application(
        self, person: _Person, tier: LicenceTier, kind: str, trade_name: str, home: _Home
    ) -> Application:
        rng = self.rng
        app = Application(
            public_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            kind=kind,
            status=ApplicationStatus.DRAFT,
            applicant=None,
            filed_by=self.registrar,
            channel=Channel.ASSISTED,
            cpr=person.cpr,
            name_ar=person.name_ar,
            name_en=person.name_en,
            phone=person.phone,
            email=person.email,
            trade_name=trade_name,
            tier=tier,
            flat=home.flat,
            building=home.building,
            road=home.road,
            block=home.block,
            area=home.area,
            governorate=self.governorates[home.governorate],
            address_key=home.key,
        )
        app.name_search = " ".join(normalize(p) for p in (app.name_ar, app.name_en, app.trade_name) if p)[
            :500
        ]
        return app

    def _tick(self, previous: dt.datetime | None, day: dt.date, quick: bool) -> dt.datetime:
        rng = self.rng
        if previous is not None and previous.date() == day:
            if quick:
                return previous + dt.timedelta(seconds=rng.randint(1, 3))
            return previous + dt.timedelta(minutes=rng.randint(3, 35), seconds=rng.randint(0, 59))
        minute = rng.randint(7 * 60 + 30, 11 * 60 + 30)
        return dt.datetime.combine(
            day, dt.time(minute // 60, minute % 60, rng.randint(0, 59)), tzinfo=self.tz
        )

    def _move(self, record: _AppRecord, name: str, actor: User, at: dt.datetime, note: str = "") -> None:
        """One move of the state machine, checked against `workflow.TRANSITIONS`."""
        app = record.app
        spec = workflow.TRANSITIONS[name]
        if app.status not in spec.sources:
            raise RuntimeError(f"demo data: cannot {name} from {app.status}")
        record.transitions.append(
            ApplicationTransition(
                application=app,
                from_status=app.status,
                to_status=spec.target,
                action=name,
                actor=actor,
                note=note,
                at=at,
            )
        )
        app.status = spec.target
        if name == "submit":
            app.returned_items = ""
            if app.submitted_at is None:
                app.submitted_at = at
        if spec.target in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
            app.decided_at = at

    def _materialize(
        self, record: _AppRecord, steps: Sequence[_Step], start: int, plans: Sequence[_ReviewPlan]
    ) -> None:
        """Play the steps from working day `start` on, building the rows they leave."""
        rng = self.rng
        app = record.app
        reg = self.registrar
        reviews: dict[_ReviewPlan, Review] = {}
        info: dict[_ReviewPlan, InfoRequest] = {}
        inspections: dict[_ReviewPlan, Inspection] = {}
        previous: dt.datetime | None = None
        decider: User = reg
        for step in steps:
            index = start + step.day
            day = self.days[index]
            at = self._tick(previous, day, step.action in QUICK)
            previous = at
            record.last_day = index
            plan = step.review
            review = reviews.get(plan) if plan is not None else None
            reviewer = self.reviewers.get(plan.body.pk, reg) if plan is not None else reg
            action = step.action
            if action == "create":
                app.created_at = at
            elif action in ("submit", "start_screening"):
                self._move(record, action, reg, at)
            elif action == "return":
                items = rng.choice(RETURN_ITEMS)
                self._move(record, "return", reg, at, note=items)
                app.returned_items = items
            elif action == "accept":
                self._move(record, "accept", reg, at)
                for rp in plans:
                    reviews[rp] = Review(
                        application=app,
                        body=rp.body,
                        started_on=day,
                        sla_working_days=rp.body.sla_working_days,
                        requires_inspection=rp.inspection,
                    )
                    record.reviews.append(reviews[rp])
            elif action == "approve_auto":
                self._move(record, "approve", reg, at, note=self.auto_note)
            elif review is None or plan is None:
                self._settle(record, action, reviews, at, decider)
            elif action == "info_ask":
                review.status = ReviewStatus.INFO_REQUESTED
                review.paused_since = day
                info[plan] = InfoRequest(
                    review=review, question=plan.question, asked_by=reviewer, asked_at=at
                )
                record.info_requests.append(info[plan])
            elif action == "info_answer":
                paused_since = review.paused_since or day
                review.paused_working_days += self.calendar.working_days_between(paused_since, day)
                review.paused_since = None
                review.status = ReviewStatus.PENDING
                info[plan].answer, info[plan].answered_at = plan.answer, at
            elif action == "inspection_schedule":
                inspections[plan] = Inspection(
                    review=review, scheduled_for=self.days[start + plan.inspection_day], inspector=reviewer
                )
                record.inspections.append(inspections[plan])
            elif action == "inspection_record":
                inspection = inspections[plan]
                inspection.outcome = plan.inspection_outcome
                inspection.notes = rng.choice(INSPECTION_NOTES[InspectionOutcome(plan.inspection_outcome)])
                inspection.recorded_at = at
            elif action == "decide":
                review.status = DECISION_STATUS[plan.decision]
                review.reason, review.conditions = plan.reason, plan.conditions
                review.decided_at, review.reviewer = at, reviewer
                decider = reviewer
        for review in record.reviews:
            review.due_date = self.calendar.add_working_days(
                review.started_on, review.sla_working_days + review.paused_working_days
            )

    def _settle(
        self,
        record: _AppRecord,
        action: str,
        reviews: dict[_ReviewPlan, Review],
        at: dt.datetime,
        decider: User,
    ) -> None:
        app = record.app
        reg = self.registrar
        if action == "approve":
            self._move(record, "approve", decider, at)
        elif action == "reject":
            rejected = [r for r in reviews.values() if r.status == ReviewStatus.REJECTED]
            for review in reviews.values():
                if review.status in OPEN_REVIEW_STATUSES:
                    review.status, review.paused_since = ReviewStatus.CLOSED, None
            reasons = "; ".join(f"{r.body.name_en} / {r.body.name_ar}: {r.reason}" for r in rejected)
            self._move(record, "reject", decider, at, note=reasons)
            app.rejection_reasons = reasons
        elif action == "appeal":
            reason = self.rng.choice(APPEALS)
            self._move(record, "appeal", reg, at, note=reason)
            app.appealed_at, app.appeal_reason = at, reason
            for review in reviews.values():
                if review.status in (ReviewStatus.REJECTED, ReviewStatus.CLOSED):
                    review.status = ReviewStatus.PENDING
                    review.started_on = at.date()
                    review.paused_working_days = 0
                    review.paused_since = None
                    review.decided_at = None
                    review.reopened_count += 1
        elif action == "withdraw":
            self._move(record, "withdraw", reg, at)
            for review in reviews.values():
                if review.status in OPEN_REVIEW_STATUSES:
                    review.status, review.paused_since = ReviewStatus.CLOSED, None
        elif action == "issue_licence":
            self._move(record, "issue_licence", reg, at)
            record.issued_at, record.issue_transition = at, record.transitions[-1]
        else:
            raise ValueError(action)

    def new_application(
        self,
        target: str,
        *,
        person: _Person | None = None,
        not_before: int = 0,
        need_body: ApprovingBody | None = None,
        commit: bool = True,
    ) -> _AppRecord | None:
        """A new-licence application that shows `target` today (one of the statuses, or
        "appealed" / "returned" for an in-review appeal / a draft returned for items)."""
        rng = self.rng
        days = self.days
        for _attempt in range(30):
            tier = self._tier()
            activities = self._activities(tier, need_body)
            bodies = self._route(ApplicationKind.NEW, activities)
            inspection = any(a.requires_inspection for a in activities)
            stage = target
            if target == "withdrawn":
                stage = rng.choices([s for s, _w in WITHDRAW_STAGES], [w for _s, w in WITHDRAW_STAGES])[0]
            early = stage in ("in_review", "draft", "submitted", "screening")
            rejects = target in ("rejected", "appealed") or (early and rng.random() < 0.15)
            outcome = "reject" if rejects else "approve"
            life = self._life(
                bodies=bodies,
                inspection=inspection,
                outcome=outcome,
                returned=target == "returned" or (target != "draft" and rng.random() < 0.08),
                linger=target == "draft" or (target == "withdrawn" and stage == "draft"),
                appeal=target == "appealed",
            )
            if target == "withdrawn":
                day = self._withdrawn(life, stage)
                if day is None:
                    continue
                low, high = day, INF
            else:
                window = {"appealed": "in_review", "returned": "draft"}.get(target, target)
                low, high = self._window(life, window)
            high = min(high, days.cutoff - max(days.start, not_before))
            if low > high:
                continue
            elapsed = rng.randint(low, high)
            start = days.cutoff - elapsed
            person = person or self._person()
            home = person.home
            primary = activities[0]
            app = self._base_application(
                person, tier, ApplicationKind.NEW, self._trade_name(person, primary), home
            )
            record = _AppRecord(app=app, person=person, activities=activities)
            self._materialize(record, [s for s in life.steps if s.day <= elapsed], start, life.reviews)
            if commit:
                self.commit(record)
            return record
        return None

    def commit(self, record: _AppRecord) -> None:
        self.records.append(record)
        if record.issued_at is not None and record.app.kind == ApplicationKind.NEW:
            self._licence_new(record)

    # Licences --------------------------------------------------------------------------

    def _conditions(self, record: _AppRecord) -> str:
        rows = [r for r in record.reviews if r.status == ReviewStatus.APPROVED_WITH_CONDITIONS]
        return "\n".join(f"{r.body.name_ar} / {r.body.name_en}: {r.conditions}" for r in rows)

    def _event(
        self,
        lrec: _LicenceRecord,
        kind: str,
        at: dt.datetime,
        *,
        actor: User | None = None,
        reason: str = "",
        application: Application | None = None,
    ) -> None:
        lrec.events.append(
            LicenceEvent(
                licence=lrec.licence, kind=kind, actor=actor, reason=reason, application=application, at=at
            )
        )

    def _licence_new(self, record: _AppRecord) -> None:
        app = record.app
        assert record.issued_at is not None  # noqa: S101 - only issued records come here
        issued = record.issued_at.date()
        licence = Licence(
            number="",
            status=LicenceStatus.ACTIVE,
            holder=None,
            cpr=app.cpr,
            conditions=self._conditions(record),
            valid_from=issued,
            valid_until=_add_months(issued, app.tier.validity_months) - dt.timedelta(days=1),
            issued_at=record.issued_at,
        )
        self._copy_identity(licence, app)
        app.licence = licence
        lrec = _LicenceRecord(
            licence=licence,
            person=record.person,
            activities=list(record.activities),
            issue_day=record.last_day,
        )
        if record.issue_transition is not None:
            lrec.issue_transitions.append(record.issue_transition)
        self._event(lrec, LicenceEvent.Kind.ISSUED, record.issued_at, actor=self.registrar, application=app)
        self.licences.append(lrec)

    @staticmethod
    def _copy_identity(licence: Licence, app: Application) -> None:
        for name in (
            "flat",
            "building",
            "road",
            "block",
            "area",
            "address_key",
            "trade_name",
            "name_ar",
            "name_en",
        ):
            setattr(licence, name, getattr(app, name))
        licence.governorate = app.governorate
        licence.tier = app.tier

    def _expire(self, lrec: _LicenceRecord) -> None:
        licence = lrec.licence
        if licence.valid_until < self.today and licence.status in (
            LicenceStatus.ACTIVE,
            LicenceStatus.SUSPENDED,
        ):
            licence.status = LicenceStatus.EXPIRED
            day = licence.valid_until + dt.timedelta(days=1)
            at = dt.datetime.combine(day, dt.time(0, 5, self.rng.randint(0, 59)), tzinfo=self.tz)
            reason = f"valid until {licence.valid_until.isoformat()}"
            self._event(lrec, LicenceEvent.Kind.EXPIRED, at, reason=reason)

    def _staff_moment(self, index: int) -> dt.datetime:
        return self._tick(None, self.days[index], quick=False)

    def licence_lives(self) -> None:
        """What happened to each licence after it was issued, up to yesterday."""
        days = self.days
        for lrec in list(self.licences):
            licence = lrec.licence
            until = days.before(licence.valid_until)  # the last working day it was valid
            last = min(until, days.cutoff)
            roll = self.rng.random()
            window_opens = days.on_or_after(licence.valid_until - dt.timedelta(days=self.renewal_window))
            if roll < 0.06 and lrec.issue_day + 15 <= last:
                day = self.rng.randint(lrec.issue_day + 15, last)
                reason = self.rng.choice(CANCELLATIONS)
                licence.status, licence.status_reason = LicenceStatus.CANCELLED, reason
                at = self._staff_moment(day)
                self._event(lrec, LicenceEvent.Kind.CANCELLED, at, actor=self.registrar, reason=reason)
            elif roll < 0.13 and lrec.issue_day + 20 <= last:
                day = self.rng.randint(lrec.issue_day + 20, last)
                reason = self.rng.choice(SUSPENSIONS)
                licence.status, licence.status_reason = LicenceStatus.SUSPENDED, reason
                self._event(
                    lrec,
                    LicenceEvent.Kind.SUSPENDED,
                    self._staff_moment(day),
                    actor=self.registrar,
                    reason=reason,
                )
                back = day + self.rng.randint(5, 25)
                if self.rng.random() < 0.5 and back <= last:
                    reason = self.rng.choice(REINSTATEMENTS)
                    licence.status, licence.status_reason = LicenceStatus.ACTIVE, reason
                    self._event(
                        lrec,
                        LicenceEvent.Kind.REINSTATED,
                        self._staff_moment(back),
                        actor=self.registrar,
                        reason=reason,
                    )
            elif roll < 0.26:
                latest = min(days.before(licence.valid_until - dt.timedelta(days=90)), days.cutoff)
                if lrec.issue_day + 10 <= latest:
                    self._amendment(lrec, self.rng.randint(lrec.issue_day + 10, latest))
            elif window_opens <= days.cutoff and self.rng.random() < 0.6:
                late = days.on_or_after(licence.valid_until + dt.timedelta(days=25))
                first = max(window_opens + 2, lrec.issue_day + 1)
                if first <= min(late, days.cutoff):
                    self._renewal(lrec, self.rng.randint(first, min(late, days.cutoff)))
            self._expire(lrec)

    def _change(
        self,
        lrec: _LicenceRecord,
        *,
        kind: str,
        start: int,
        activities: list[Activity],
        tier: LicenceTier,
        trade_name: str,
        home: _Home,
        bodies: Sequence[ApprovingBody],
    ) -> _AppRecord:
        rng = self.rng
        licence = lrec.licence
        outcome = "reject" if bodies and rng.random() < 0.1 else "approve"
        life = self._life(
            bodies=bodies,
            inspection=any(a.requires_inspection for a in activities),
            outcome=outcome,
            returned=rng.random() < 0.05,
        )
        if rng.random() < 0.06:
            stage = rng.choice(["draft", "submitted", "screening"])
            day = self._withdrawn(life, stage)
            if day is not None and start + day > self.days.cutoff:
                life.steps = [s for s in life.steps if s.action != "withdraw"]
        person = lrec.person
        app = self._base_application(person, tier, kind, trade_name, home)
        app.name_ar, app.name_en = licence.name_ar, licence.name_en
        app.name_search = " ".join(normalize(p) for p in (app.name_ar, app.name_en, app.trade_name) if p)[
            :500
        ]
        if kind == ApplicationKind.RENEWAL:
            app.email = ""  # a renewal starts from the licence: no e-mail for an assisted holder
        app.licence = licence
        record = _AppRecord(app=app, person=person, activities=activities)
        steps = [s for s in life.steps if start + s.day <= self.days.cutoff]
        self._materialize(record, steps, start, life.reviews)
        self.records.append(record)
        return record

    def _renewal(self, lrec: _LicenceRecord, start: int) -> None:
        licence = lrec.licence
        home = _Home(
            licence.flat,
            licence.building,
            licence.road,
            licence.block,
            licence.area,
            licence.governorate.code,
            licence.address_key,
        )
        if self.days[start] > licence.valid_until:
            self._expire(lrec)  # it lapsed before the holder came to renew it
        record = self._change(
            lrec,
            kind=ApplicationKind.RENEWAL,
            start=start,
            activities=list(lrec.activities),
            tier=licence.tier,
            trade_name=licence.trade_name,
            home=home,
            bodies=self._route(ApplicationKind.RENEWAL, lrec.activities),
        )
        if record.issued_at is None:
            return
        issued = record.issued_at.date()
        if issued > licence.valid_until:
            self._expire(lrec)
        begin = max(licence.valid_until + dt.timedelta(days=1), issued)
        licence.valid_until = _add_months(begin, licence.tier.validity_months) - dt.timedelta(days=1)
        if licence.status == LicenceStatus.EXPIRED:
            licence.status = LicenceStatus.ACTIVE
        extra = self._conditions(record)
        if extra:
            licence.conditions = "\n".join(filter(None, [licence.conditions, extra]))
        self._event(
            lrec, LicenceEvent.Kind.RENEWED, record.issued_at, actor=self.registrar, application=record.app
        )
        if record.issue_transition is not None:
            lrec.issue_transitions.append(record.issue_transition)

    def _amendment(self, lrec: _LicenceRecord, start: int) -> None:
        rng = self.rng
        licence = lrec.licence
        before = list(lrec.activities)
        activities = list(before)
        tier = licence.tier
        trade_name = licence.trade_name
        home = _Home(
            licence.flat,
            licence.building,
            licence.road,
            licence.block,
            licence.area,
            licence.governorate.code,
            licence.address_key,
        )
        moved = False
        roll = rng.random()
        rest = [a for a in self.activities if a not in activities]
        if roll < 0.5 and rest:
            if not any(a.is_food for a in activities) and rng.random() < 0.5:
                rest = [a for a in rest if a.is_food] or rest
            activities.append(self._weighted(rest))
            if len(activities) > tier.max_activities:
                bigger = [t for t in self.tiers if t.max_activities >= len(activities)]
                if not bigger:
                    return
                tier = bigger[0]
        elif roll < 0.8:
            names = [
                n for n in (self._trade_name(lrec.person, activities[0]) for _ in range(4)) if n != trade_name
            ]
            if not names:
                return
            trade_name = names[0]
        else:
            moved = True
            home = self._home()
        record = self._change(
            lrec,
            kind=ApplicationKind.AMENDMENT,
            start=start,
            activities=activities,
            tier=tier,
            trade_name=trade_name,
            home=home,
            bodies=self._route(ApplicationKind.AMENDMENT, activities, before=before, moved=moved),
        )
        if record.issued_at is None:
            return
        self._copy_identity(licence, record.app)
        lrec.activities = list(activities)
        extra = self._conditions(record)
        if extra:
            licence.conditions = "\n".join(filter(None, [licence.conditions, extra]))
        self._event(
            lrec, LicenceEvent.Kind.AMENDED, record.issued_at, actor=self.registrar, application=record.app
        )
        if record.issue_transition is not None:
            lrec.issue_transitions.append(record.issue_transition)

    # The whole --------------------------------------------------------------------------

    def build(self) -> None:
        closed: list[_AppRecord] = []
        for target, count in NEW_PLAN:
            for _i in range(count):
                person, not_before = None, 0
                if target not in ("rejected", "withdrawn") and closed and self.rng.random() < 0.04:
                    earlier = closed.pop(self.rng.randrange(len(closed)))
                    person, not_before = earlier.person, earlier.last_day + 5
                record = self.new_application(target, person=person, not_before=not_before)
                if record is None and person is not None:  # they came back too recently
                    record = self.new_application(target)
                if record is not None and target in ("rejected", "withdrawn"):
                    closed.append(record)
        self.licence_lives()
        self._top_up_queues()
        while len(self.records) < MIN_APPLICATIONS + 10:
            self.new_application(self.rng.choice(["rejected", "withdrawn"]))

    def queue_counts(self) -> tuple[dict[int, int], dict[int, int]]:
        pending: dict[int, int] = dict.fromkeys(self.reviewers, 0)
        overdue: dict[int, int] = dict.fromkeys(self.reviewers, 0)
        for record in self.records:
            for review in record.reviews:
                if review.status == ReviewStatus.PENDING and review.body.pk in pending:
                    pending[review.body.pk] += 1
                    if review.due_date < self.today:
                        overdue[review.body.pk] += 1
        return pending, overdue

    def _top_up_queues(self) -> None:
        """Every body's reviewer has a working queue, some of it overdue."""
        pending, overdue = self.queue_counts()
        bodies = {b.pk: b for a in self.activities for b in a.bodies.all() if b.is_active}
        for pk, body in sorted(bodies.items()):
            if pk not in pending:
                continue
            for _attempt in range(400):
                if pending[pk] >= MIN_PENDING_PER_BODY and overdue[pk] >= MIN_OVERDUE_PER_BODY:
                    break
                record = self.new_application("in_review", need_body=body, commit=False)
                if record is None:
                    continue
                mine = [r for r in record.reviews if r.body.pk == pk and r.status == ReviewStatus.PENDING]
                late = [r for r in mine if r.due_date < self.today]
                if not mine or (pending[pk] >= MIN_PENDING_PER_BODY and not late):
                    continue
                self.commit(record)
                for review in record.reviews:
                    if review.status == ReviewStatus.PENDING and review.body.pk in pending:
                        pending[review.body.pk] += 1
                        overdue[review.body.pk] += review.due_date < self.today

    def number(self) -> dict[tuple[str, int], int]:
        """References and licence numbers in time order, continuing each year's counter."""
        lasts = {(c.name, c.year): c.last for c in Counter.objects.all()}
        used: dict[tuple[str, int], int] = {}
        for record in sorted(self.records, key=lambda r: r.app.created_at):
            year = timezone.localtime(record.app.created_at).year
            n = used.get(("application", year), lasts.get(("application", year), 0)) + 1
            used[("application", year)] = n
            record.app.reference = f"APP-{year}-{n:06d}"
        for lrec in sorted(self.licences, key=lambda r: r.licence.issued_at):
            year = timezone.localtime(lrec.licence.issued_at).year
            n = used.get(("licence", year), lasts.get(("licence", year), 0)) + 1
            used[("licence", year)] = n
            lrec.licence.number = f"KH-{year}-{n:06d}"
            for transition in lrec.issue_transitions:
                transition.note = lrec.licence.number
        return used

    def save(self) -> None:
        used = self.number()
        Licence.objects.bulk_create([lrec.licence for lrec in self.licences])
        apps = [record.app for record in self.records]
        Application.objects.bulk_create(apps)
        through = Application.activities.through
        through.objects.bulk_create(
            [
                through(application_id=record.app.pk, activity_id=activity.pk)
                for record in self.records
                for activity in record.activities
            ]
        )
        licence_through = Licence.activities.through
        licence_through.objects.bulk_create(
            [
                licence_through(licence_id=lrec.licence.pk, activity_id=activity.pk)
                for lrec in self.licences
                for activity in lrec.activities
            ]
        )
        ApplicationTransition.objects.bulk_create([t for r in self.records for t in r.transitions])
        Review.objects.bulk_create([v for r in self.records for v in r.reviews])
        InfoRequest.objects.bulk_create([i for r in self.records for i in r.info_requests])
        Inspection.objects.bulk_create([i for r in self.records for i in r.inspections])
        LicenceEvent.objects.bulk_create([e for lrec in self.licences for e in lrec.events])
        for (name, year), last in sorted(used.items()):
            Counter.objects.update_or_create(name=name, year=year, defaults={"last": last})


# The demo accounts' own applications, through the real services -----------------------


def _holder_licence(*, holder: User, registrar: User, reviewers: dict[int, User]) -> Licence:
    """Aisha's licence: a home kitchen and abaya sewing, issued by the registrar today."""
    data = services.ApplicationInput(
        cpr=HOLDER_CPR,
        name_ar=holder.name_ar or "عائشة جاسم",
        name_en=holder.get_full_name() or "Aisha Jassim",
        phone="36501234",
        email=holder.email,
        building="1187",
        road="3817",
        block="938",
        area="Riffa",
        governorate="southern",
        trade_name="مطبخ عائشة / Aisha's Kitchen",
        tier="standard",
        activities=["home-meals", "sewing-abayas"],
    )
    app = services.application_create(actor=holder, data=data)
    app = services.application_submit(actor=holder, application=app)
    app = services.application_start_screening(actor=registrar, application=app)
    app = services.application_accept(actor=registrar, application=app)
    today = timezone.localdate()
    for review in app.reviews.select_related("body").order_by("body__sort_order", "id"):
        reviewer = reviewers[review.body_id]
        if review.requires_inspection:
            inspection = approvals.inspection_schedule(
                actor=reviewer, review=review, scheduled_for=today, inspector=reviewer
            )
            approvals.inspection_record(
                actor=reviewer,
                inspection=inspection,
                outcome=InspectionOutcome.PASSED,
                notes="المطبخ نظيف وجيد التهوية / The kitchen is clean and well ventilated",
            )
        conditions = CONDITIONS.get(review.body.code, [""])[0] if review.body.code != "municipality" else ""
        approvals.review_decide(
            actor=reviewer,
            review=review,
            decision="approve_with_conditions" if conditions else "approve",
            conditions=conditions,
        )
    app.refresh_from_db()
    return services.licence_issue(actor=registrar, application=app)


def _applicant_application(*, applicant: User, registrar: User, reviewers: dict[int, User]) -> Application:
    """Zainab's application: sweets and occasion cards, now with the approving bodies."""
    data = services.ApplicationInput(
        cpr=APPLICANT_CPR,
        name_ar=applicant.name_ar or "زينب عبدالله",
        name_en=applicant.get_full_name() or "Zainab Abdulla",
        phone="39112233",
        email=applicant.email,
        building="562",
        road="1219",
        block="212",
        area="Muharraq",
        governorate="muharraq",
        trade_name="حلويات زينب / Zainab Sweets",
        tier="standard",
        activities=["sweets-pastries", "occasion-cards"],
    )
    app = services.application_create(actor=applicant, data=data)
    app = services.application_submit(actor=applicant, application=app)
    app = services.application_start_screening(actor=registrar, application=app)
    app = services.application_accept(actor=registrar, application=app)
    calendar = work_calendar()
    for review in app.reviews.select_related("body").order_by("body__sort_order", "id"):
        reviewer = reviewers[review.body_id]
        if review.body.code == "municipality":
            approvals.review_decide(actor=reviewer, review=review, decision="approve")
        elif review.body.code == "food-control":
            approvals.review_decide(
                actor=reviewer, review=review, decision="request_info", reason=QUESTIONS["food-control"][0]
            )
        elif review.requires_inspection:
            approvals.inspection_schedule(
                actor=reviewer,
                review=review,
                scheduled_for=calendar.add_working_days(timezone.localdate(), 2),
                inspector=reviewer,
            )
    app.refresh_from_db()
    return app


def _counts() -> dict[str, int]:
    return {
        "applications": Application.objects.count(),
        "licences": Licence.objects.count(),
        "reviews": Review.objects.count(),
        "transitions": ApplicationTransition.objects.count(),
        "inspections": Inspection.objects.count(),
        "info_requests": InfoRequest.objects.count(),
        "licence_events": LicenceEvent.objects.count(),
    }


def demo_licensing(*, seed: int = 2026) -> dict[str, int]:
    """Load the licensing demo data once; return how many rows of each kind it created
    (all zero when the data is already there). Needs the demo accounts."""
    holder = User.objects.get(username="holder")
    applicant = User.objects.get(username="applicant")
    registrar = User.objects.get(username="registrar")
    holder_done = Licence.objects.filter(holder=holder).exists()
    bulk_done = Application.objects.count() >= MIN_APPLICATIONS
    if holder_done and bulk_done:
        return dict.fromkeys(_counts(), 0)
    applicant_done = Application.objects.filter(cpr=APPLICANT_CPR).exists()
    holder_busy = Application.objects.filter(
        cpr=HOLDER_CPR, kind=ApplicationKind.NEW, status__in=OPEN_STATUSES
    ).exists()
    before = _counts()
    # Demo data e-mails nobody: the notices still appear in the portal.
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        reviewers = {
            body.pk: user
            for body in ApprovingBody.objects.all()
            if (user := User.objects.filter(body=body).order_by("pk").first()) is not None
        }
        if not bulk_done:
            builder = _Builder(seed=seed, registrar=registrar)
            builder.reserve_home(block="938", road="3817", building="1187", flat="")
            builder.reserve_home(block="212", road="1219", building="562", flat="")
            builder.build()
            builder.save()
        if not holder_done and not holder_busy:
            _holder_licence(holder=holder, registrar=registrar, reviewers=reviewers)
        if not applicant_done:
            _applicant_application(applicant=applicant, registrar=registrar, reviewers=reviewers)
        created = {name: n - before[name] for name, n in _counts().items()}
        audit_record(actor=None, action="demo.licensing.load", after={"seed": seed, **created})
    return created
