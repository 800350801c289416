import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public base URL the script tag points at (scheme://host[:port]); defaults to the request's.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")

INSTALLED_APPS = [
    "daphne",
    "omnichannel.apps.AdminCenterConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "omnichannel",
    "customers",
    "agents",
    "routing",
    "notifications",
    "conversations",
    "widgets",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "omnichannel.middleware.AdminLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "omnichannel.urls"
ASGI_APPLICATION = "omnichannel.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'omnichannel.sqlite3'}")}
# Persistent connections (PERF-1): a new PostgreSQL connection per socket frame cost 41% of the
# chat path. Under ASGI the threads that keep them are few and long-lived (the sockets' executor
# threads); HTTP requests each run on a thread of their own, so omnichannel.asgi closes theirs at
# the end of the request. Health checks make a reused connection that died (PostgreSQL restarted)
# reconnect before its first query instead of failing it: one "SELECT 1" per handler call.
_persistent = DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60 if _persistent else 0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Threads (the embedded worker, the ASGI executor) share one file: wait for locks, and
    # take the write lock at BEGIN so select_for_update-style sections serialise.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests with a live server share the database between threads: an in-memory database's
    # table locks ignore the busy timeout, a file's do not. One file per test process.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery broker --------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not REDIS_URL

# Every open socket's server process refreshes it this often: its CustomerConnection row, for a
# customer's socket (three missed beats = a dead process).
SOCKET_KEEPALIVE_SECONDS = env.float("SOCKET_KEEPALIVE_SECONDS", default=10.0)


def default_channel_prefix(redis_url: str) -> str:
    """``asgi`` on database 0, ``asgi-db5`` on ``redis://…/5``."""
    database = urlsplit(redis_url).path.strip("/") or "0"
    return "asgi" if database == "0" else f"asgi-db{database}"


if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://localhost/")
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.1}
else:
    # Only a deployment with Redis needs its retry classes (the embedded mode runs without).
    from redis.asyncio.retry import Retry as RedisRetry
    from redis.backoff import ExponentialBackoff

    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: subscriptions confirmed, and made again after a Redis restart (REL-1).
            "BACKEND": "core.channel_layer.RedisPubSubLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # Publishing connections (the subscriptions share one per process).
                        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=2000),
                        "socket_timeout": 30,
                        # A Redis restart leaves the pool's idle connections dead: retry a publish
                        # on a new connection instead of failing the first use of each (REL-1).
                        "retry": RedisRetry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
                    }
                ],
                # Redis pub/sub ignores the database number: the prefix keeps deployments apart,
                # by default one per database number, as the database kept them apart before.
                "prefix": env.str("CHANNEL_PREFIX", default=default_channel_prefix(REDIS_URL)),
            },
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# Throttling counts (SEC-3) must be shared by every server process: Redis when there is one.
CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if EMBEDDED
    else {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
)

CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="omnichannel")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker waits for the broker however long it is away (the default gives up after 100 tries,
# about 45 minutes, and the worker exits): timers must survive any broker restart (REL-2).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = "UTC"
# A sweep catches any deadline whose task was lost (design.md, "Time").
DEADLINE_SWEEP_SECONDS = env.float("DEADLINE_SWEEP_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE = {
    "sweep-overdue-deadlines": {
        "task": "omnichannel.sweep_overdue_deadlines",
        "schedule": timedelta(seconds=DEADLINE_SWEEP_SECONDS),
        "options": {"expires": DEADLINE_SWEEP_SECONDS},
    },
}

# --- SMS and voice providers (SMS-1) ---------------------------------------------------------
SMS_PROVIDER_TIMEOUT_SECONDS = env.float("SMS_PROVIDER_TIMEOUT_SECONDS", default=10.0)
SMS_RETRY_BASE_SECONDS = env.float("SMS_RETRY_BASE_SECONDS", default=10.0)
SMS_RETRY_MAX_DELAY_SECONDS = env.float("SMS_RETRY_MAX_DELAY_SECONDS", default=900.0)
SMS_RETRY_MAX_ATTEMPTS = env.int("SMS_RETRY_MAX_ATTEMPTS", default=8)
# --- Outbound webhooks (API-2) ----------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_DELAY_SECONDS = env.float("WEBHOOK_RETRY_MAX_DELAY_SECONDS", default=4 * 3600.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_DISABLE_AFTER_SECONDS = env.float("WEBHOOK_DISABLE_AFTER_SECONDS", default=3 * 24 * 3600.0)
# A rotated secret keeps signing beside the new one this long, so receivers switch without a gap.
WEBHOOK_SECRET_OVERLAP_SECONDS = env.float("WEBHOOK_SECRET_OVERLAP_SECONDS", default=24 * 3600.0)

# --- Auth, i18n, static --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/workspace/login/"
# The request's user comes with their agent profile (their own language, I18N-1) in one query.
AUTHENTICATION_BACKENDS = ["agents.auth.ModelBackendWithProfile"]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("id", "Bahasa Indonesia"),
    ("fr", "Français"),
    ("ro", "Română"),
    ("pl", "Polski"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our formats where Django's read oddly on a screen (English times: "7:01 PM", never "noon").
FORMAT_MODULE_PATH = ["omnichannel.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from it once collectstatic ran
# Uploaded files (attachments, issue 16): under VAR_DIR; production may use an S3 bucket (README).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
#: How long a signed attachment link works (conversations.attachments); pages and sockets sign anew.
ATTACHMENT_LINK_MAX_AGE = env.int("ATTACHMENT_LINK_MAX_AGE", default=12 * 3600)
# An agent's avatar (issue 16): the largest picture an admin may upload, in bytes.
AGENT_AVATAR_MAX_BYTES = env.int("AGENT_AVATAR_MAX_BYTES", default=1024 * 1024)
WHITENOISE_USE_FINDERS = True

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "widget": env.str("WIDGET_THROTTLE_RATE", default="120/min"),
        # Per token, in the shared cache (omnichannel/throttles.py): a user's token, a bot's key.
        "api_token": env.str("API_TOKEN_THROTTLE_RATE", default="600/min"),
        "bot": env.str("BOT_API_THROTTLE_RATE", default="300/min"),
    },
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.ApiTokenThrottle"],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
# Client addresses for every throttle (SEC-3, docs/security.md): the number of trusted proxies in
# front of the ASGI servers that append to X-Forwarded-For. 0 trusts none: the peer's address
# (REMOTE_ADDR, scope["client"]) is the client's. DRF's get_ident applies it.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES is the number of trusted proxies: 0 or more.")
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
SPECTACULAR_SETTINGS = {
    "TITLE": "Omnichannel customer service API",
    "DESCRIPTION": "Conversations, messages, contacts, accounts, cases, notes, queues, "
    "workstreams and agents' presence. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["core.api.only_developer_api"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.document_errors"],
    "ENUM_NAME_OVERRIDES": {
        "RecordKindEnum": "customers.api.serializers.RECORD_KINDS",  # SUM-16
        # The conversation's choices appear in its list, its search results and the search's parameters.
        "ConversationStatusEnum": "conversations.models.Conversation.Status",
        "ConversationOriginEnum": "conversations.models.Conversation.Origin",
        "ConversationChannelEnum": "conversations.models.Conversation.Channel",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Socket limits (omnichannel/limits.py, docs/live-chat-protocol.md "Frames, errors and limits"):
# frames a second per socket (a token bucket with bursts of SOCKET_FRAME_BURST), open widget
# sockets per visitor (chat and visit sockets each), and customer messages a minute per conversation.
SOCKET_FRAMES_PER_SECOND = env.float("SOCKET_FRAMES_PER_SECOND", default=10.0)
SOCKET_FRAME_BURST = env.int("SOCKET_FRAME_BURST", default=30)
WIDGET_SOCKETS_PER_VISITOR = env.int("WIDGET_SOCKETS_PER_VISITOR", default=10)
CUSTOMER_MESSAGES_PER_MINUTE = env.int("CUSTOMER_MESSAGES_PER_MINUTE", default=30)

# Outbound mail (the customer's transcript by email, issue 16): Django's email backend. Embedded
# mode prints mail on the console; production sends mail only once EMAIL_URL is set
# (e.g. smtp+tls://user:password@smtp.example.com:587), and until then offers no transcript by email.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
    OUTBOUND_MAIL = True
elif EMBEDDED:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    OUTBOUND_MAIL = True
else:
    OUTBOUND_MAIL = False
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="chat@localhost")
# A customer may have their transcript emailed once per conversation in this many seconds.
TRANSCRIPT_EMAIL_INTERVAL_SECONDS = env.int("TRANSCRIPT_EMAIL_INTERVAL_SECONDS", default=600)
