"""The `casework` command: operator tasks as subcommands (Django management underneath)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE",
        "casework.config.settings.prod"
        if os.environ.get("CASEWORK_MODE") == "production"
        else "casework.config.settings.demo",
    )
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["casework", *args])


if __name__ == "__main__":
    main()
