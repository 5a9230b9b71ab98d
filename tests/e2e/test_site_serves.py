import pytest
from django.contrib.auth import get_user_model

from agents.models import Agent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_demo_shop_and_healthz_are_served_by_daphne(page, live_server_url):
    page.goto(live_server_url + "/")
    assert page.title() == "Northwind Outfitters"
    response = page.goto(live_server_url + "/healthz")
    assert response.status == 200, page.content()
    assert '"ok": true' in page.content()


def test_an_agent_signs_in_and_reaches_the_inbox(page, live_server_url):
    Agent.objects.create(user=get_user_model().objects.create_user("dana", password="a-long-test-password"))
    page.goto(live_server_url + "/inbox/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/")
    assert "Signed in as dana" in page.text_content("body")
