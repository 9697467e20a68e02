"""All settings, read from the environment (see README "Configuration")."""

from pathlib import Path

import dj_database_url
import django
from celery.schedules import crontab
from cryptography.fernet import Fernet
from kombu import Queue

from config.env import env_bool, env_int, env_list, env_str, local_secret

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = env_bool("DEBUG", False)

# Unset secrets fall back to ones generated under .data/ (development only); a deploy check flags it.
SECRET_KEY = env_str("SECRET_KEY") or local_secret(DATA_DIR, "secret-key")
SECRET_KEY_IS_LOCAL = not env_str("SECRET_KEY")
# Fernet keys for personal data at rest; a comma-separated list rotates (first encrypts, all decrypt).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY") or [
    local_secret(DATA_DIR, "field-encryption-key", lambda: Fernet.generate_key().decode())
]
FIELD_ENCRYPTION_KEY_IS_LOCAL = not env_str("FIELD_ENCRYPTION_KEY")
# Key of the HMAC that lets ID numbers and phones be looked up exactly without decrypting them. Unlike the
# encryption keys it cannot rotate without rehashing, so it is a separate secret.
FIELD_HASH_KEY = env_str("FIELD_HASH_KEY") or local_secret(DATA_DIR, "field-hash-key")
FIELD_HASH_KEY_IS_LOCAL = not env_str("FIELD_HASH_KEY")

# Reverse proxies in front of the app that append to X-Forwarded-For (0: the app faces clients directly).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The chain: production → sale → repair → recycling, with alerts and reports across.
    "core",
    "catalog",
    "vehicles",
    "dealers",
    "repairs",
    "recycling",
    "alerts",
    "reports",
    "supervision",
    "charging",
    "feeds",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LanguageMiddleware",
    "core.middleware.RejectNulBytesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]


def _database_url() -> str:
    url = env_str("DATABASE_URL")
    if url:
        return url
    from devstack import embedded  # started only on a machine with no database configured

    return embedded.database_url(DATA_DIR)


def _redis_url() -> str:
    url = env_str("REDIS_URL")
    if url:
        return url
    from devstack import embedded

    return embedded.redis_url(DATA_DIR)


def _database(url: str) -> dict:
    database = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
    database["ATOMIC_REQUESTS"] = False  # services open their own transactions
    if env_bool("DB_PREPARED_STATEMENTS", True):
        # Server-side parameter binding lets psycopg prepare a statement from its second execution on a connection:
        # PostgreSQL then plans it once instead of on every request (about 40% of a sale's database CPU). Behind
        # PgBouncer in transaction mode this needs PgBouncer 1.21+ with max_prepared_statements, or set it to false.
        database.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 2})
    return database


DATABASES = {"default": _database(_database_url())}
# A streaming replica for the reads that may lag (core.replica, docs/decisions/011): the router sends nothing else
# there, and falls back to the primary while the replica is unreachable or behind by more than the limit.
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = _database(env_str("DATABASE_REPLICA_URL"))
    # A replica that does not answer must not hold a page up for long: the primary answers instead.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Tests read the test database through it; a test of replication points it at a real replica.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 30)
REDIS_URL = _redis_url()

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A 10,000-item production upload is about 1 MB of JSON; leave room for long motor numbers and escaped text.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 8 * 1024 * 1024)

CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL}}  # Django's, one client per pool

# Production hardening; plain-HTTP local runs set DEBUG=true (or SECURE_COOKIES=false).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
# The reverse proxy normally redirects to HTTPS; production sets SECURE_SSL_REDIRECT=true when Django should.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "core.api.metadata.Metadata",
    # 0, not None: DRF would otherwise key any throttle on the X-Forwarded-For a client sends (core.throttling).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_RENDERER_CLASSES": ["core.api.rendering.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_RATES": {"login": env_str("LOGIN_RATE", "20/min"), "public": "30/min"},
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "E-bike full-lifecycle supervision API",
    "DESCRIPTION": (
        "Public API v1: provisioning, catalog, production, dealers, the vehicle record, repairs, recycling, alerts "
        "and the public QR data. This schema states every field and every answer, errors included (the envelope "
        '`{"error": {"code", "message", "fields"}}`). The rules behind them, in words: '
        "[the API reference](/api/reference.md) (docs/api.md in the repository)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrganizationKindEnum": "core.models.OrganizationKind",
        "StandardKindEnum": "catalog.models.Standard.Kind",
        "AlertCategoryEnum": "alerts.models.Category",
        "OrganizationStatusEnum": "core.models.Organization.Status",
        "AlertStatusEnum": "alerts.models.Alert.Status",
        "VehicleStatusEnum": "vehicles.models.Vehicle.Status",
        "ItemKindEnum": ["vehicle", "battery"],
        "RegionColourEnum": "reports.models.RegionColour",
        "EnforcementActionKindEnum": "supervision.models.EnforcementAction.Kind",
        "ModelKindEnum": "supervision.models.ModelKind",
        "RecallStatusEnum": "supervision.models.Recall.Status",
        "DutyKindEnum": "supervision.models.DutyKind",
    },
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# E-mail and webhook deliveries wait on other servers (up to the SMTP timeout): on their own queue, the rule
# engine's drains never queue behind them. A worker started without -Q consumes both queues; docker-compose runs
# one worker per queue.
CELERY_TASK_QUEUES = (Queue("celery"), Queue("notifications"))
CELERY_TASK_ROUTES = {
    "alerts.tasks.notify_dispatched": {"queue": "notifications"},
    "alerts.tasks.send_webhooks": {"queue": "notifications"},
}
# Celery closes the database connection around every task unless told to reuse it; reused, the connection follows
# Django's own rules instead (config/celery.py): kept for DB_CONN_MAX_AGE, checked before use, closed after errors.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_BEAT_SCHEDULE = {
    "prune-idempotency-keys": {"task": "core.tasks.prune_idempotency_keys", "schedule": 3600.0},
    "ledger-partitions": {"task": "vehicles.tasks.ensure_event_partitions", "schedule": 24 * 3600.0},
    # The outbox is drained on every commit; this catches what a broker outage kept from being queued.
    "alerts-drain": {"task": "alerts.tasks.drain", "schedule": 5.0},
    "alerts-sweep": {"task": "alerts.tasks.sweep", "schedule": 3600.0},
    "alerts-escalate": {"task": "alerts.tasks.escalate", "schedule": 300.0},
    # Repeated thermal alarms of a battery escalate its alert; queued after each batch, this catches the rest.
    "charging-alarms-escalate": {"task": "charging.tasks.alarms_escalate", "schedule": 60.0},
    "alerts-webhooks": {"task": "alerts.tasks.send_webhooks", "schedule": 30.0},
    # Yesterday's figures re-derived from the raw rows after midnight: any drift of the upkeep is repaired.
    "reports-rollups-repair": {"task": "reports.tasks.rollups_repair", "schedule": crontab(hour=1, minute=10)},
    # The 三分 grades of enterprises and regions, from the day's alerts and qualifications.
    "reports-grade-risk": {"task": "reports.tasks.grade_risk", "schedule": crontab(hour=1, minute=40)},
    # Last month's report of every regulator's region, on the 1st, after the night's repair and grading.
    "reports-monthly": {
        "task": "reports.tasks.monthly_reports_on_first",
        "schedule": crontab(day_of_month=1, hour=3, minute=0),
    },
    # Each inspection plan's new week or month is drawn (双随机) soon after it begins; hourly, so that a missed
    # run is made up within the hour. A period already drawn adds nothing.
    "supervision-inspections-draw": {"task": "supervision.tasks.inspections_draw", "schedule": crontab(minute=5)},
    # The duty records missing after their day, week or month (日管控、周排查、月调度) raise DUTY_OVERDUE soon after
    # midnight, before the night's risk grading counts them; hourly, so that a missed run is made up within the hour.
    # A miss raised already raises nothing.
    "supervision-duty-overdue": {"task": "supervision.tasks.duty_overdue_sweep", "schedule": crontab(minute=20)},
}

IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48)
# Consecutive wrong passwords after which an account is locked until an administrator lifts it (core.login).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)

# Mail (alert notifications). Django 6.1 configures mailers with MAILERS and refuses the EMAIL_* settings beside
# it; Django 5.2 (on Python 3.11) knows only the EMAIL_* settings.
_MAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
_SMTP = {
    "host": env_str("EMAIL_HOST", "localhost"),
    "port": env_int("EMAIL_PORT", 25),
    "username": env_str("EMAIL_HOST_USER", ""),
    "password": env_str("EMAIL_HOST_PASSWORD", ""),
    "use_tls": env_bool("EMAIL_USE_TLS", False),
    "timeout": 10,
}
if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {"BACKEND": _MAIL_BACKEND, "OPTIONS": _SMTP if _MAIL_BACKEND.endswith("smtp.EmailBackend") else {}}
    }
else:
    EMAIL_BACKEND = _MAIL_BACKEND
    EMAIL_HOST, EMAIL_PORT = _SMTP["host"], _SMTP["port"]
    EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _SMTP["username"], _SMTP["password"]
    EMAIL_USE_TLS, EMAIL_TIMEOUT = _SMTP["use_tls"], _SMTP["timeout"]
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")
SITE_URL = env_str("SITE_URL", "")  # absolute links in e-mails
# Webhooks never call internal addresses (loopback, private, link-local…). A closed government network lists the
# hosts of its departments' systems here: names (".example.gov" for a domain and its subdomains) and CIDRs.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
