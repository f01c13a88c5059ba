from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from khutwa.accounts.demo import DEMO_ACCOUNTS, demo_accounts
from khutwa.documents.demo import demo_documents
from khutwa.licensing.demo import demo_licensing
from khutwa.support.demo import demo_support
from khutwa.tlog.services import sequence_all


class Command(BaseCommand):
    help = "Load deterministic demo data (idempotent). Passwords from KHUTWA_DEMO_PASSWORD."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            # Demo accounts share one known password: never on a production site.
            raise CommandError(
                "khutwa demo refuses to run when KHUTWA_ENV=production: it creates accounts with a "
                "known password. Serve without demo data (make serve)."
            )
        password = settings.KHUTWA_DEMO_PASSWORD
        demo_accounts(password=password)
        created = demo_licensing()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data loaded. Demo accounts (password from KHUTWA_DEMO_PASSWORD, default khutwa-demo):"
            )
        )
        for spec in DEMO_ACCOUNTS:
            self.stdout.write(f"  {spec.username:<24} {', '.join(spec.roles)}")
        if any(created.values()):
            self.stdout.write(
                "Licensing: created {applications} applications ({transitions} status changes), "
                "{reviews} reviews ({inspections} inspections, {info_requests} information requests), "
                "{licences} licences ({licence_events} licence events).".format(**created)
            )
        else:
            self.stdout.write("Licensing: demo data already present; nothing created.")
        documents = demo_documents()
        support = demo_support()
        if documents["documents"]:
            self.stdout.write(
                "Documents: {customers} customers of holder, {documents} signed documents.".format(
                    **documents
                )
            )
        if support["programmes"]:
            self.stdout.write(
                "Support: {programmes} programmes, {applications} applications.".format(**support)
            )
        # The demo's documents and licence events are in the public log at once (the sequencer
        # would add them within a second of its start).
        logged = sequence_all()
        if logged:
            self.stdout.write(f"Public log: {logged} entries appended and a checkpoint signed.")
