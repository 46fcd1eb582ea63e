"""`gettext` for the pure rule and definition modules.

They must run without Django settings (a definition checker, the unit tests), so this
falls back to the English source text when Django is not configured (or not yet set
up). `makemessages` still extracts the strings, because callers import it as `_`.
"""

from __future__ import annotations


def gettext(message: str) -> str:
    from django.apps import apps
    from django.conf import settings

    # Django translates only once its apps are loaded; before that, the source text.
    if not settings.configured or not apps.ready:
        return message
    from django.utils.translation import gettext as django_gettext

    return django_gettext(message)
