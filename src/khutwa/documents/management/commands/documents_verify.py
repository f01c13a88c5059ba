"""Walk every licence's chain of documents and name the first break of each.

    khutwa documents-verify [--licence KH-2026-000166]

Checks each document's seal, its link to the previous one, its stored rows against its sealed
payload, and the licence's counters; then the documents against the public log (every document
older than the maximum merge delay is in it, every document it logs is stored with the same
facts, the log's entries give its signed checkpoint: khutwa/tlog/checks.py). Exit status: 0 all
intact, 1 a chain is broken or the log disagrees, 2 no such licence. Also compares every invoice's
stored balance (credited, allocated, status: documents.balances) with the sums of its credit notes
and receipts.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from khutwa.documents import balances
from khutwa.documents.chains import chains_verify
from khutwa.documents.triggers import triggers_missing
from khutwa.tlog.checks import log_problems


class Command(BaseCommand):
    help = (
        "Check every licence's chain of documents (seals, links, stored rows, counters) and the public log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--licence", metavar="NUMBER", help="only this licence's chain")

    def handle(self, *args: Any, licence: str | None = None, **options: Any) -> None:
        missing = triggers_missing(connection) + balances.triggers_missing(connection)
        if missing:
            self.stderr.write(f"warning: triggers missing or disabled: {', '.join(missing)}")
        licences = documents = 0
        broken = 0
        for report in chains_verify(licence):
            licences += 1
            documents += report.checked
            if report.broken is None:
                if options["verbosity"] > 1:
                    self.stdout.write(f"{report.licence}: {report.checked} documents intact")
                continue
            broken += 1
            where = report.broken.number
            if report.broken.counter is not None:
                where += f" (counter {report.broken.counter})"
            self.stdout.write(f"{report.licence}: {where}: {'; '.join(report.broken.reasons)}")
        if licence is not None and licences == 0:
            raise CommandError(f"no licence {licence}", returncode=2)
        problems = log_problems(licence=licence)
        for problem in problems:
            self.stdout.write(problem)
        licence_id = None
        if licence is not None:
            from khutwa.licensing.models import Licence

            licence_id = Licence.objects.filter(number=licence).values_list("pk", flat=True).first()
        unbalanced = balances.balances_problems(licence_id) if licence is None or licence_id else []
        for line in unbalanced:
            self.stdout.write(line)
        if broken:
            raise CommandError(f"{broken} of {licences} licence chains broken")
        if unbalanced:
            raise CommandError(f"{len(unbalanced)} invoice balances differ from their documents")
        if problems:
            raise CommandError(f"{len(problems)} problems between the documents and the public log")
        self.stdout.write(
            self.style.SUCCESS(f"documents intact: {documents} documents of {licences} licences checked")
        )
