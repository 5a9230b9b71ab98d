"""Issue 16 item 7: 30 wrong passwords and then the right one signed in, and six guessing loops
slowed bot answers from 0.3 s to 7.7 s (PBKDF2 on two cores). Both login pages now count failures
per account and per address, refuse with a clear message once either limit is reached, and do not
hash the password of a refused attempt."""

import re

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRONG = {"password": "not-the-password"}


class CountingHasher(MD5PasswordHasher):
    """Django's MD5 hasher (the suite's), counting how often a password is hashed."""

    calls = 0

    def encode(self, password, salt, *args, **kwargs):
        CountingHasher.calls += 1
        return super().encode(password, salt, *args, **kwargs)


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    cache.clear()
    settings.PASSWORD_HASHERS = ["tests.config.test_login_throttle.CountingHasher"]
    CountingHasher.calls = 0
    yield
    cache.clear()


@pytest.fixture
def dana(db):
    return UserFactory(username="dana", is_staff=True, is_superuser=True)


def sign_in(client, url, username, password, address="203.0.113.5"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_after_five_wrong_passwords_even_the_right_one_is_refused_with_a_clear_message(client, dana, url):
    for _ in range(5):
        assert sign_in(client, url, "dana", WRONG["password"]).status_code == 200
    response = sign_in(client, url, "dana", "a-long-test-password")
    page = response.content.decode()
    assert response.status_code == 200 and "Too many failed sign-ins for this account" in page
    assert re.search(r"Try again in 1?\d minutes?, or reset your password", page)  # when the window ends
    assert "_auth_user_id" not in client.session

    # From another address too: it is the account that is being guessed.
    assert "Too many failed" in sign_in(client, url, "DANA", "a-long-test-password", "198.51.100.1").content.decode()


def test_one_address_guessing_many_accounts_is_stopped(client, dana):
    for n in range(20):
        sign_in(client, "/accounts/login/", f"someone{n}", "guess")
    refused = sign_in(client, "/accounts/login/", "dana", "a-long-test-password")
    assert "Too many failed sign-ins for your network" in refused.content.decode()
    # Another address signs in as usual.
    assert sign_in(client, "/accounts/login/", "dana", "a-long-test-password", "198.51.100.7").status_code == 302


def test_a_refused_attempt_costs_no_password_hashing(client, dana):
    for _ in range(5):
        sign_in(client, "/accounts/login/", "dana", "wrong")
    hashed = CountingHasher.calls
    for _ in range(10):
        sign_in(client, "/accounts/login/", "dana", "wrong")
    assert CountingHasher.calls == hashed


def test_signing_in_clears_the_accounts_failures(client, dana):
    for _ in range(4):
        sign_in(client, "/accounts/login/", "dana", "wrong")
    assert sign_in(client, "/accounts/login/", "dana", "a-long-test-password").status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, "/accounts/login/", "dana", "wrong")
    assert sign_in(client, "/accounts/login/", "dana", "a-long-test-password").status_code == 302
