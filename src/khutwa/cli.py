"""The `khutwa` command: Django's management commands under one name.

`khutwa demo`, `khutwa audit-verify`, `khutwa migrate`... Dashes are accepted in place of
underscores so that `khutwa audit-verify` runs the `audit_verify` command.
"""

from __future__ import annotations

import os
import sys

from khutwa.config.files import restrict_umask


def main(argv: list[str] | None = None) -> None:
    restrict_umask()  # before anything writes a file (config/files.py)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "khutwa.config.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    args[0] = "khutwa"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
