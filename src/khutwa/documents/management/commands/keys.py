"""The platform's keys and certificates.

khutwa keys init            create what is missing (and complete an older store)
khutwa keys rotate          a new active Ed25519 key; the old ones stay published as retired
khutwa keys renew [--root]  new document-signing and TSA certificates now (--root: a new root
                            CA first, which issues them; the old roots stay trusted)
khutwa keys check [--renew] each certificate's dates; exit status 1 and a warning when one
                            must be replaced within 60 days (run it daily); --renew replaces
                            what is due, then exits 0 if nothing is left due
khutwa keys revoke SERIAL [--reason R]   put a certificate on its root's CRL
khutwa keys list | jwks
"""

import datetime as dt
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from khutwa.documents.signing import cache_clear, key_store
from khutwa.trust.keys import RENEW_BEFORE, REVOCATION_REASONS, CertificateStatus, KeyStore, KeyStoreError


class Command(BaseCommand):
    help = (
        "The platform's signing keys (encrypted at rest with KHUTWA_KEY_PASSPHRASE): "
        "init creates the Ed25519 key, the platform CA, its CRL and the PDF-signing and time-stamping "
        "certificates; rotate makes a new Ed25519 key active (old ones stay published as retired); "
        "renew issues new certificates; check (daily) warns 60 days before one must be replaced; "
        "revoke puts a certificate on the CRL; list shows the Ed25519 keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["init", "rotate", "renew", "check", "revoke", "list", "jwks"])
        parser.add_argument("serial", nargs="?", help="revoke: the certificate's serial number (hex)")
        parser.add_argument("--root", action="store_true", help="renew: roll the root CA over first")
        parser.add_argument("--renew", action="store_true", help="check: renew what is due")
        parser.add_argument(
            "--reason", default="unspecified", choices=sorted(REVOCATION_REASONS), help="revoke: CRL reason"
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        store = key_store()
        try:
            if action == "init":
                created = store.init()
                self.stdout.write("keys created" if created else "keys already present; nothing changed")
            elif action == "rotate":
                store.init()
                kid = store.rotate()
                cache_clear()
                self.stdout.write(f"new active key {kid}")
            elif action == "renew":
                store.init()
                renewed = store.renew(root=options["root"])
                cache_clear()
                self.stdout.write("renewed: " + ", ".join(_LABELS[role] for role in renewed))
                self._report(store)
                return
            elif action == "check":
                store.init()
                self._check(store, renew=options["renew"])
                return
            elif action == "revoke":
                self._revoke(store, options["serial"], options["reason"])
                return
            elif action == "jwks":
                self.stdout.write(json.dumps(store.jwks(), indent=2))
                return
            for info in store.list():
                self.stdout.write(f"{info.kid}  {info.status:<8}  {info.created_at.isoformat()}")
        except KeyStoreError as exc:
            raise CommandError(str(exc)) from None

    def _report(self, store: KeyStore) -> list[CertificateStatus]:
        statuses = store.check()
        for status in statuses:
            self.stdout.write(
                f"{status.label:<29} serial {status.serial:x}  valid {_day(status.not_before)} to "
                f"{_day(status.not_after)}  replace by {_day(status.renew_by)}"
                + ("  DUE" if status.due else "")
            )
        for crl in store.crls():
            self.stdout.write(
                f"CRL of {crl.issuer.rfc4514_string()}: next update {_day(crl.next_update_utc)}"
                if crl.next_update_utc
                else f"CRL of {crl.issuer.rfc4514_string()}"
            )
        return statuses

    def _check(self, store: KeyStore, *, renew: bool) -> None:
        if renew:
            renewed = store.renew_due()
            cache_clear()
            if renewed:
                self.stdout.write("renewed: " + ", ".join(_LABELS[role] for role in renewed))
        due = [status for status in self._report(store) if status.due]
        if not due:
            self.stdout.write(f"OK: nothing to replace within {RENEW_BEFORE.days} days")
            return
        for status in due:
            left = (status.renew_by - dt.datetime.now(dt.UTC)).days
            when = f"in {left} days" if left >= 0 else f"{-left} days ago"
            self.stderr.write(
                f"WARNING: the {status.label} must be replaced by {_day(status.renew_by)} ({when}). "
                + (
                    "Run `khutwa keys check --renew` (a root rollover: publish the new JWKS)."
                    if status.role == "root"
                    else "Run `khutwa keys check --renew` or `khutwa keys renew`."
                )
            )
        sys.exit(1)

    def _revoke(self, store: KeyStore, serial: str | None, reason: str) -> None:
        if not serial:
            raise CommandError("give the serial number (hex) of the certificate to revoke")
        try:
            number = int(serial.lower().removeprefix("0x"), 16)
        except ValueError:
            raise CommandError(f"not a hexadecimal serial number: {serial!r}") from None
        store.revoke(number, reason)
        cache_clear()
        self.stdout.write(f"revoked {number:x} ({reason}); the CRL was re-issued")
        current = {status.serial for status in store.check() if status.role != "root"}
        if number in current:
            self.stderr.write("WARNING: that is a certificate in use: run `khutwa keys renew` now.")


_LABELS = {
    "root": "root CA",
    "document_signing": "document-signing certificate",
    "tsa": "time-stamping certificate",
}


def _day(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d")
