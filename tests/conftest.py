from pathlib import Path

import pytest
from django.conf import settings

from tests.support import services

LOG_DIR = Path(settings.DATA_DIR) / "logs"  # beside the test database: parallel runs keep their own


@pytest.fixture(autouse=True)
def _fresh_answer_threshold():
    """The manager's trade-off is cached per process for a few seconds; each test starts from its database."""
    from chat.db import ReadEvery
    from knowledge.policy import answer_threshold_forget

    answer_threshold_forget()
    ReadEvery.forget_all()  # and the other per-process reads (rules' version, teams' hours, classifier)
    yield
    answer_threshold_forget()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.TEST_REDIS_URL
    services.require(
        services.redis_available(url),
        f"Redis at {url}",
        "start one with `redis-server --daemonize yes --port 6379` or set TEST_REDIS_URL",
    )
    return url


@pytest.fixture
def redis_channel_layer(redis_url, settings):
    """Switch this test to the real Redis channel layer (channels resets its layers on change)."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    from config.redis_layer import redis_channel_layer

    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(redis_url)}
    yield settings.CHANNEL_LAYERS


@pytest.fixture(scope="session")
def worker_smtp():
    """A real SMTP server on 127.0.0.1 that the Celery worker process sends its emails to."""
    from tests.support.smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _celery_worker_process(redis_url, django_db_setup, django_db_blocker, worker_smtp):
    process = services.start(
        [
            services.python_bin("celery"),
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            "--hostname=test-worker@%h",
        ],
        services.child_env(redis_url, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(worker_smtp.port)),
        LOG_DIR / "celery-worker.log",
    )
    yield process
    services.stop(process)


@pytest.fixture
def celery_worker(_celery_worker_process, redis_url, settings):
    """A real Celery worker process over Redis; `.delay()` in this test goes to it.

    The worker reads the test database, so tests using it need committed data
    (`@pytest.mark.django_db(transaction=True)`).
    """
    from celery._state import _set_task_join_will_block

    from config.celery import app

    # Eager tasks run from several threads at once (the widget's bot threads) can leave Celery's
    # process-global "we are inside a task" flag set, which forbids result.get() here.
    _set_task_join_will_block(False)
    saved = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _forget_connections(app)
    # Wait until the worker answers a round trip, so the first real task is not racing start-up.
    app.send_task("config.celery.ping").get(timeout=60)
    yield app
    app.conf.update(saved)
    _forget_connections(app)


def _forget_connections(app) -> None:
    """Drop the app's cached broker pool and result backend so the swapped URLs take effect."""
    import kombu.pools

    if app._pool is not None:
        app._pool.force_close_all()
    kombu.pools.reset()  # kombu keeps closed pools in a global registry and would hand them back
    app._after_fork()
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture(scope="session")
def live_server_url(redis_url, django_db_setup, django_db_blocker):
    """A real Daphne server on a free port, serving the test database over the Redis channel layer."""
    with services.daphne(redis_url=redis_url, log_path=LOG_DIR / "daphne.log") as url:
        yield url


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 (aiosmtpd); Django's SMTP backend sends to it."""
    from tests.support.smtp_server import SmtpServer

    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.DEFAULT_FROM_EMAIL = "Northwind support <support@northwind.test>"
    settings.EMAIL_REPLY_ADDRESS = "reply@support.northwind.test"
    yield server
    server.stop()


# --- Named personas -----------------------------------------------------------------------------


@pytest.fixture
def visitor(db):
    """An anonymous visitor with one open conversation with the bot."""
    from tests.factories import ConversationFactory

    return ConversationFactory().customer


@pytest.fixture
def support_team(db):
    from tests.factories import TeamFactory

    return TeamFactory(name="Customer Support", slug="support")


@pytest.fixture
def agent(support_team):
    """Dana, an agent on the support team: uses the inbox, not the admin, sees her team only."""
    from tests.factories import AgentFactory, UserFactory

    return AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[support_team])


@pytest.fixture
def manager(db):
    """Morgan, a support manager: staff (the admin) and superuser, sees every team."""
    from tests.factories import UserFactory

    return UserFactory(username="morgan", first_name="Morgan", is_staff=True, is_superuser=True)
