"""Issue 16 item 7 in a browser: the refusal after too many wrong passwords reads clearly on the page."""

import pytest
from playwright.sync_api import expect

from tests.e2e.support import in_thread
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_too_many_wrong_passwords_are_refused_with_a_message_on_the_sign_in_page(page, live_server_url, tmp_path):
    in_thread(UserFactory, username="throttled-dana")
    page.goto(live_server_url + "/accounts/login/")
    for _ in range(6):
        page.fill("input[name=username]", "throttled-dana")
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many failed sign-ins for this account")
    expect(alert).to_contain_text("or reset your password")
    page.screenshot(path=str(tmp_path / "login-throttled.png"))
