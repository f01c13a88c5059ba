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
import multiprocessing
import os
import queue
import random
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

BATCH = 2_000
ROUND = 20_000  # documents inserted in one transaction while the workers seal the next ones
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
    workers: int = 1  # processes that built and sealed the rows in the last `add`
    worker_cpu_seconds: float = 0.0  # their CPU time, all `add`s (this process's is apart)

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
        from django.test import override_settings
        from tests.licensing.factories import World

        from khutwa.accounts.models import User
        from khutwa.documents.models import Customer
        from khutwa.licensing.models import Licence

        big_licences = []
        for _ in range(max(1, big_holders)):
            # The staff accounts that approve them never log in: a cheap hash (pbkdf2 costs
            # seconds each on a loaded machine); the holders' own passwords are hashed as usual.
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
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
        workers: int | None = None,
    ) -> float:
        """Issue `documents` more documents: `big_each` to each big holder's licence, the rest
        spread at random over the other licences; issue times spread evenly over [start, end)
        (default: the year before now), ids and each licence's chain in time order. A big
        holder's first customer gets one document in `statement_customer_share` (its statement
        is long). `workers` processes (default: one per CPU; 1 makes the rows in this process)
        build and seal the rows, each for its own share of the licences (chains are per
        licence); this process inserts them, a round of `ROUND` documents at a time, while the
        workers seal the next. Returns the seconds it took."""
        import resource

        from django.db import transaction
        from django.utils import timezone

        from khutwa.documents.models import Document, DocumentLine
        from khutwa.documents.signing import signing_material

        started = time.perf_counter()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if not self._kid:
            self._kid, self._key = signing_material()
        rng = random.Random(self.seed + self.made)
        end = end or timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
        start = start or end - dt.timedelta(days=365)
        index = {id(c): n for n, c in enumerate(self.chains)}
        plan: list[int] = []
        for chain in self.big:
            plan += [index[id(chain)]] * big_each
        small = [n for n, c in enumerate(self.chains) if c not in self.big] or [
            index[id(c)] for c in self.big
        ]
        plan += [rng.choice(small) for _ in range(max(0, documents - len(plan)))]
        plan = plan[:documents]
        rng.shuffle(plan)  # big and small licences interleaved over the period
        step = (end - start) / max(1, len(plan))
        # Time order is id order and each licence's chain order: the n-th document is the n-th issued.
        moments = [(start + step * i).replace(microsecond=0) for i in range(len(plan))]
        first_id = _next_id(Document)
        maker = _Maker(self, statement_customer_share)
        workers = workers or max(1, min(os.cpu_count() or 1, len(plan) // 1_000))
        for docs, lines in _rounds(maker, plan, moments, first_id, workers):
            with transaction.atomic():
                _load(Document, maker.document_names, docs)
                _load(DocumentLine, maker.line_names, lines)
        _sequence_past(Document)
        with transaction.atomic():
            self._counters()
        self.made += len(plan)
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.worker_cpu_seconds += (used.ru_utime + used.ru_stime) - (children.ru_utime + children.ru_stime)
        self.workers = workers
        return elapsed

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


class _Maker:
    """Builds and seals a licence's next document as `document_issue` would, in a worker
    process or in this one: the payload from the service's own pieces, sealed by
    `seal_payload`, and the rows' values prepared as the ORM prepares them (`khutwa.prebuilt`).
    What is the same for many documents is made once: each customer's party, each kind of
    line (its row and its payload), the totals of each combination of lines, the values of
    the columns every document shares."""

    #: The Document columns that differ between documents (the others are the model's defaults).
    VARYING = (
        "id",
        "public_id",
        "licence_id",
        "type",
        "number",
        "counter",
        "previous_hash",
        "hash",
        "signature",
        "kid",
        "payload",
        "issued_at",
        "issue_date",
        "customer_id",
        "subtotal",
        "vat",
        "total",
        "issued_by_id",
        "valid_until",
        "due_date",
    )

    def __init__(self, volume: Volume, share: int) -> None:
        from django.conf import settings
        from django.db import DEFAULT_DB_ALIAS, connections
        from django.utils import timezone

        from khutwa import prebuilt
        from khutwa.documents import money
        from khutwa.documents.models import PREFIXES, Document, DocumentLine, DocumentType
        from khutwa.documents.services import PAYLOAD_VERSION, _party, _payload_line, _totals
        from khutwa.trust.seal import seal_payload
        from khutwa.trust.verify import GENESIS_HASH

        self.volume = volume
        self.share = share
        self.seed = volume.seed + volume.made
        self.site = settings.KHUTWA_SITE_URL.rstrip("/")
        self.zone = timezone.get_current_timezone()
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.big = {id(c) for c in volume.big}
        self.money, self.party, self.payload_line, self.totals = money, _party, _payload_line, _totals
        self.seal, self.genesis, self.version = seal_payload, GENESIS_HASH, PAYLOAD_VERSION
        self.invoice, self.quotation = DocumentType.INVOICE, DocumentType.QUOTATION
        self.prefixes = {str(t): p for t, p in PREFIXES.items()}
        self.document_names = tuple(f.attname for f in Document._meta.concrete_fields)
        self.line_names = tuple(f.attname for f in DocumentLine._meta.concrete_fields if not f.primary_key)
        if self.line_names[:2] != ("document_id", "position"):  # `make` and `_rounds` rely on it
            raise RuntimeError(f"DocumentLine's columns changed: {self.line_names}")
        document_fields = prebuilt._converted(Document, self.document_names)
        self._line_fields = prebuilt._converted(DocumentLine, self.line_names)
        blank = Document()
        self._base = [
            self._prepared(f, getattr(blank, name))
            for f, name in zip(document_fields, self.document_names, strict=True)
        ]
        at = {name: n for n, name in enumerate(self.document_names)}
        self._at = [at[name] for name in self.VARYING]
        self._fields = [document_fields[at[name]] for name in self.VARYING]
        self._parties: dict[int, dict[str, Any]] = {}
        self._variants: dict[tuple[int, int], tuple[dict[str, Any], dict[str, Any], list[Any]]] = {}
        self._totals: dict[tuple[tuple[int, int], ...], tuple[Any, ...]] = {}

    def _prepared(self, field: Any, value: Any) -> Any:
        if field is None or value is None:
            return value
        value = field.get_db_prep_save(value, self.connection)
        dumps = getattr(value, "dumps", None)
        if dumps is not None and hasattr(value, "obj"):  # psycopg's Jsonb: its JSON text (for COPY)
            return dumps(value.obj)
        return value

    def _variant(self, key: tuple[int, int]) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
        """A kind of line (LINES[k] with q more of it): as `services._parse_lines` makes it,
        its payload (`services._payload_line`) and its row's prepared values."""
        if key not in self._variants:
            money = self.money
            k, more = key
            index, description, quantity, unit, price = LINES[k]
            quantity_d = money.parse_amount(str(int(quantity) + more), allow_zero=False)
            price_d = money.parse_amount(price)
            line = {
                "activity": self.volume._activities[index % len(self.volume._activities)],
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
            values = {**line, "activity_id": line["activity"].pk, "document_id": 0, "position": 0}
            values.update(vat=None, total=None)
            row = [
                self._prepared(f, values[name])
                for f, name in zip(self._line_fields, self.line_names, strict=True)
            ]
            self._variants[key] = (line, self.payload_line(line), row)
        return self._variants[key]

    def _totals_of(self, keys: tuple[tuple[int, int], ...]) -> tuple[Any, ...]:
        """The sums of a combination of lines (`services._totals`), in the payload and prepared."""
        if keys not in self._totals:
            money = self.money
            groups, subtotal, vat = self.totals([self._variant(k)[0] for k in keys])
            total = money.bhd(subtotal + vat)
            subtotal_field, vat_field, total_field = self._fields[14:17]
            self._totals[keys] = (
                self._prepared(subtotal_field, subtotal),
                self._prepared(vat_field, vat),
                self._prepared(total_field, total),
                [g.as_payload() for g in groups],
                money.text(subtotal),
                money.text(vat),
                money.text(total),
                money.words(total),
                int((subtotal * 1000).to_integral_value()),
                [self._variant(k)[1] for k in keys],
            )
        return self._totals[keys]

    def make(
        self,
        pk: int,
        chain: Chain,
        moment: dt.datetime,
        rng: random.Random,
        documents: list[list[Any]],
        lines: list[list[Any]],
    ) -> None:
        """Append the next document of `chain` (id `pk`, issued at `moment`) and its lines."""
        quotation = rng.randrange(QUOTATION_SHARE) == 0
        type_ = str(self.quotation if quotation else self.invoice)
        local = moment.astimezone(self.zone)
        today = local.date()
        key = (type_, today.year)
        chain.numbers[key] = chain.numbers.get(key, 0) + 1
        chain.counter += 1
        previous = chain.last_hash or self.genesis
        number = f"{self.prefixes[type_]}-{today.year}-{chain.numbers[key]:06d}"
        if id(chain) in self.big and rng.randrange(self.share) == 0:
            customer = chain.customers[0]
        else:
            customer = rng.choice(chain.customers)
        party = self._parties.get(customer.pk)
        if party is None:
            party = self._parties[customer.pk] = self.party(customer)
        keys = tuple(
            ((chain.counter + k) % len(LINES), rng.randrange(3)) for k in range(1 + rng.randrange(3))
        )
        subtotal, vat, total, breakdown, subtotal_text, vat_text, total_text, words, fils, payload_lines = (
            self._totals_of(keys)
        )
        public_id = uuid.uuid4()
        valid_until = due_date = None
        extra: dict[str, Any]
        if quotation:
            valid_until = today + dt.timedelta(days=30)
            extra = {"valid_until": valid_until.isoformat()}
        else:
            extra = {"due_date": ""}
        payload = {
            "v": self.version,
            "site": self.site,
            "type": type_,
            "public_id": str(public_id),
            "number": number,
            "issued_at": local.isoformat(timespec="seconds"),
            "issue_date": today.isoformat(),
            "currency": "BHD",
            "issuer": chain.issuer,
            "customer": party,
            "lines": payload_lines,
            "vat_breakdown": breakdown,
            "subtotal": subtotal_text,
            "vat": vat_text,
            "total": total_text,
            "total_words": words,
            "references": {},
            **extra,
            "tamkeen_application_number": "",
            "chain": {"licence": chain.licence.number, "counter": chain.counter, "previous_hash": previous},
        }
        facts, signature = self.seal(payload, self.volume._kid, self.volume._key)
        chain.last_hash = facts.hash
        if not quotation:
            chain.turnover_fils[today.year] = chain.turnover_fils.get(today.year, 0) + fils
        varying = (
            pk,
            public_id,
            chain.licence.pk,
            type_,
            number,
            chain.counter,
            previous,
            facts.hash,
            signature,
            self.volume._kid,
            payload,
            moment,
            today,
            customer.pk,
            subtotal,  # the three sums: prepared already
            vat,
            total,
            chain.holder_id,
            valid_until,
            due_date,
        )
        row = list(self._base)
        for n, (at, column, value) in enumerate(zip(self._at, self._fields, varying, strict=True)):
            row[at] = value if 14 <= n <= 16 else self._prepared(column, value)
        documents.append(row)
        for position, k in enumerate(keys, start=1):
            row = list(self._variant(k)[2])
            row[0], row[1] = pk, position  # document_id, position: the first two columns
            lines.append(row)


def _rounds(
    maker: _Maker, plan: list[int], moments: list[dt.datetime], first_id: int, workers: int
) -> Iterator[tuple[list[list[Any]], list[list[Any]]]]:
    """The rows of `plan` (the n-th document: chain `plan[n]`, id `first_id + n`), a round of
    `ROUND` documents at a time, in id order; made here or by `workers` forked processes, the
    licence `c` by worker `c % workers` (each worker keeps its licences' chains between rounds
    and sends back where they ended)."""
    chains = maker.volume.chains
    if workers <= 1:
        rng = random.Random(maker.seed)
        for start in range(0, len(plan), ROUND):
            documents: list[list[Any]] = []
            lines: list[list[Any]] = []
            for n in range(start, min(start + ROUND, len(plan))):
                maker.make(first_id + n, chains[plan[n]], moments[n], rng, documents, lines)
            yield documents, lines
        return
    context = multiprocessing.get_context("fork")  # the workers inherit this process's state
    queues = [context.Queue(maxsize=2) for _ in range(workers)]
    processes = [
        context.Process(
            target=_work, args=(maker, plan, moments, first_id, g, workers, queues[g]), daemon=True
        )
        for g in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _start in range(0, len(plan), ROUND):
            documents, lines = [], []
            for q, process in zip(queues, processes, strict=True):
                more_documents, more_lines = _receive(q, process)
                documents += more_documents
                lines += more_lines
            documents.sort(key=lambda row: row[0])  # id
            lines.sort(key=lambda row: (row[0], row[1]))  # document, position
            yield documents, lines
        for q, process in zip(queues, processes, strict=True):
            ends, _ = _receive(q, process)
            for n, (counter, last_hash, numbers, turnover) in ends.items():
                chain = chains[n]
                chain.counter, chain.last_hash, chain.numbers, chain.turnover_fils = (
                    counter,
                    last_hash,
                    numbers,
                    turnover,
                )
            process.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()


def _work(
    maker: _Maker,
    plan: list[int],
    moments: list[dt.datetime],
    first_id: int,
    group: int,
    groups: int,
    out: Any,
) -> None:
    """A worker: the documents of the licences `c` with `c % groups == group`, round by round,
    then the ends of their chains. It never touches the database (its connection is the
    parent's, inherited): it only builds, seals and prepares values."""
    try:
        chains = maker.volume.chains
        rng = random.Random(maker.seed * 7919 + group)
        mine: set[int] = set()
        for start in range(0, len(plan), ROUND):
            documents: list[list[Any]] = []
            lines: list[list[Any]] = []
            for n in range(start, min(start + ROUND, len(plan))):
                c = plan[n]
                if c % groups == group:
                    maker.make(first_id + n, chains[c], moments[n], rng, documents, lines)
                    mine.add(c)
            out.put(("rows", documents, lines))
        ends = {
            c: (chains[c].counter, chains[c].last_hash, chains[c].numbers, chains[c].turnover_fils)
            for c in mine
        }
        out.put(("ends", ends, None))
    except BaseException:  # the parent raises it
        out.put(("error", traceback.format_exc(), None))


def _receive(q: Any, process: Any) -> tuple[Any, Any]:
    while True:
        try:
            kind, first, second = q.get(timeout=5)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(f"a volume worker stopped (exit code {process.exitcode})") from None
            continue
        if kind == "error":
            raise RuntimeError(f"a volume worker failed:\n{first}")
        return first, second


def _load(model: Any, names: tuple[str, ...], rows: list[list[Any]]) -> None:
    """Bulk-load prepared rows: `COPY ... FROM STDIN` on PostgreSQL; on SQLite one
    `executemany` of the issuing path's prebuilt one-row INSERT (`khutwa.prebuilt`)."""
    from django.db import connection

    from khutwa import prebuilt

    if not rows:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = ", ".join(quote(model._meta.get_field(name).column) for name in names)
            with cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(prebuilt.insert_sql(model, names, 1, False, connection.vendor), rows)


def _next_id(model: Any) -> int:
    """The first id of new rows (the generator is the only writer while it runs); the
    sequence is moved past them on PostgreSQL by `_sequence_past`."""
    from django.db.models import Max

    return int(model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def _sequence_past(model: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "  # noqa: S608
            f"(SELECT MAX(id) FROM {table}))"
        )


@contextmanager
def unsafe_bulk_load() -> Iterator[None]:
    """For a benchmark's throwaway SQLite database only, never the product's: no fsync and
    no rollback journal while the generator loads (a crash leaves the file unusable). Nothing
    on PostgreSQL (COPY is the fast path there)."""
    from django.db import connection

    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        journal = _pragma(cursor, "journal_mode")
        synchronous = _pragma(cursor, "synchronous")
        cache = _pragma(cursor, "cache_size")
        cursor.execute("PRAGMA journal_mode=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        # Index pages in memory: the unique indexes (public id, hash) are written at random places.
        cursor.execute("PRAGMA cache_size=-1048576")  # 1 GiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size={int(cache)}")
            cursor.execute(f"PRAGMA synchronous={int(synchronous)}")
            cursor.execute(f"PRAGMA journal_mode={journal}")


def _pragma(cursor: Any, name: str) -> Any:
    cursor.execute(f"PRAGMA {name}")
    return cursor.fetchone()[0]


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


__all__ = ["Volume", "unsafe_bulk_load"]
