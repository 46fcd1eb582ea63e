"""Settings shared by every mode. Each value comes from a `CASEWORK_` environment variable
with a default that is safe for the demo; `prod.py` tightens what production needs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from casework.config.database import database_from_url, sqlite_sibling

PACKAGE_DIR = Path(__file__).resolve().parents[2]

# Where the SQLite database, attachments and other local state live.
CASEWORK_DATA_DIR = Path(os.environ.get("CASEWORK_DATA_DIR", "var")).resolve()

# Signs sessions and tokens. The demo value is public; prod.py refuses it.
DEMO_SECRET_KEY = "casework-demo-secret-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("CASEWORK_SECRET_KEY", DEMO_SECRET_KEY)

# Detailed error pages; never on in production.
DEBUG = os.environ.get("CASEWORK_DEBUG", "0") == "1"

# Host names this installation answers to, comma-separated.
ALLOWED_HOSTS = os.environ.get("CASEWORK_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

# The database: SQLite in the data directory unless a URL says otherwise.
DATABASES = {
    "default": database_from_url(
        os.environ.get("CASEWORK_DATABASE_URL") or "sqlite:///casework.sqlite3",
        base_dir=CASEWORK_DATA_DIR,
    )
}
# On SQLite the intake queue has a file of its own: accepting a message (one INSERT) must
# not wait for the worker's ingesting transactions, which hold the main file's only write
# lock (docs/adr/0014). On PostgreSQL the queue stays in the one database.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["intake_queue"] = sqlite_sibling(DATABASES["default"], "queue")
DATABASE_ROUTERS = ["casework.intake.dbrouter.QueueDatabaseRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Largest request body the API accepts, in bytes (413 above it).
CASEWORK_MAX_REQUEST_BYTES = int(os.environ.get("CASEWORK_MAX_REQUEST_BYTES", str(5 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = CASEWORK_MAX_REQUEST_BYTES

# Largest single attachment, in bytes.
# Scanned response cards come as many-page files: their upload paths take this much.
CASEWORK_MAX_SCAN_BYTES = int(os.environ.get("CASEWORK_MAX_SCAN_BYTES", str(50 * 1024 * 1024)))
CASEWORK_MAX_ATTACHMENT_BYTES = int(
    os.environ.get("CASEWORK_MAX_ATTACHMENT_BYTES", str(10 * 1024 * 1024))
)

# Largest e-mail the SMTP server accepts, in bytes (552 above it).
CASEWORK_MAX_EMAIL_BYTES = int(os.environ.get("CASEWORK_MAX_EMAIL_BYTES", str(25 * 1024 * 1024)))

# Outgoing mail: an SMTP relay (host:port), or "maildir:PATH" to keep every outgoing mail
# as a file in a local maildir (the demo's sink) instead of sending it.
CASEWORK_SMTP_RELAY = os.environ.get(
    "CASEWORK_SMTP_RELAY", "maildir:" + str(CASEWORK_DATA_DIR / "outbox")
)
CASEWORK_SMTP_USER = os.environ.get("CASEWORK_SMTP_USER", "")  # login at the relay, if any
CASEWORK_SMTP_PASSWORD = os.environ.get("CASEWORK_SMTP_PASSWORD", "")
CASEWORK_SMTP_STARTTLS = os.environ.get("CASEWORK_SMTP_STARTTLS", "0") == "1"
# Attempts before an outgoing mail is given up (it stays listed as failed).
CASEWORK_SMTP_MAX_ATTEMPTS = int(os.environ.get("CASEWORK_SMTP_MAX_ATTEMPTS", "8"))

# What `casework worker` does on each pass, in order: functions returning how much they did.
CASEWORK_BACKGROUND_JOBS = [
    "casework.events.webhooks.run_once",
    "casework.retention.campaigns.send_due",
    "casework.channels.email.outbound.send_due",
    "casework.channels.email.imap.poll_due",
    "casework.retention.queue.run_once",
    "casework.kernel.jobs.run_due",
    "casework.intake.queue.run_once",
    "casework.analytics.aggregation.run_once",
    "casework.kernel.realtime.prune",
    "casework.classify.schedule.enqueue_due",
]

# Real-time signals to browsers (chat, agents' offers). Unset: the embedded way, through a
# database table every web process polls this often; set (redis://host:6379/0): Redis
# carries them, for several machines.
CASEWORK_REDIS_URL = os.environ.get("CASEWORK_REDIS_URL", "")
CASEWORK_REALTIME_POLL_SECONDS = float(os.environ.get("CASEWORK_REALTIME_POLL_SECONDS", "0.02"))
# Retraining the classifiers with agents' corrections, daily from this local time ("03:00");
# empty: only by `casework classify retrain`.
CASEWORK_CLASSIFY_RETRAIN_AT = os.environ.get("CASEWORK_CLASSIFY_RETRAIN_AT", "03:00")
# The phone channel: how old a CTI request's signature may be (older is taken for a replay),
# and after how long a call answered but never reported ended is closed (its agent freed).
CASEWORK_CTI_SIGNATURE_TOLERANCE_SECONDS = int(
    os.environ.get("CASEWORK_CTI_SIGNATURE_TOLERANCE_SECONDS", "300")
)
CASEWORK_PHONE_MAX_CALL_SECONDS = int(os.environ.get("CASEWORK_PHONE_MAX_CALL_SECONDS", "14400"))
# Which router the channels ask: "embedded" (the transactional router, in every process) or
# "process" (the in-memory engine in `casework router`, asked over loopback; see
# docs/routing-process.md).
CASEWORK_ROUTER = os.environ.get("CASEWORK_ROUTER", "embedded")
if CASEWORK_ROUTER not in ("embedded", "process"):
    raise ImproperlyConfigured(
        f"CASEWORK_ROUTER is 'embedded' or 'process', not {CASEWORK_ROUTER!r}"
    )
# How long the retention response page waits for the worker to decide the answer before it
# tells the customer that the confirmation follows by e-mail (ADR 18).
CASEWORK_RETENTION_PAGE_WAIT_SECONDS = float(
    os.environ.get("CASEWORK_RETENTION_PAGE_WAIT_SECONDS", "2")
)
# A callback asked for without a time window is due from now for this long.
CASEWORK_CALLBACK_WINDOW_MINUTES = int(os.environ.get("CASEWORK_CALLBACK_WINDOW_MINUTES", "120"))
# The queue whose agents make the callbacks customers book in the portal.
CASEWORK_CALLBACK_QUEUE = os.environ.get("CASEWORK_CALLBACK_QUEUE", "service")
# The chat: new chats one client address may start a minute, messages a visitor may send a
# minute, seconds a handed-over chat waits for an agent before the bot offers a callback or
# e-mail, answers in a row the bot may fail to understand before it hands over, and the key
# the website signs a known customer's identity with for the widget (unset: derived from
# the secret key).
CASEWORK_CHAT_MESSAGES_PER_MINUTE = int(os.environ.get("CASEWORK_CHAT_MESSAGES_PER_MINUTE", "20"))
CASEWORK_CHAT_STARTS_PER_MINUTE = int(os.environ.get("CASEWORK_CHAT_STARTS_PER_MINUTE", "10"))
CASEWORK_CHAT_AGENT_WAIT_SECONDS = int(os.environ.get("CASEWORK_CHAT_AGENT_WAIT_SECONDS", "90"))
CASEWORK_CHAT_MISUNDERSTOOD_LIMIT = int(os.environ.get("CASEWORK_CHAT_MISUNDERSTOOD_LIMIT", "2"))
CASEWORK_CHAT_IDENTITY_KEY = os.environ.get("CASEWORK_CHAT_IDENTITY_KEY", "")
# The customer portal: how long a mailed sign-in link works, sign-in attempts allowed per
# address and per client address within the window, and the documents a customer uploads.
CASEWORK_PORTAL_LINK_MINUTES = int(os.environ.get("CASEWORK_PORTAL_LINK_MINUTES", "15"))
CASEWORK_PORTAL_SIGN_IN_LIMIT = int(os.environ.get("CASEWORK_PORTAL_SIGN_IN_LIMIT", "5"))
CASEWORK_PORTAL_SIGN_IN_WINDOW_MINUTES = int(
    os.environ.get("CASEWORK_PORTAL_SIGN_IN_WINDOW_MINUTES", "15")
)
CASEWORK_PORTAL_MAX_UPLOAD_BYTES = int(
    os.environ.get("CASEWORK_PORTAL_MAX_UPLOAD_BYTES", str(4 * 1024 * 1024))
)
CASEWORK_PORTAL_MAX_FILES = int(os.environ.get("CASEWORK_PORTAL_MAX_FILES", "5"))
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # The layer's blocking reads wait 5 s: a socket timeout as long would race
                # them; a thousand sockets need more than the client's 100 connections.
                "hosts": [
                    {"address": CASEWORK_REDIS_URL, "socket_timeout": None, "max_connections": 2000}
                ],
                "capacity": 1000,
                "expiry": 60,
            },
        }
        if CASEWORK_REDIS_URL
        else {
            "BACKEND": "casework.kernel.channel_layer.LocalChannelLayer",
            "CONFIG": {"capacity": 1000},
        }
    )
}

# The case engine: business hours for SLAs and due dates (weekday ranges → hh:mm-hh:mm), the
# federal state whose public holidays close the business, the installation's own case
# types beside the shipped ones, and whether integrations may call internal addresses.
CASEWORK_BUSINESS_HOURS = json.loads(
    os.environ.get("CASEWORK_BUSINESS_HOURS", '{"mon-fri": "08:00-18:00"}')
)
CASEWORK_FEDERAL_STATE = os.environ.get("CASEWORK_FEDERAL_STATE", "NW")
CASEWORK_CASETYPES_DIR = os.environ.get("CASEWORK_CASETYPES_DIR") or None
CASEWORK_INTEGRATIONS_ALLOW_PRIVATE = (
    os.environ.get("CASEWORK_INTEGRATIONS_ALLOW_PRIVATE", "0") == "1"
)
# {"https://billing.example.invalid": "https://billing.internal.example"}: address prefixes
# named in case types → the installation's own.
CASEWORK_INTEGRATION_ENDPOINTS = json.loads(os.environ.get("CASEWORK_INTEGRATION_ENDPOINTS", "{}"))

# Where customers reach this installation from outside: links and QR codes in campaign
# e-mails and letters point here.
CASEWORK_PUBLIC_URL = os.environ.get("CASEWORK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Signs the personal response codes of campaigns (unset: derived from the secret key).
# Changing it makes every code already sent invalid.
CASEWORK_RESPONSE_CODE_KEY = os.environ.get("CASEWORK_RESPONSE_CODE_KEY", "")

# Encrypts secrets kept in the database (IMAP passwords); a Fernet key
# (`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
# Unset: derived from the secret key.
CASEWORK_ENCRYPTION_KEY = os.environ.get("CASEWORK_ENCRYPTION_KEY", "")

# Classifier tasks run on every new inbound message (those with an active model), and
# the queue where a new case goes when one of them is unsure (unset: no triage queue).
CASEWORK_CLASSIFY_TASKS = os.environ.get(
    "CASEWORK_CLASSIFY_TASKS", "service_type,topic,language,urgency,sentiment"
).split(",")
CASEWORK_TRIAGE_QUEUE = os.environ.get("CASEWORK_TRIAGE_QUEUE") or None

# Timeline entries per page in the 360 view.
CASEWORK_TIMELINE_PAGE_SIZE = int(os.environ.get("CASEWORK_TIMELINE_PAGE_SIZE", "25"))

# Webhook delivery: attempts before giving up, and the first retry delay in seconds.
CASEWORK_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("CASEWORK_WEBHOOK_MAX_ATTEMPTS", "8"))
CASEWORK_WEBHOOK_RETRY_SECONDS = int(os.environ.get("CASEWORK_WEBHOOK_RETRY_SECONDS", "30"))
CASEWORK_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("CASEWORK_WEBHOOK_TIMEOUT_SECONDS", "10"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "casework.kernel",
    "casework.events",
    "casework.routing",
    "casework.customers",
    "casework.cases",
    "casework.interactions",
    "casework.intake",
    "casework.classify",
    "casework.knowledge",
    "casework.analytics",
    "casework.channels.email",
    "casework.channels.phone",
    "casework.partners",
    "casework.offers",
    "casework.retention",
    "casework.portal",
    "casework.chat",
    "casework.api",
    "casework.web",
    "casework.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "casework.api.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Requests under /api/ (bearer tokens, JSON): the security headers, the size limit and the
# language from Accept-Language; nothing of sessions, CSRF or messages (config/handlers.py).
CASEWORK_API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "casework.api.middleware.RequestSizeLimitMiddleware",
    "django.middleware.locale.LocaleMiddleware",
]

ROOT_URLCONF = "casework.config.urls"
ASGI_APPLICATION = "casework.config.asgi.application"
WSGI_APPLICATION = "casework.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "casework.web.context.navigation",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:my_work"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = os.environ.get("CASEWORK_LANGUAGE", "de")
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("CASEWORK_TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Only for `collectstatic` in deployments that serve files from a web server.
STATIC_ROOT = os.environ.get("CASEWORK_STATIC_ROOT") or None
# Serve straight from the app folders: no collectstatic step before the demo starts.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = CASEWORK_DATA_DIR / "files"

SESSION_COOKIE_HTTPONLY = True
# htmx sends the token from the page (hx-headers), so scripts never need the cookie.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CASEWORK_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # aiosmtpd logs every connection at INFO.
        "mail.log": {"level": "WARNING"},
    },
}
