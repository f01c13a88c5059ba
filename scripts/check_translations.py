"""Fail when a .po file has untranslated or fuzzy entries, listing them."""

from __future__ import annotations

import sys

import polib


def main(paths: list[str]) -> int:
    problems = 0
    for path in paths:
        catalog = polib.pofile(path)
        for entry in catalog.untranslated_entries():
            print(f"{path}: untranslated: {entry.msgid!r}")
            problems += 1
        for entry in catalog.fuzzy_entries():
            print(f"{path}: fuzzy: {entry.msgid!r}")
            problems += 1
        print(f"{path}: {len(catalog.translated_entries())} translated, {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
