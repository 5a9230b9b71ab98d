"""Settings for the test suite and for the servers and workers the tests start.

The suite gets its own embedded PostgreSQL data dir (var/test), so running tests never
touches the development database. In the pytest process the channel layer is in-memory and
Celery is eager unless a test opts into Redis; processes the tests start (a Daphne live
server, a Celery worker) set HANDOFF_TEST_PROCESS=1 to use Redis and the test database.
"""

import os
from pathlib import Path

os.environ.setdefault("HANDOFF_DATA_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from config.env import env_bool, env_int, env_str
from config.settings import *  # noqa: F403
from config.settings import DATABASES

TEST_REDIS_URL = env_str("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Persistent connections would outlive tests and block dropping the test database (a process a test
# starts and stops itself may keep them: HANDOFF_TEST_CONN_MAX_AGE).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("HANDOFF_TEST_CONN_MAX_AGE", 0, minimum=0)

if "EMBEDDED_DATA_DIR" in DATABASES["default"]:
    DATABASES["default"]["EMBEDDED_DURABLE"] = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if env_bool("HANDOFF_TEST_PROCESS", False):
    # A server or worker started by a test: the test database (pytest-django's "test_" prefix).
    DATABASES["default"]["NAME"] = "test_" + DATABASES["default"]["NAME"]
    DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}
    # The browser and WebSocket tests run their Daphne server with eager tasks, so they need no worker.
    if env_bool("HANDOFF_TEST_EAGER_TASKS", False):
        CELERY_TASK_ALWAYS_EAGER = True
        HANDOFF_ANSWER_IN_WORKERS = False
    # The answer sweep in the server process only where a test asks for it (the fault suite): elsewhere
    # it would answer other tests' deliberately unanswered messages.
    WIDGET_ANSWER_SWEEP_IN_PROCESS = env_bool("HANDOFF_TEST_SWEEP", False)
    # A server outlives the tests' flushes: it reads its caches afresh per request (tests/support/live_server.py).
    MIDDLEWARE = [*MIDDLEWARE, "tests.support.live_server.forget_caches"]  # noqa: F405
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = None
    CELERY_TASK_ALWAYS_EAGER = True
    KNOWLEDGE_INGEST_IN_THREAD = False  # tests read the ingested articles right after the commit
    HANDOFF_ANSWER_IN_WORKERS = False
    WIDGET_ANSWER_SWEEP_IN_PROCESS = False

# The suite opens hundreds of widget sockets from one address (127.0.0.1, or none in the
# communicator); the tests of the budgets themselves (tests/widget/test_budgets.py) set their own.
WIDGET_BUDGETS = {action: (100_000, 1_000_000, window) for action, (_, _, window) in WIDGET_BUDGETS.items()}  # noqa: F405
