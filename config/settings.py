"""Switchboard settings, read once from the environment.

Read top to bottom: paths, then the environment variables (the README's table lists every one),
then Django, then the runtime pieces (database, Redis, Channels, Celery), then the vendors.
A missing or malformed variable stops start-up with one line naming it (see `config.env`).
"""

from pathlib import Path

from config.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = Env(VAR_DIR)

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.secret("SECRET_KEY", generate_into="secret_key", allow_generate=DEBUG)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")
# Fernet key for secrets and channel credentials at rest.
FIELD_ENCRYPTION_KEY = env.fernet_key(
    "FIELD_ENCRYPTION_KEY", generate_into="field_encryption_key", allow_generate=DEBUG
)

INSTALLED_APPS = [
    "unfold",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # its own Swagger UI files, so /api/docs works offline (no CDN)
    "bots",
    "knowledge",
    "dialogue",
    "conversations",
    "channels_app",
    "voice",
    "studio",
    "integrations",
    "axes",  # admin login lockout
    "inbox",
    "analytics",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.static.StaticFilesMiddleware",
    "config.logging.RequestContextMiddleware",
    "config.telemetry.TelemetryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "privacy.audit.ActorMiddleware",  # changes made while serving a request are put to its user or key
]
# Failed logins are counted per user name and address (in Redis, through the cache): after
# LOGIN_FAILURE_LIMIT of them that pair is locked out for LOGIN_LOCKOUT_MINUTES, on every
# login page (admin, inbox), without locking the real person out from their own address.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("LOGIN_LOCKOUT_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]  # uvicorn already took the proxy's X-Forwarded-For

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
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
            ]
        },
    }
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# Served over HTTPS (a production PUBLIC_BASE_URL): cookies only over HTTPS, plain HTTP redirected
# (the proxy in front says which scheme the client used), browsers told to stay on HTTPS (HSTS).
# Probes stay reachable over plain HTTP from inside the network.
if not DEBUG and PUBLIC_BASE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    _proxy_header = env.str("PROXY_SSL_HEADER", default="X-Forwarded-Proto")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
    # Off when the proxy itself already answers plain HTTP with a redirect (and so never forwards it).
    SECURE_SSL_REDIRECT = env.bool("SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and the Prometheus scraper
    SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain to HTTPS in browsers for months: the domain owner's call.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# /readyz tells the public only ready or not; its checks are shown to staff and to callers that
# send this token (Authorization: Bearer ...), e.g. a monitoring system. Empty: staff only.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")

# --- Database and Redis -----------------------------------------------------------------------
DATABASES = {"default": env.database("DATABASE_URL")}
# A pool per process shared by all its threads: under ASGI every sync request runs on a thread of
# its own, which without a pool opens (and forks a server backend for) a new connection each time.
# A burst waits up to `timeout` seconds for a free connection instead of exceeding the server's limit.
DATABASES["default"]["OPTIONS"] = {
    "pool": {"min_size": 1, "max_size": env.int("DATABASE_POOL_SIZE", default=20), "timeout": 10}
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # with the pool: each connection checked as handed out
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
    "TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}"
)

REDIS_URL = env.redis_url("REDIS_URL")
# Every Redis client gives up on a connection that stops answering instead of hanging its thread
# or task: the cache, the channel layer, Celery and our own clients (config/redis_clients.py).
REDIS_SOCKET_TIMEOUT_S = env.int("REDIS_SOCKET_TIMEOUT_S", default=5)
_REDIS_TIMEOUTS = {"socket_timeout": REDIS_SOCKET_TIMEOUT_S, "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_S}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sb",
        "OPTIONS": _REDIS_TIMEOUTS,
    }
}

# The pub/sub layer: on a 2-core box it carried ~1,150 group messages/s against ~440 for the
# default RedisChannelLayer, which also failed with "Too many connections" at 200 sockets.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, **_REDIS_TIMEOUTS}], "prefix": "sb-ch"},
    }
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.celery_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a task is re-delivered if its worker dies mid-way...
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ...including when killed by a signal
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 60, **_REDIS_TIMEOUTS}
CELERY_REDIS_SOCKET_TIMEOUT = CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_TIMEOUT_S
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict = {}

# --- Knowledge (documents and URL ingestion) ------------------------------------------------------
KNOWLEDGE_MAX_FILE_MB = env.int("KNOWLEDGE_MAX_FILE_MB", default=20)  # uploads and fetched pages
KNOWLEDGE_FETCH_TIMEOUT = env.int("KNOWLEDGE_FETCH_TIMEOUT", default=15)  # seconds per page
# Documents whose ingestion stopped moving (a lost task, a worker killed) are queued again.
CELERY_BEAT_SCHEDULE["knowledge-resume-stalled"] = {"task": "knowledge.resume_stalled_documents", "schedule": 300}
# Web sources set to re-sync daily or weekly are fetched again once their interval has passed.
CELERY_BEAT_SCHEDULE["knowledge-resync-due"] = {"task": "knowledge.resync_due_sources", "schedule": 900}
# Messaging turns (WhatsApp, Slack, SMS) run on this queue, served by a worker with many threads:
# a turn mostly waits on the LLM. Webhooks whose worker died mid-turn are answered by another one.
MESSAGING_QUEUE = env.str("MESSAGING_QUEUE", default="turns")
CELERY_BEAT_SCHEDULE["channels-resume-stalled"] = {"task": "channels.resume_stalled_inbound", "schedule": 60}
# Handoffs nobody took within their queue's claim timeout: the customer is offered the fallback.
CELERY_BEAT_SCHEDULE["inbox-expire-unclaimed"] = {"task": "inbox.expire_unclaimed", "schedule": 15}
# Outgoing webhooks and the Zendesk connector: the queue their sends run on, attempts before a
# delivery is failed, the first retry's wait (doubled per attempt, or the receiver's Retry-After
# when longer) and seconds allowed per request.
INTEGRATIONS_QUEUE = env.str("INTEGRATIONS_QUEUE", default="celery")
INTEGRATION_MAX_ATTEMPTS = env.int("INTEGRATION_MAX_ATTEMPTS", default=8)
INTEGRATION_RETRY_BASE_MS = env.int("INTEGRATION_RETRY_BASE_MS", default=10_000)
WEBHOOK_TIMEOUT_S = env.int("WEBHOOK_TIMEOUT_S", default=10)
# Analytics roll-ups (current and previous hour and day) and SLO alert checks.
CELERY_BEAT_SCHEDULE["analytics-rollups"] = {"task": "analytics.rollup_recent", "schedule": 300}
CELERY_BEAT_SCHEDULE["analytics-alerts"] = {"task": "analytics.evaluate_alerts", "schedule": 60}
# Privacy: conversations past their workspace's retention are deleted hourly; the named-entity
# pass re-redacts what was stored since its last run every few seconds.
CELERY_BEAT_SCHEDULE["privacy-purge-expired"] = {"task": "privacy.purge_expired", "schedule": 3600}
PII_DEEP_PASS_S = env.int("PII_DEEP_PASS_S", default=5)
CELERY_BEAT_SCHEDULE["privacy-deep-redact"] = {"task": "privacy.deep_redact", "schedule": PII_DEEP_PASS_S}
# Alert e-mails go through this SMTP server (rules without addresses send none).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="switchboard@localhost")
# Operators' view: Prometheus scrapes /metrics with this bearer token (unset: /metrics answers 404);
# traces go over OTLP/HTTP when an endpoint is set; errors go to Sentry when a DSN is set.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="switchboard")
SENTRY_DSN = env.str("SENTRY_DSN", default="")
# Web chat limits (widget WebSocket and the chat API); per IP counts every process, through Redis.
CHAT_IP_MESSAGES_PER_MINUTE = env.int("CHAT_IP_MESSAGES_PER_MINUTE", default=120)
CHAT_IP_CONNECTIONS_PER_MINUTE = env.int("CHAT_IP_CONNECTIONS_PER_MINUTE", default=60)
CHAT_CONNECTION_MESSAGES_PER_MINUTE = env.int("CHAT_CONNECTION_MESSAGES_PER_MINUTE", default=30)
# New conversations per minute (widget and chat API), refused with 429 + Retry-After past these.
CHAT_CONVERSATIONS_PER_MINUTE_IP = env.int("CHAT_CONVERSATIONS_PER_MINUTE_IP", default=20)
CHAT_CONVERSATIONS_PER_MINUTE_KEY = env.int("CHAT_CONVERSATIONS_PER_MINUTE_KEY", default=600)
CHAT_CONVERSATIONS_PER_MINUTE_CONTACT = env.int("CHAT_CONVERSATIONS_PER_MINUTE_CONTACT", default=10)
CHAT_CONVERSATIONS_PER_MINUTE_BOT = env.int("CHAT_CONVERSATIONS_PER_MINUTE_BOT", default=1200)
# How long a conversation's resume token (widget, chat API with a public key) stays valid; the
# widget gets a fresh one each time it resumes.
CHAT_TOKEN_TTL_S = env.int("CHAT_TOKEN_TTL_S", default=24 * 3600)

# One turn at a time per conversation: a Redis lock that a live turn renews every third of this
# long, and that a process dying mid-turn leaves to expire.
TURN_LOCK_TTL_S = env.int("TURN_LOCK_TTL_S", default=30)

# --- Vendors (keys empty = that vendor is not used; base URLs let you point at a proxy) -----------
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
# LLM gateway: per-request timeout, and the per-model circuit breaker (shared through Redis).
LLM_TIMEOUT_S = env.int("LLM_TIMEOUT_S", default=20)
LLM_BREAKER_FAILURES = env.int("LLM_BREAKER_FAILURES", default=5)  # failures in a row that open it
LLM_BREAKER_COOLDOWN_S = env.int("LLM_BREAKER_COOLDOWN_S", default=30)  # then one trial request
DEEPGRAM_API_KEY = env.str("DEEPGRAM_API_KEY", default="")
DEEPGRAM_BASE_URL = env.str("DEEPGRAM_BASE_URL", default="") or None
ELEVENLABS_API_KEY = env.str("ELEVENLABS_API_KEY", default="")
ELEVENLABS_BASE_URL = env.str("ELEVENLABS_BASE_URL", default="") or None
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="") or None
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
# Zendesk's API base for the ticket connector; "{subdomain}" becomes the connection's subdomain.
# Point it at a proxy or a compatible server (the tests' fake) to send every connection there.
ZENDESK_API_URL = env.str("ZENDESK_API_URL", default="https://{subdomain}.zendesk.com")
WHATSAPP_API_URL = env.str("WHATSAPP_API_URL", default="https://graph.facebook.com/v21.0")

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "readable": {"()": "config.logging.ReadableFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "readable" if DEBUG else "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},  # the LLM SDK's HTTP client: a line per request at INFO
        "httpcore": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        "twilio": {"level": "WARNING"},  # it logs every REST request at INFO
    },
}

UNFOLD = {
    "SITE_TITLE": "Switchboard",
    "SITE_HEADER": "Switchboard",
    "SITE_SYMBOL": "support_agent",
}
