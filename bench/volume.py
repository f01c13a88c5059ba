"""Documents at national volume, made in minutes: a bulk generator for benchmarks (and tests).

`Volume` creates licences in bulk (copies of one licence issued through the real licensing
path, each with its own holder, number, CPR and customers), then `Volume.add` issues documents
to them in batches of INSERTs that bypass the per-row service but produce the rows it would:

- the payload is built by the issuing service's own pieces (`services._issuer`, `_party`,
  `_payload_line`, `money`), sealed by `trust.seal.seal_payload` with the platform's signing
  key (`signing_material`), exactly as `document_issue` seals it;
- numbers are gapless per licence, type and year, counters follow the licence's chain
  (`previous_hash` is the hash of the licence's previous document), and the counter rows
  (`DocumentCounter`: the chain row with its head hash, each type's row per year, the year's
  turnover on the invoice row) end as the service leaves them;
- each document has its lines (`DocumentLine`) as sealed.

Not made: audit events, webhook events, rendered PDFs, and transparency-log entries (the log is
left without a checkpoint, so verification reports a document as pending in the log, as it
does for a young document). `check_sample` verifies a random sample through the real verifier
(`verification.document_verify`: seal, stored rows against the payload, chain neighbours and
head) and the licences' chains through `chains.chain_verify` style walks in tests.

    from bench.volume import Volume
    volume = Volume.create(licences=20_000, big_holders=3)
    volume.add(1_000_000, big_each=10_000)
    problems = volume.check_sample(50)
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

BATCH = 2_000
SMALL_CUSTOMERS = 3  # per small licence
BIG_CUSTOMERS = 20  # per big holder's licence
QUOTATION_SHARE = 10  # one document in this many is a quotation, the rest invoices
LICENCE_SEQUENCE_FROM = 900_000  # bulk licences' numbers: KH-<year>-9xxxxx, clear of real ones
CPR_FROM = 700_000_000

# (activity index in the template licence, description, quantity, unit, unit price)
LINES = [
    (0, "وجبة عائلية لأربعة أشخاص — Family meal for four", "1", "piece", "0.500"),
    (0, "صينية حلويات — Tray of sweets", "2", "piece", "0.250"),
    (1, "خياطة عباءة — Tailoring an abaya", "1", "service", "0.400"),
    (1, "تعديل طول — Hem adjustment", "3", "piece", "0.100"),
    (0, "توصيل — Delivery", "1", "service", "0.300"),
]


@dataclass
class Chain:
    """What the generator keeps of one licence between batches (the counters it will write)."""

    licence: Any
    issuer: dict[str, Any]
    holder_id: int
    customers: list[Any]
    counter: int = 0
    last_hash: str = ""
    numbers: dict[tuple[str, int], int] = field(default_factory=dict)
    turnover_fils: dict[int, int] = field(default_factory=dict)
    stored: set[tuple[str, int]] = field(default_factory=set)  # counter rows already in the table


@dataclass
class Volume:
    chains: list[Chain]
    big: list[Chain]  # the big holders' licences (their holders can log in)
    password: str
    seed: int = 14
    made: int = 0
    seconds: float = 0.0
    _kid: str = ""
    _key: Any = None
    _activities: list[Any] = field(default_factory=list)

    # Licences -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        licences: int,
        big_holders: int = 3,
        password: str = "x-pass-123",  # noqa: S107 - a benchmark's throwaway accounts
        seed: int = 14,
    ) -> Volume:
        """`big_holders` licences issued through the licensing services (their holders log in
        with `password`), and the rest up to `licences` as bulk copies of the first."""
        from tests.licensing.factories import World

        from khutwa.accounts.models import User
        from khutwa.documents.models import Customer
        from khutwa.licensing.models import Licence

        big_licences = []
        for _ in range(max(1, big_holders)):
            world = World()
            licence = world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
            world.applicant.set_password(password)
            world.applicant.save(update_fields=["password"])
            big_licences.append(licence)
        template = big_licences[0]
        small = max(0, licences - len(big_licences))
        users = User.objects.bulk_create(
            [
                User(username=f"volume-holder-{i}", cpr=f"{CPR_FROM + i:09d}", password="!")  # noqa: S106 - unusable
                for i in range(small)
            ],
            batch_size=BATCH,
        )
        year = template.issued_at.year
        copies = [
            Licence(
                number=f"KH-{year}-{LICENCE_SEQUENCE_FROM + i:06d}",
                status=template.status,
                holder=user,
                cpr=user.cpr,
                name_ar=f"{template.name_ar} {i}",
                name_en=f"{template.name_en} {i}",
                trade_name=f"{template.trade_name} {i}",
                tier_id=template.tier_id,
                valid_from=template.valid_from,
                valid_until=template.valid_until,
                issued_at=template.issued_at,
                building=template.building,
                road=template.road,
                block=template.block,
                area=template.area,
                governorate_id=template.governorate_id,
                address_key=f"volume-{i}",
            )
            for i, user in enumerate(users)
        ]
        copies = Licence.objects.bulk_create(copies, batch_size=BATCH)
        activities = list(template.activities.all())
        through = Licence.activities.through
        through.objects.bulk_create(
            [through(licence_id=lic.pk, activity_id=a.pk) for lic in copies for a in activities],
            batch_size=BATCH,
        )
        customers: list[Customer] = []
        for lic in big_licences:
            customers += [_customer(lic.holder_id, n) for n in range(BIG_CUSTOMERS)]
        for lic in copies:
            customers += [_customer(lic.holder_id, n) for n in range(SMALL_CUSTOMERS)]
        Customer.objects.bulk_create(customers, batch_size=BATCH)
        by_owner: dict[int, list[Customer]] = {}
        for c in Customer.objects.filter(owner__in=[*users, *(lic.holder for lic in big_licences)]).order_by(
            "id"
        ):
            by_owner.setdefault(c.owner_id, []).append(c)
        chains = []
        ids = [lic.pk for lic in big_licences] + [lic.pk for lic in copies]
        for batch in _chunks(ids, BATCH):
            for lic in (
                Licence.objects.filter(pk__in=batch)
                .select_related("governorate")
                .prefetch_related("activities")
                .order_by("pk")
            ):
                chains.append(Chain(lic, _issuer_of(lic), lic.holder_id, by_owner[lic.holder_id]))
        by_id = {c.licence.pk: c for c in chains}
        return cls(
            chains=chains,
            big=[by_id[lic.pk] for lic in big_licences],
            password=password,
            seed=seed,
            _activities=sorted(activities, key=lambda a: a.code),
        )

    # Documents ----------------------------------------------------------------------------

    def add(
        self,
        documents: int,
        *,
        big_each: int = 0,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        statement_customer_share: int = 2,
    ) -> float:
        """Issue `documents` more documents: `big_each` to each big holder's licence, the rest
        spread at random over the other licences; issue times spread evenly over [start, end)
        (default: the year before now) in each licence's chain order. A big holder's first
        customer gets one document in `statement_customer_share` (its statement is long).
        Returns the seconds it took."""
        from django.db import transaction
        from django.utils import timezone

        from khutwa.documents.signing import signing_material

        started = time.perf_counter()
        if not self._kid:
            self._kid, self._key = signing_material()
        rng = random.Random(self.seed + self.made)
        end = end or timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
        start = start or end - dt.timedelta(days=365)
        plan: list[Chain] = []
        for chain in self.big:
            plan += [chain] * big_each
        small = [c for c in self.chains if c not in self.big] or self.big
        plan += [rng.choice(small) for _ in range(max(0, documents - len(plan)))]
        plan = plan[:documents]
        rng.shuffle(plan)  # big and small licences interleaved over the period
        step = (end - start) / max(1, len(plan))
        # Chain order is issue order: each licence's documents get increasing times.
        moments = [(start + step * i).replace(microsecond=0) for i in range(len(plan))]
        order = list(range(len(plan)))
        rng.shuffle(order)
        for batch in _chunks(order, BATCH):
            batch.sort()
            with transaction.atomic():
                self._store([(plan[i], moments[i]) for i in batch], rng, statement_customer_share)
        with transaction.atomic():
            self._counters()
        self.made += len(plan)
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        return elapsed

    def _store(self, items: list[tuple[Chain, dt.datetime]], rng: random.Random, share: int) -> None:
        from django.conf import settings
        from django.utils import timezone

        from khutwa.documents import money
        from khutwa.documents.models import PREFIXES, Document, DocumentLine, DocumentType
        from khutwa.documents.services import PAYLOAD_VERSION, _payload_line, _totals
        from khutwa.documents.services import _party as party
        from khutwa.trust.seal import seal_payload
        from khutwa.trust.verify import GENESIS_HASH

        site = settings.KHUTWA_SITE_URL.rstrip("/")
        documents: list[Document] = []
        lines_of: list[list[dict[str, Any]]] = []
        for chain, moment in items:
            quotation = rng.randrange(QUOTATION_SHARE) == 0
            type_ = DocumentType.QUOTATION if quotation else DocumentType.INVOICE
            local = timezone.localtime(moment)
            today = local.date()
            key = (str(type_), today.year)
            chain.numbers[key] = chain.numbers.get(key, 0) + 1
            chain.counter += 1
            previous = chain.last_hash or GENESIS_HASH
            number = f"{PREFIXES[type_]}-{today.year}-{chain.numbers[key]:06d}"
            if chain in self.big and rng.randrange(share) == 0:
                customer = chain.customers[0]
            else:
                customer = rng.choice(chain.customers)
            lines = [
                self._line(LINES[(chain.counter + k) % len(LINES)], rng) for k in range(1 + rng.randrange(3))
            ]
            groups, subtotal, vat = _totals(lines)
            total = money.bhd(subtotal + vat)
            public_id = uuid.uuid4()
            extra: dict[str, Any]
            fields: dict[str, Any]
            if quotation:
                valid_until = today + dt.timedelta(days=30)
                extra = {"valid_until": valid_until.isoformat()}
                fields = {"valid_until": valid_until}
            else:
                extra = {"due_date": ""}
                fields = {"due_date": None}
            payload = {
                "v": PAYLOAD_VERSION,
                "site": site,
                "type": str(type_),
                "public_id": str(public_id),
                "number": number,
                "issued_at": local.isoformat(timespec="seconds"),
                "issue_date": today.isoformat(),
                "currency": "BHD",
                "issuer": chain.issuer,
                "customer": party(customer),
                "lines": [_payload_line(ln) for ln in lines],
                "vat_breakdown": [g.as_payload() for g in groups],
                "subtotal": money.text(subtotal),
                "vat": money.text(vat),
                "total": money.text(total),
                "total_words": money.words(total),
                "references": {},
                **extra,
                "tamkeen_application_number": "",
                "chain": {
                    "licence": chain.licence.number,
                    "counter": chain.counter,
                    "previous_hash": previous,
                },
            }
            facts, signature = seal_payload(payload, self._kid, self._key)
            chain.last_hash = facts.hash
            if type_ == DocumentType.INVOICE:
                fils = int((subtotal * 1000).to_integral_value())
                chain.turnover_fils[today.year] = chain.turnover_fils.get(today.year, 0) + fils
            documents.append(
                Document(
                    public_id=public_id,
                    licence_id=chain.licence.pk,
                    type=type_,
                    number=number,
                    counter=chain.counter,
                    previous_hash=previous,
                    hash=facts.hash,
                    signature=signature,
                    kid=self._kid,
                    payload=payload,
                    issued_at=moment,
                    issue_date=today,
                    customer_id=customer.pk,
                    subtotal=subtotal,
                    vat=vat,
                    total=total,
                    issued_by_id=chain.holder_id,
                    **fields,
                )
            )
            lines_of.append(lines)
        ids = self._next_ids(Document, len(documents))
        for pk, doc in zip(ids, documents, strict=True):
            doc.pk = pk
        _insert(Document, documents)
        _insert(
            DocumentLine,
            [
                DocumentLine(
                    document_id=doc.pk,
                    position=i + 1,
                    activity=ln["activity"],
                    description=ln["description"],
                    quantity=ln["quantity"],
                    unit=ln["unit"],
                    unit_price=ln["unit_price"],
                    discount=ln["discount"],
                    vat_category=ln["vat_category"],
                    vat_rate=ln["vat_rate"],
                    net=ln["net"],
                    item_code=ln["item_code"],
                    brand=ln["brand"],
                )
                for doc, lines in zip(documents, lines_of, strict=True)
                for i, ln in enumerate(lines)
            ],
        )

    def _next_ids(self, model: Any, count: int) -> range:
        """Ids for `count` new rows (the generator is the only writer while it runs); the
        sequence is moved past them on PostgreSQL by `_insert`."""
        from django.db.models import Max

        first = (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        return range(first, first + count)

    def _line(self, spec: tuple[int, str, str, str, str], rng: random.Random) -> dict[str, Any]:
        """A line as `services._parse_lines` makes it for a holder not registered for VAT."""
        from khutwa.documents import money

        index, description, quantity, unit, price = spec
        quantity_d = money.parse_amount(str(int(quantity) + rng.randrange(3)), allow_zero=False)
        price_d = money.parse_amount(price)
        return {
            "activity": self._activities[index % len(self._activities)],
            "description": description,
            "quantity": quantity_d,
            "unit": unit,
            "unit_price": price_d,
            "discount": Decimal("0.000"),
            "vat_category": "O",
            "vat_rate": Decimal("0.00"),
            "net": money.line_net(quantity=quantity_d, unit_price=price_d, discount=Decimal("0.000")),
            "item_code": "",
            "brand": "",
        }

    def _counters(self) -> None:
        """Leave each licence's counter rows as the issuing service would: the chain row (its
        counter and head hash), each type's row per year, the turnover on the invoice rows."""
        from django.db import connection

        from khutwa.documents.models import DocumentCounter

        table = DocumentCounter._meta.db_table
        new: list[DocumentCounter] = []
        updates: list[tuple[int, str, int, int, str, int]] = []
        for chain in self.chains:
            if not chain.counter:
                continue
            rows = {("chain", 0): (chain.counter, chain.last_hash, 0)}
            for (type_, year), last in chain.numbers.items():
                rows[(type_, year)] = (
                    last,
                    "",
                    chain.turnover_fils.get(year, 0) if type_ == "invoice" else 0,
                )
            for (type_, year), (last, head, fils) in rows.items():
                if (type_, year) in chain.stored:
                    updates.append((last, head, fils, chain.licence.pk, type_, year))
                else:
                    new.append(
                        DocumentCounter(
                            licence_id=chain.licence.pk,
                            type=type_,
                            year=year,
                            last=last,
                            last_hash=head,
                            turnover_fils=fils,
                        )
                    )
                    chain.stored.add((type_, year))
        DocumentCounter.objects.bulk_create(new, batch_size=BATCH)
        if updates:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET last = %s, last_hash = %s, turnover_fils = %s "  # noqa: S608
                    "WHERE licence_id = %s AND type = %s AND year = %s",
                    updates,
                )

    # Checks -------------------------------------------------------------------------------

    def check_sample(self, size: int = 50) -> list[str]:
        """Problems found by the real verifier in `size` documents picked at random (empty when
        every one is valid; "pending in the public log" is not a problem: no log was made)."""
        from khutwa.documents.models import Document
        from khutwa.documents.verification import document_verify

        rng = random.Random(self.seed)
        last = Document.objects.order_by("-id").values_list("id", flat=True).first() or 0
        problems: list[str] = []
        picked = 0
        for _ in range(size * 4):
            if picked >= size:
                break
            document = Document.objects.filter(id__gte=rng.randint(1, max(1, last))).order_by("id").first()
            if document is None:
                continue
            picked += 1
            verdict = document_verify(document)
            problems += [f"{document.number} ({document.licence_id}): {r}" for r in verdict.reasons]
        return problems

    def sample_public_ids(self, size: int) -> list[str]:
        """Public ids of `size` documents spread over the whole table (for request loops)."""
        from khutwa.documents.models import Document

        rng = random.Random(self.seed + 1)
        last = Document.objects.order_by("-id").values_list("id", flat=True).first() or 0
        ids = sorted({rng.randint(1, max(1, last)) for _ in range(size)})
        return [str(p) for p in Document.objects.filter(id__in=ids).values_list("public_id", flat=True)]


def _insert(model: Any, objs: list[Any]) -> None:
    """INSERT the rows through `khutwa.prebuilt` (the issuing path's statements built once per
    process, values prepared as the ORM prepares them), in multi-row statements of at most
    30,000 values (under SQLite's limit on bound parameters)."""
    from django.db import connection

    from khutwa import prebuilt

    if not objs:
        return
    names = tuple(
        f.attname for f in model._meta.concrete_fields if not (f.primary_key and objs[0].pk is None)
    )
    for batch in _chunks(objs, max(1, 30_000 // len(names))):
        prebuilt.insert_values(model, names, [[getattr(o, name) for name in names] for o in batch])
    if connection.vendor == "postgresql" and objs[0].pk is not None:
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )


def _customer(owner_id: int, n: int) -> Any:
    from khutwa.documents.models import Customer

    return Customer(
        owner_id=owner_id,
        kind="individual",
        cpr=f"{CPR_FROM + 500_000_00 + owner_id * 100 + n:09d}"[-9:],
        name_ar=f"زبون {n}",
        name_en=f"Customer {n}",
        address="Block 905, Riffa",
    )


def _issuer_of(licence: Any) -> dict[str, Any]:
    from khutwa.documents.services import _issuer

    return _issuer(licence)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__ = ["Volume"]
