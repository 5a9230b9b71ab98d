"""Knowledge base, trigger rules and customers over the API: the same validation as admin."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge.models import Article, Source
from tests.factories import ArticleFactory, ConversationFactory, CustomerFactory
from triggers.models import TriggerRule


def test_a_manager_creates_an_article_with_questions_and_it_is_queued_for_embedding(
    manager_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = manager_client.post(
            "/api/v1/knowledge/articles/",
            {
                "title": "Returns",
                "body": "Return within 30 days.",
                "url": "/help/returns",
                "questions": ["Can I return it?"],
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["questions"] == ["Can I return it?"] and body["url"] == "/help/returns"
    assert callbacks, "embedding is queued after commit"
    article = Article.objects.get(pk=body["id"])
    assert article.embedded_at is not None  # eager Celery in tests: embedded on commit


def test_article_questions_are_replaced_on_update_and_links_are_checked(manager_client):
    article = ArticleFactory()
    article.example_questions.create(text="old")
    response = manager_client.patch(f"/api/v1/knowledge/articles/{article.pk}/", {"questions": ["new"]}, format="json")
    assert response.status_code == 200
    assert response.json()["questions"] == ["new"]
    for bad in ("javascript:alert(1)", "//evil.example", "ftp://x.example/a"):
        response = manager_client.patch(f"/api/v1/knowledge/articles/{article.pk}/", {"url": bad}, format="json")
        assert response.status_code == 400, bad
        assert "url" in response.json()


def test_deleting_an_article(manager_client):
    article = ArticleFactory()
    assert manager_client.delete(f"/api/v1/knowledge/articles/{article.pk}/").status_code == 204
    assert not Article.objects.filter(pk=article.pk).exists()


def test_nul_bytes_are_a_400_not_a_500(manager_client):
    response = manager_client.post("/api/v1/knowledge/articles/", {"title": "a\x00b", "body": "x"}, format="json")
    assert response.status_code == 400
    rule = {"name": "r", "conditions": [{"kind": "keywords", "terms": ["a\x00"]}]}
    assert manager_client.post("/api/v1/trigger-rules/", rule, format="json").status_code == 400


def test_sources_accept_only_http_crawls_and_ingestion_is_a_409_while_running(manager_client):
    response = manager_client.post(
        "/api/v1/knowledge/sources/", {"name": "Help", "kind": "url", "url": "file:///etc/passwd"}, format="json"
    )
    assert response.status_code == 400
    source = Source.objects.create(name="Typed", kind=Source.Kind.MANUAL, status=Source.Status.RUNNING)
    response = manager_client.post(f"/api/v1/knowledge/sources/{source.pk}/ingest/")
    assert response.status_code == 409
    assert "already running" in response.json()["detail"]


def test_trigger_rules_are_validated_like_in_admin(manager_client):
    bad = {"name": "VIP", "conditions": [{"kind": "no-such-kind"}]}
    response = manager_client.post("/api/v1/trigger-rules/", bad, format="json")
    assert response.status_code == 400
    assert "conditions" in response.json()
    does_nothing = {"name": "Idle", "handoff": False, "conditions": [{"kind": "explicit_request"}]}
    assert "handoff" in manager_client.post("/api/v1/trigger-rules/", does_nothing, format="json").json()
    good = {"name": "VIP", "conditions": [{"kind": "customer", "attribute": "plan", "op": "=", "value": "pro"}]}
    response = manager_client.post("/api/v1/trigger-rules/", good, format="json")
    assert response.status_code == 201, response.json()
    rule_id = response.json()["id"]
    response = manager_client.patch(f"/api/v1/trigger-rules/{rule_id}/", {"conditions": "not a list"}, format="json")
    assert response.status_code == 400
    assert (
        manager_client.patch(f"/api/v1/trigger-rules/{rule_id}/", {"enabled": False}, format="json").status_code == 200
    )
    assert TriggerRule.objects.get(pk=rule_id).enabled is False


def test_customer_attributes_are_merged_and_a_null_removes_one(manager_client):
    customer = CustomerFactory(attributes={"plan": "free", "tier": "gold"})
    response = manager_client.patch(
        f"/api/v1/customers/{customer.pk}/", {"attributes": {"plan": "pro", "tier": None, "ltv": 1200}}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.attributes == {"plan": "pro", "ltv": 1200}
    assert (
        manager_client.patch(f"/api/v1/customers/{customer.pk}/", {"attributes": []}, format="json").status_code == 400
    )
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 1}}}}}}}}}}
    assert (
        manager_client.patch(f"/api/v1/customers/{customer.pk}/", {"attributes": deep}, format="json").status_code
        == 400
    )
    nul = {"attributes": {"plan": "a\x00"}}
    assert manager_client.patch(f"/api/v1/customers/{customer.pk}/", nul, format="json").status_code == 400


def test_agents_read_only_the_customers_of_conversations_they_see(agent_client, agent, support_team, billing_team):
    from handoff.services import handoff_request

    mine = ConversationFactory(customer__email="ada@example.com")
    theirs = ConversationFactory(customer__email="bob@example.com")
    handoff_request(conversation=mine, reason="asked", team=support_team)
    handoff_request(conversation=theirs, reason="asked", team=billing_team)
    listed = agent_client.get("/api/v1/customers/").json()["results"]
    assert [c["email"] for c in listed] == ["ada@example.com"]
    assert agent_client.get(f"/api/v1/customers/{theirs.customer_id}/").status_code == 404
    response = agent_client.patch(f"/api/v1/customers/{mine.customer_id}/", {"name": "X"}, format="json")
    assert response.status_code == 403


def test_customers_filter_by_email_and_external_id(manager_client):
    CustomerFactory(email="Ada@Example.com", external_id="crm-1")
    CustomerFactory(email="bob@example.com")
    assert [
        c["external_id"] for c in manager_client.get("/api/v1/customers/?email=ada@example.com").json()["results"]
    ] == ["crm-1"]
    assert manager_client.get("/api/v1/customers/?external_id=crm-1").json()["count"] == 1
    assert manager_client.get("/api/v1/customers/?external_id=a%00b").json()["count"] == 0


@pytest.mark.django_db
def test_the_customer_list_costs_a_fixed_number_of_queries(manager_client):
    for _ in range(5):
        CustomerFactory()
    manager_client.get("/api/v1/customers/")  # warm up: the token's last_used_at is written once a minute
    with CaptureQueriesContext(connection) as queries:
        assert manager_client.get("/api/v1/customers/").status_code == 200
    # token lookup (with its user), count, page of customers
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_schema_and_docs_are_served(client, db):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")
    assert "/api/v1/knowledge/articles/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/docs/redoc/").status_code == 200
