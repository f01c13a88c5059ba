"""Reading a PDF that anyone may send (the public upload, ``khutwa verify FILE``) in a child
process with limits, so that a crafted file cannot hold, crash or exhaust the process that
serves the page.

The child is forked from a small server process (multiprocessing's ``forkserver``, which has
imported only this module and pyHanko), so it starts in milliseconds and shares nothing with
the web worker (no database connection, no threads). It gets:

- a wall-clock limit (``TIME_LIMIT``, 5 s; the parent kills it) and a CPU limit a second
  longer (``RLIMIT_CPU``: the kernel stops it even if the parent is gone);
- an address-space limit (``MEMORY_LIMIT``, 256 MB, ``RLIMIT_AS``): an allocation beyond it
  fails in the child;
- a limit on what the file's compressed (Flate) streams unpack to (``INFLATED_LIMIT``,
  64 MB), measured before the PDF is parsed, so that a small file that unpacks to gigabytes is
  refused without being unpacked.

Any failure (the limits, a file that cannot be read as a PDF at all, a child that dies) raises
`Uncheckable` with a `kind` the caller turns into a sentence in its user's language. Pure
Python: no Django here.
"""

from __future__ import annotations

import multiprocessing
import re
import resource
import zlib
from dataclasses import dataclass
from typing import Any

from khutwa.trust.pdf import PdfSignatureResult

TIME_LIMIT = 5.0
MEMORY_LIMIT = 256 * 1024 * 1024
INFLATED_LIMIT = 64 * 1024 * 1024
PAYLOAD_NAME = "khutwa-document.json"

# What can go wrong, for the caller's message.
TIMEOUT = "timeout"
MEMORY = "memory"
INFLATED = "inflated"
UNREADABLE = "unreadable"
CRASHED = "crashed"

_STREAM = re.compile(rb"stream\r?\n")


class Uncheckable(Exception):
    """The PDF cannot be checked; `kind` says why (one of the constants above)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class PdfReading:
    """What the child found: the signatures' verdict and the embedded Khutwa payload."""

    signature: PdfSignatureResult
    payload: bytes | None


def inflated_size(pdf: bytes, *, limit: int) -> int:
    """What the Flate streams of `pdf` unpack to, counted up to `limit` + 1 (then it stops):
    every ``stream`` keyword is tried, whatever the cross-reference table says."""
    total = 0
    view = memoryview(pdf)
    for match in _STREAM.finditer(pdf):
        inflater = zlib.decompressobj()
        data = view[match.end() :]
        try:
            # Unpack piecewise so that one stream never takes more than the budget left.
            chunk = inflater.decompress(data, limit + 1 - total)
            total += len(chunk)
            while inflater.unconsumed_tail and total <= limit:
                chunk = inflater.decompress(inflater.unconsumed_tail, limit + 1 - total)
                if not chunk:
                    break
                total += len(chunk)
        except zlib.error:
            continue  # not a Flate stream (or not a stream at all): pyHanko sees to the rest
        if total > limit:
            break
    return total


def _read(
    pdf: bytes, roots: list[bytes], tsa_roots: list[bytes], crls: list[bytes], inflated_limit: int
) -> PdfReading:
    from io import BytesIO

    from cryptography import x509
    from pyhanko.pdf_utils.reader import PdfFileReader

    from khutwa.trust.pdf import pades_verify, pdf_attachment

    if inflated_size(pdf, limit=inflated_limit) > inflated_limit:
        raise Uncheckable(INFLATED)
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        reader.root  # noqa: B018 - reading the catalogue is the test
    except Exception as exc:  # any parser error: the file is not a readable PDF
        raise Uncheckable(UNREADABLE, str(exc)[:200]) from None
    signature = pades_verify(
        pdf,
        trust_roots=[x509.load_der_x509_certificate(der) for der in roots],
        tsa_roots=[x509.load_der_x509_certificate(der) for der in tsa_roots],
        crls=[x509.load_der_x509_crl(der) for der in crls],
    )
    return PdfReading(signature, pdf_attachment(pdf, PAYLOAD_NAME))


def _child(connection: Any, memory: int, seconds: float, *args: Any) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        outcome: tuple[str, Any] = ("ok", _read(*args))
    except Uncheckable as exc:
        outcome = ("uncheckable", (exc.kind, exc.detail))
    except MemoryError:
        outcome = ("uncheckable", (MEMORY, ""))
    except RecursionError:
        outcome = ("uncheckable", (UNREADABLE, "nested too deeply"))
    except BaseException as exc:
        outcome = ("uncheckable", (UNREADABLE, f"{type(exc).__name__}: {str(exc)[:200]}"))
    try:
        connection.send(outcome)
    except MemoryError:  # pragma: no cover - too little memory left even to answer
        connection.send(("uncheckable", (MEMORY, "")))
    connection.close()


_context: Any = None


def _mp() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        # pyHanko too (`khutwa.trust.pdf` loads it on first use): imported once in the server,
        # not in each child within its time limit.
        _context.set_forkserver_preload(["khutwa.trust.sandbox", "khutwa.trust.pades"])
    return _context


def read_pdf(
    pdf: bytes,
    *,
    trust_roots: list[bytes],
    tsa_roots: list[bytes] | None = None,
    crls: list[bytes] | None = None,
    time_limit: float = TIME_LIMIT,
    memory_limit: int = MEMORY_LIMIT,
    inflated_limit: int = INFLATED_LIMIT,
) -> PdfReading:
    """Check the PDF's signatures (`pades_verify`) and read its Khutwa payload in a child
    process within the limits. Certificates and CRLs are given as DER. Raises `Uncheckable`."""
    if not pdf.lstrip()[:5].startswith(b"%PDF"):
        raise Uncheckable(UNREADABLE, "not a PDF")
    context = _mp()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child,
        args=(
            sender,
            memory_limit,
            time_limit,
            pdf,
            trust_roots,
            tsa_roots or [],
            crls or [],
            inflated_limit,
        ),
        daemon=True,
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(time_limit):
            raise Uncheckable(TIMEOUT)
        try:
            status, value = receiver.recv()
        except (EOFError, OSError):
            # The child died without answering: killed by a limit or crashed by the file.
            process.join(1)
            raise Uncheckable(CRASHED, f"exit status {process.exitcode}") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(1)
        receiver.close()
    if status == "ok":
        result: PdfReading = value
        return result
    raise Uncheckable(*value)
