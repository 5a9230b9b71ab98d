import os

import pytest
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import api_token_issue
from tests.factories import AgentFactory, TeamFactory, UserFactory, team_open_all_week

ALL_SCOPES = [ApiToken.Scope.READ, ApiToken.Scope.WRITE, ApiToken.Scope.CHANNEL]


def token_for(user, scopes=None, name="test") -> str:
    return api_token_issue(token=ApiToken(user=user, name=name, scopes=list(scopes or ALL_SCOPES)))


@pytest.fixture
def make_client(db):
    """An API client authenticated with a fresh token of `user` (all scopes unless told)."""

    def make(user, scopes=None) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes)}")
        return client

    return make


@pytest.fixture
def manager_client(make_client, manager):
    return make_client(manager)


@pytest.fixture
def agent_client(make_client, agent):
    return make_client(agent.user)


@pytest.fixture
def billing_team(db):
    return TeamFactory(name="Billing", slug="billing")


@pytest.fixture
def billing_agent(billing_team):
    """Bea, an agent of the billing team only."""
    return AgentFactory(user=UserFactory(username="bea", first_name="Bea"), teams=[billing_team])


@pytest.fixture
def always_open(support_team, billing_team):
    for team in (support_team, billing_team):
        team_open_all_week(team)


@pytest.fixture(autouse=True)
def _forget_cached_webhook_endpoints():
    """Endpoints are cached across requests; a test's rolled-back endpoints must not outlive it."""
    from api.integrations.hubspot import hubspot_settings_changed
    from api.webhooks.delivery import endpoints_changed

    endpoints_changed()
    hubspot_settings_changed()
    yield
    endpoints_changed()
    hubspot_settings_changed()


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that webhooks may reach (the test allows loopback explicitly)."""
    from tests.support.http_receiver import Receiver

    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def allow_loopback(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def make_endpoint(db, receiver, allow_loopback):
    from api.models import WebhookEndpoint

    def make(**fields) -> WebhookEndpoint:
        fields.setdefault("name", "Receiver")
        fields.setdefault("url", receiver.url + "/hooks")
        fields.setdefault("personal_data", True)
        return WebhookEndpoint.objects.create(**fields)

    return make


DEMO_MAILBOX = ["dict", "--demo-user", "desk", "--demo-password", "mailbox-password"]


@pytest.fixture
def imap_server(settings):
    """A real IMAP server on 127.0.0.1 (pymap, in memory) with the desk's mailbox; settings point at it."""
    import imaplib

    from tests.conftest import LOG_DIR
    from tests.support import services

    port = services.free_port()
    process = services.start(
        [services.python_bin("pymap"), "--host", "127.0.0.1", "--port", str(port), "--no-tls", *DEMO_MAILBOX],
        dict(os.environ),
        LOG_DIR / "pymap.log",
    )
    services.wait_for_port(port, process)
    settings.EMAIL_IMAP_HOST, settings.EMAIL_IMAP_PORT, settings.EMAIL_IMAP_SSL = "127.0.0.1", port, False
    settings.EMAIL_IMAP_USER, settings.EMAIL_IMAP_PASSWORD = "desk", "mailbox-password"
    mailbox = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    mailbox.login("desk", "mailbox-password")
    yield mailbox
    mailbox.logout()
    services.stop(process)


@pytest.fixture
def bot(monkeypatch):
    """The bot answers every question with one scripted answer (tests.widget.conftest.ScriptedBot)."""
    from knowledge import answers
    from tests.widget.conftest import ScriptedBot

    scripted = ScriptedBot(tokens=["Orders ship ", "within 2 working days."])
    monkeypatch.setattr(answers, "answer_question", scripted.answer_question)
    return scripted


@pytest.fixture
def waiting(support_team, agent):
    """Ada left her address in the widget, asked for a person and closed the tab; Dana has her conversation."""
    from agents.models import Agent
    from handoff.selectors import handoff_open
    from handoff.services import handoff_assign, handoff_request
    from tests.factories import ConversationFactory, MessageFactory

    conversation = ConversationFactory(customer__email="ada@example.com", customer__name="Ada")
    MessageFactory(conversation=conversation, text="Where is my parcel?")
    handoff_request(conversation=conversation, reason="Visitor asked for a person", team=support_team)
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.ONLINE)
    handoff_assign(handoff=handoff_open(conversation=conversation), agent=agent)
    conversation.refresh_from_db()
    return conversation
