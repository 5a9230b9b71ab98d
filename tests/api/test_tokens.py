import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import api_tokens_revoke, token_digest
from tests.api.conftest import token_for

ARTICLES = "/api/v1/knowledge/articles/"


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_only_the_tokens_hash_is_stored(manager):
    secret = token_for(manager)
    stored = ApiToken.objects.get()
    assert secret.startswith("hnd_") and len(secret) > 40
    assert stored.digest == token_digest(secret)
    assert secret not in {stored.digest, stored.prefix, stored.name}
    assert secret.startswith(stored.prefix)


def test_a_token_authenticates_as_its_user_and_records_its_use(manager):
    secret = token_for(manager)
    assert bearer(secret).get(ARTICLES).status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer hnd_not-a-real-token", "Bearer", "Bearer a b", "Bearer sk_live_123", "Bearer hnd_" + "x" * 500],
)
def test_unknown_or_malformed_tokens_are_refused_with_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ARTICLES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401(db):
    assert APIClient().get(ARTICLES).status_code == 401


def test_a_revoked_token_is_refused_at_once(manager):
    secret = token_for(manager)
    client = bearer(secret)
    assert client.get(ARTICLES).status_code == 200
    api_tokens_revoke(tokens=ApiToken.objects.all())
    assert client.get(ARTICLES).status_code == 401


def test_an_expired_token_or_a_deactivated_user_is_refused(manager):
    secret = token_for(manager)
    ApiToken.objects.update(expires_at=timezone.now())
    assert bearer(secret).get(ARTICLES).status_code == 401
    ApiToken.objects.update(expires_at=None)
    manager.is_active = False
    manager.save()
    assert bearer(secret).get(ARTICLES).status_code == 401


def test_scopes_limit_what_a_token_may_do(manager):
    read_only = bearer(token_for(manager, scopes=["read"]))
    assert read_only.get(ARTICLES).status_code == 200
    response = read_only.post(ARTICLES, {"title": "Returns", "body": "30 days."}, format="json")
    assert response.status_code == 403
    assert "write" in response.json()["detail"]
    write_only = bearer(token_for(manager, scopes=["write"]))
    assert write_only.get(ARTICLES).status_code == 403
    assert write_only.post(ARTICLES, {"title": "Returns", "body": "30 days."}, format="json").status_code == 201


def test_an_agents_token_cannot_edit_the_knowledge_base(agent):
    client = bearer(token_for(agent.user))
    assert client.get(ARTICLES).status_code == 403
    assert client.post(ARTICLES, {"title": "x", "body": "y"}, format="json").status_code == 403


def test_a_user_who_is_neither_agent_nor_manager_gets_nothing(db):
    from tests.factories import UserFactory

    client = bearer(token_for(UserFactory(username="outsider")))
    assert client.get("/api/v1/customers/").status_code == 403


def test_managers_create_a_token_in_admin_see_it_once_and_revoke_it(client, manager, agent):
    client.force_login(manager)
    response = client.post(
        reverse("admin:api_apitoken_add"),
        {"user": agent.user.pk, "name": "Dana's dashboard", "scopes": ["read"], "expires_at": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    secret = next(m.split("<code")[1].split(">")[1].split("<")[0] for m in shown if "not be shown again" in m)
    assert token_digest(secret) == token.digest and token.created_by == manager and token.scopes == ["read"]
    # The list and the token's page never show the secret again.
    listing = client.get(reverse("admin:api_apitoken_changelist")).content.decode()
    detail = client.get(reverse("admin:api_apitoken_change", args=[token.pk])).content.decode()
    assert secret not in listing and secret not in detail and token.prefix in listing
    assert bearer(secret).get("/api/v1/customers/").status_code == 200
    client.post(
        reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert bearer(secret).get("/api/v1/customers/").status_code == 401


def test_each_token_has_its_own_rate_limit(manager, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "2/minute"}}
    first, second = bearer(token_for(manager)), bearer(token_for(manager))
    assert [first.get(ARTICLES).status_code for _ in range(3)] == [200, 200, 429]
    assert "Retry-After" in first.get(ARTICLES)
    assert second.get(ARTICLES).status_code == 200


def test_the_api_token_command_prints_a_working_token(manager, capsys):
    from django.core.management import call_command

    call_command("api_token", "morgan", "--scopes", "read")
    secret = capsys.readouterr().out.strip()
    assert bearer(secret).get(ARTICLES).status_code == 200
    assert ApiToken.objects.get().scopes == ["read"]
