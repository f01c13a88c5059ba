"""What long-term signatures cost: PAdES B-LTA (signature time-stamp from the platform's TSA
in process, CRL and certificates in the DSS, document time-stamp) against the B-B signature
it replaced, on the same rendered invoices.

For each of N invoices (5 lines, rendered once beforehand): the signing time and the file size
each way, interleaved, and the verification time each way. Medians are reported; the floor
is B-B.

    python -m bench pades [--documents 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

from bench.documents import extra_environment
from bench.harness import RESULTS, ROOT, environment, khutwa

TITLE = "pades: B-LTA signing (TSA, DSS, document time-stamp) against B-B, on the same invoices"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench pades",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--documents", type=int, default=20, help="invoices signed each way (median over them)")
    return p


def _setup(count: int) -> list[bytes]:
    """`count` unsigned PDF/A-3 invoices of 5 lines, as `document_pdf` renders them."""
    import django

    django.setup()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.licensing.factories import World

    from bench.documents import five_lines
    from khutwa.documents.pdf import document_pdf_unsigned
    from khutwa.documents.services import DocumentInput, customer_create, document_issue

    world = World()
    world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
    holder = world.applicant
    customer = customer_create(
        actor=holder, kind="individual", cpr="870303003", name_ar="يوسف إبراهيم", name_en="Yousif Ebrahim"
    )
    unsigned = []
    for _ in range(count):
        data = DocumentInput(type="invoice", customer=customer.pk, lines=five_lines())
        unsigned.append(document_pdf_unsigned(document_issue(actor=holder, data=data).document))
    return unsigned


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    with (
        environment() as env,
        extra_environment(
            {
                "KHUTWA_KEY_DIR": os.path.join(env["KHUTWA_VAR_DIR"], "keys"),
                "KHUTWA_KEY_PASSPHRASE": "bench-passphrase",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            }
        ),
    ):
        khutwa("migrate", "--noinput")
        unsigned = _setup(args.documents)
        from khutwa.documents.signing import key_store, pades_material, pdf_sign
        from khutwa.trust.pdf import pades_sign, pades_verify

        material = pades_material()
        roots = key_store().trust_roots()

        def bb(pdf: bytes) -> bytes:
            return pades_sign(
                pdf, key=material.key, certificate=material.certificate, chain=material.chain, reason="bench"
            )

        def lta(pdf: bytes) -> bytes:
            return pdf_sign(pdf, reason="bench")

        makers = {"B-B": bb, "B-LTA": lta}
        for make in makers.values():  # warm up: first-use costs (imports, caches, the TSA's dummy token)
            make(unsigned[0])
        sign_ms: dict[str, list[float]] = {name: [] for name in makers}
        verify_ms: dict[str, list[float]] = {name: [] for name in makers}
        sizes: dict[str, list[int]] = {name: [] for name in makers}
        for pdf in unsigned:
            for name, make in makers.items():
                started = time.perf_counter()
                signed = make(pdf)
                sign_ms[name].append((time.perf_counter() - started) * 1000)
                sizes[name].append(len(signed))
                started = time.perf_counter()
                result = pades_verify(signed, trust_roots=roots)
                verify_ms[name].append((time.perf_counter() - started) * 1000)
                assert result.ok, result.reasons
    unsigned_size = statistics.median(len(pdf) for pdf in unsigned)
    summary = {
        name: {
            "sign_median_ms": round(statistics.median(sign_ms[name]), 1),
            "verify_median_ms": round(statistics.median(verify_ms[name]), 1),
            "size_median_bytes": int(statistics.median(sizes[name])),
            "added_bytes_median": int(statistics.median(sizes[name]) - unsigned_size),
        }
        for name in makers
    }
    print(TITLE)
    print(f"  {args.documents} invoices, unsigned PDF/A-3 median {int(unsigned_size)} bytes")
    print(f"  {'':8}{'sign ms':>10}{'verify ms':>12}{'bytes':>10}{'added':>10}")
    for name, row in summary.items():
        print(
            f"  {name:<8}{row['sign_median_ms']:>10}{row['verify_median_ms']:>12}"
            f"{row['size_median_bytes']:>10}{row['added_bytes_median']:>10}"
        )
    floor, lta_row = summary["B-B"], summary["B-LTA"]
    print(
        f"  B-LTA / B-B: signing ×{lta_row['sign_median_ms'] / floor['sign_median_ms']:.1f}, "
        f"verifying ×{lta_row['verify_median_ms'] / floor['verify_median_ms']:.1f}, "
        f"+{lta_row['size_median_bytes'] - floor['size_median_bytes']} bytes"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "title": TITLE,
        "documents": args.documents,
        "unsigned_bytes": unsigned_size,
        **summary,
    }
    (RESULTS / "pades.json").write_text(json.dumps(result, indent=2))
    return 0


__all__ = ["main", "parser"]
