"""The catalogue's first values, from shared/brief/ACTIVITIES.md.

[published] items come from the Ministry of Social Development's productive-home list
(Resolution 19/2011); the food activities, the body each activity needs, the tiers and
the service targets are [assumed] defaults that the registrar edits in the admin.
Loaded once by the data migration catalogue/0002_seed_catalogue; never overwritten later.
"""

from __future__ import annotations

from decimal import Decimal

MUNICIPALITY = "municipality"
CIVIL_DEFENCE = "civil-defence"
FOOD_CONTROL = "food-control"

BODIES = [
    # code, Arabic, English, SLA working days, conducts inspections
    (
        MUNICIPALITY,
        "إدارة التراخيص الفنية - وزارة البلديات",
        "Technical Licensing Department, Ministry of Municipalities",
        10,
        False,
    ),
    (
        CIVIL_DEFENCE,
        "الدفاع المدني - وزارة الداخلية",
        "Civil Defence, Ministry of Interior",
        10,
        True,
    ),
    (
        FOOD_CONTROL,
        "قسم مراقبة الأغذية - وزارة الصحة",
        "Food Control Section, Ministry of Health",
        10,
        True,
    ),
]

CATEGORIES = [
    ("textiles", "الخياطة والنسيج", "Sewing and textiles"),
    ("crafts", "الحرف اليدوية", "Handicrafts"),
    ("design-media", "التصميم والإعلام", "Design and media"),
    ("services", "الخدمات", "Services"),
    ("trade", "التجارة المنزلية", "Home trade"),
    ("education", "التعليم والتدريب", "Teaching and training"),
    ("food", "الأغذية", "Food"),
]

_GENERAL = "صورة البطاقة الذكية، إثبات ملكية المنزل أو عقد الإيجار، صورة لمكان مزاولة النشاط."
_GENERAL_EN = (
    "Smart card copy, proof of home ownership or tenancy contract, "
    "a photo of where the activity is carried out."
)
_FOOD = _GENERAL + " شهادة صحية سارية لمن يحضّر الطعام، ووصف للمطبخ وأماكن التخزين؛ يلزم تفتيش المنزل."
_FOOD_EN = (
    _GENERAL_EN + " A valid health certificate for whoever prepares the food and a description "
    "of the kitchen and storage; a home inspection is required."
)

# code, Arabic, English, category, is_food, requires_inspection
ACTIVITIES = [
    ("sewing-abayas", "الخياطة والعبايات", "Sewing and abayas", "textiles", False, False),
    ("gift-wrapping", "صناديق الهدايا والتغليف", "Gift boxes and wrapping", "crafts", False, False),
    ("pottery", "الفخار اليدوي", "Handmade pottery", "crafts", False, True),
    (
        "occasion-cards",
        "تصميم بطاقات المناسبات بالحاسوب",
        "Computer design of occasion cards",
        "design-media",
        False,
        False,
    ),
    ("handicrafts", "الأشغال اليدوية", "Handicrafts", "crafts", False, False),
    ("event-photography", "تصوير المناسبات", "Event photography", "design-media", False, False),
    (
        "incense-perfumes",
        "تعبئة البخور والعطور",
        "Packing incense and perfumes",
        "trade",
        False,
        True,
    ),
    ("advertising-design", "التصميم الإعلاني", "Advertising design", "design-media", False, False),
    ("book-binding", "تجليد الكتب", "Book binding", "crafts", False, False),
    (
        "flowers-gardening",
        "الزهور والزراعة المنزلية",
        "Flowers and home gardening",
        "trade",
        False,
        False,
    ),
    ("accessories", "الإكسسوارات", "Accessories", "crafts", False, False),
    ("hand-weaving", "النسيج اليدوي", "Hand weaving", "textiles", False, False),
    ("cooking-lessons", "دروس الطبخ", "Cooking lessons", "education", False, True),
    ("watch-repair", "تصليح الساعات", "Watch repair", "services", False, False),
    ("stamps-coins", "الطوابع والعملات", "Stamps and coins", "trade", False, False),
    ("laundry-ironing", "الغسيل والكي", "Laundry and ironing", "services", False, True),
    ("fishing-nets", "شباك الصيد", "Fishing nets", "crafts", False, False),
    (
        "event-services",
        "خدمات المناسبات (عدا تصفيف الشعر والمكياج)",
        "Event services (excluding hairdressing and make-up)",
        "services",
        False,
        False,
    ),
    ("shoe-repair", "تصليح الأحذية", "Shoe repair", "services", False, False),
    ("home-meals", "الوجبات المنزلية", "Home-cooked meals", "food", True, True),
    ("sweets-pastries", "الحلويات والمعجنات", "Sweets and pastries", "food", True, True),
    (
        "bahraini-dishes",
        "الأكلات البحرينية الشعبية",
        "Traditional Bahraini dishes",
        "food",
        True,
        True,
    ),
    ("pickles-spices", "المخللات والبهارات", "Pickles and spices", "food", True, True),
    ("juices-drinks", "العصائر والمشروبات الباردة", "Juices and cold drinks", "food", True, True),
]


def bodies_for(code: str, is_food: bool) -> list[str]:
    """Every activity needs the municipality and civil defence; food and cooking lessons
    also need food control [assumed]."""
    bodies = [MUNICIPALITY, CIVIL_DEFENCE]
    if is_food or code == "cooking-lessons":
        bodies.append(FOOD_CONTROL)
    return bodies


def to_prepare(code: str, is_food: bool) -> tuple[str, str]:
    if is_food or code == "cooking-lessons":
        return _FOOD, _FOOD_EN
    return _GENERAL, _GENERAL_EN


# code, Arabic, English, max activities, turnover ceiling, validity months, support cap
TIERS = [
    ("basic", "أساسية", "Basic", 1, Decimal("10000.000"), 12, Decimal("1000.000")),
    ("standard", "قياسية", "Standard", 3, Decimal("20000.000"), 12, Decimal("2500.000")),
    ("extended", "موسعة", "Extended", 5, Decimal("37500.000"), 12, Decimal("5000.000")),
]

GOVERNORATES = [
    ("capital", "محافظة العاصمة", "Capital Governorate"),
    ("muharraq", "محافظة المحرق", "Muharraq Governorate"),
    ("northern", "المحافظة الشمالية", "Northern Governorate"),
    ("southern", "المحافظة الجنوبية", "Southern Governorate"),
]

# Fixed-date public holidays. Islamic holidays follow the moon and are announced each year:
# the registrar enters them in the admin.
FIXED_HOLIDAYS = [
    ("01-01", "رأس السنة الميلادية", "New Year's Day"),
    ("05-01", "عيد العمال", "Labour Day"),
    ("12-16", "العيد الوطني", "National Day"),
    ("12-17", "العيد الوطني", "National Day"),
]
HOLIDAY_YEARS = (2025, 2026, 2027)

# ISO weekday → working? Sunday (7) to Thursday (4) work; Friday and Saturday rest.
WORKING_WEEK = {1: True, 2: True, 3: True, 4: True, 5: False, 6: False, 7: True}
