from typing import Any

from django.core.management.base import BaseCommand, CommandError

from khutwa.audit.services import audit_verify_chains


class Command(BaseCommand):
    help = (
        "Check every chain of the audit log, and the chains' heads anchored in the public "
        "transparency log; name the first broken link of each chain."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from khutwa.tlog.checks import audit_anchor_problems

        checked, breaks = audit_verify_chains()
        for broken in breaks:
            self.stderr.write(f"audit chain {broken.chain} broken at #{broken.seq}: {broken.reason}")
        # The anchors in the log hold even where the local head and anchor rows were rewound.
        anchored = audit_anchor_problems()
        for problem in anchored:
            self.stderr.write(problem)
        if breaks:
            first = breaks[0]
            raise CommandError(
                f"{len(breaks)} audit chain(s) broken; first: chain {first.chain} at #{first.seq}:"
                f" {first.reason}"
            )
        if anchored:
            raise CommandError(
                f"{len(anchored)} audit chain(s) disagree with the public log; first: {anchored[0]}"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chains intact: {checked} events checked"))
