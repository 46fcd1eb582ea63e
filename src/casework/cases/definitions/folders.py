"""Where case types are loaded from: the shipped examples, plus an installation's own.

`CASEWORK_CASETYPES_DIR` (a setting, optional) names a folder of the installation's case
types; they may add case types and newer versions of shipped ones.
"""

from __future__ import annotations

from pathlib import Path

from casework.cases.definitions.loading import SHIPPED_CASETYPES_DIR


def configured_folders() -> list[Path]:
    from django.conf import settings

    extra = settings.CASEWORK_CASETYPES_DIR
    folders = [SHIPPED_CASETYPES_DIR]
    if extra:
        folders.append(Path(extra))
    return folders
