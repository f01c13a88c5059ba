"""Run the benchmarks (make bench). Each prints ratios against a floor measured in the same run,
and writes its numbers under bench/results/.

    python -m bench [options]                  every benchmark, each in its own process
    python -m bench NAME [NAME …] [options]    the named ones: licensing, documents, pades, statistics,
                                               documents-volume,
                                               issuing-parallel (PostgreSQL only: not in "every")
    python -m bench NAME --help                a benchmark's own options

Options go to the benchmarks that take them: --applications to licensing; --invoices, --threads,
--renders, --variants to documents; --documents to pades; --cold to statistics; --applications,
--requests and --database-url to licensing and statistics, --requests and --database-url to
documents too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from bench import documents, documents_volume, issuing_parallel, licensing_pages, pades, statistics_pages

# The options of licensing_pages.main (its parser lives inside main).
LICENSING_OPTIONS = ("--applications", "--requests", "--database-url")


def _documents_takes(group: list[str]) -> bool:
    _known, unknown = documents.parser().parse_known_args(group)
    return not unknown


def _volume_takes(group: list[str]) -> bool:
    _known, unknown = documents_volume.parser().parse_known_args(group)
    return not unknown


BENCHMARKS: dict[str, tuple[Callable[[list[str]], int], Callable[[list[str]], bool]]] = {
    "licensing": (licensing_pages.main, lambda group: group[0].split("=")[0] in LICENSING_OPTIONS),
    "documents": (documents.main, _documents_takes),
    "documents-volume": (documents_volume.main, _volume_takes),
    "pades": (pades.main, lambda group: group[0].split("=")[0] == "--documents"),
    "statistics": (statistics_pages.main, lambda group: group[0].split("=")[0] in statistics_pages.OPTIONS),
    "issuing-parallel": (issuing_parallel.main, lambda group: group[0].split("=")[0] in PARALLEL_OPTIONS),
}
#: The options of issuing_parallel.
PARALLEL_OPTIONS = ("--processes", "--invoices", "--database-url", "--one-chain", "--with-sequencer")
#: What `python -m bench` runs without names: issuing-parallel needs a PostgreSQL server
#: (`make bench` runs it under scripts/with-postgres.sh).
EVERY = ("licensing", "documents", "pades", "statistics", "documents-volume")


def _groups(argv: list[str]) -> list[list[str]]:
    """Split options into groups of one option and its values."""
    groups: list[list[str]] = []
    for token in argv:
        if token.startswith("-") or not groups:
            groups.append([token])
        else:
            groups[-1].append(token)
    return groups


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names: list[str] = []
    while argv and not argv[0].startswith("-"):
        name = argv.pop(0)
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        names.append(name)
    if len(names) == 1:
        return BENCHMARKS[names[0]][0](argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    names = names or list(EVERY)
    routed: dict[str, list[str]] = {name: [] for name in names}
    for group in _groups(argv):
        takers = [name for name in names if BENCHMARKS[name][1](group)]
        if not takers:
            print(f"no benchmark run here takes {' '.join(group)!r}", file=sys.stderr)
            return 2
        for name in takers:
            routed[name].extend(group)
    # One process per benchmark: Django is set up once per process, on one throwaway database.
    for name in names:
        code = subprocess.run([sys.executable, "-m", "bench", name, *routed[name]], check=False).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
