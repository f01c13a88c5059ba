"""Run every benchmark: `python -m bench` (make bench). Each prints ratios against a floor
measured in the same run, and writes its numbers under bench/results/."""

from __future__ import annotations

import sys

from bench import licensing_pages


def main() -> int:
    return licensing_pages.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
