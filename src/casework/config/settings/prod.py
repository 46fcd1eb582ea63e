"""Production: refuses to start with the demo secret or with debug pages on."""

from django.core.exceptions import ImproperlyConfigured

from casework.config.settings.base import *  # noqa: F403
from casework.config.settings.base import DEBUG, DEMO_SECRET_KEY, SECRET_KEY

CASEWORK_MODE = "production"

if SECRET_KEY == DEMO_SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "Production mode needs CASEWORK_SECRET_KEY set to a private value of at least "
        "32 characters; the demo secret is public."
    )
if DEBUG:
    raise ImproperlyConfigured("CASEWORK_DEBUG=1 is not allowed in production mode.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
