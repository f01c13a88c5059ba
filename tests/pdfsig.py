"""poppler's `pdfsig`, an independent check of PDF signatures, read signature by signature."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PdfsigEntry:
    """One `Signature #n:` block of pdfsig's report."""

    text: str

    @property
    def valid(self) -> bool:
        return "Signature Validation: Signature is Valid." in self.text

    @property
    def covers_whole_file(self) -> bool:
        return "Total document signed" in self.text and "Not total document signed" not in self.text

    def field(self, name: str) -> str:
        for line in self.text.splitlines():
            key, _, value = line.strip().removeprefix("- ").partition(": ")
            if key == name:
                return value
        return ""


def pdfsig(pdf: bytes, tmp_path: Path, name: str = "pdfsig.pdf") -> tuple[int, str, list[PdfsigEntry]]:
    """(exit status, whole output, one entry per signature or time-stamp, in file order)."""
    tool = shutil.which("pdfsig")
    assert tool, "pdfsig (poppler-utils) is needed to check PDF signatures independently"
    path = tmp_path / name
    path.write_bytes(pdf)
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    output = done.stdout + done.stderr
    blocks = output.split("Signature #")[1:]
    return done.returncode, output, [PdfsigEntry(block) for block in blocks]
