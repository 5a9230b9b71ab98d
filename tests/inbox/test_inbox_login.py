"""Signing in to the inbox, and getting back in with a forgotten password (over real SMTP)."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_is_styled_and_offers_a_password_reset(client):
    page = client.get("/accounts/login/?next=/inbox/").content.decode()
    assert "/static/inbox/inbox.css" in page and 'class="login"' in page
    assert 'href="/accounts/password-reset/"' in page and "Forgot your password?" in page


def test_a_forgotten_password_is_reset_by_an_emailed_link(client, agent, smtp_server):
    agent.user.email = "dana@northwind.test"
    agent.user.save()
    response = client.post("/accounts/password-reset/", {"email": "dana@northwind.test"})
    assert response.status_code == 302
    assert "Check your email" in client.get(response["Location"]).content.decode()

    (sent,) = smtp_server.wait_for(1)
    assert sent.rcpt_tos == ["dana@northwind.test"]
    body = sent.message.get_body(("plain",)).get_content()
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    new = {"new_password1": "a-brand-new-password-42", "new_password2": "a-brand-new-password-42"}
    done = client.post(form.redirect_chain[-1][0], new, follow=True)
    assert "Your password is set" in done.content.decode()

    client.logout()
    assert client.login(username="dana", password="a-brand-new-password-42")


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, smtp_server):
    response = client.post("/accounts/password-reset/", {"email": "nobody@northwind.test"})
    assert response.status_code == 302 and not smtp_server.received
