"""Issue 16 item 17: the origin check ignored scheme and port for this site's own hosts, so a page
on another port of the same machine (or plain http beside https) could open an agent's socket."""

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application


async def handshake(path: str, origin: bytes, host: bytes = b"support.example.com") -> bool:
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", origin), (b"host", host)])
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected


@pytest.fixture
def site(settings):
    settings.ALLOWED_HOSTS = ["support.example.com"]
    settings.WIDGET_ALLOWED_ORIGINS = ["https://shop.example.com"]
    settings.HTTPS = True
    return settings


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "origin", "allowed"),
    [
        ("/ws/widget/", b"https://support.example.com", True),  # the demo pages of this site
        ("/ws/widget/", b"https://support.example.com:8443", False),  # another port
        ("/ws/widget/", b"http://support.example.com", False),  # plain http beside HTTPS=1
        ("/ws/widget/", b"https://shop.example.com", True),  # an embedding site
        ("/ws/widget/", b"https://shop.example.com:444", False),
        ("/ws/widget/", b"http://shop.example.com", False),
        ("/ws/widget/", b"https://evil.shop.example.com", False),
        ("/ws/inbox/", b"https://support.example.com:8443", False),
        ("/ws/inbox/", b"https://shop.example.com", False),  # embedding sites never reach the inbox
    ],
)
async def test_origins_are_compared_by_scheme_host_and_port(site, path, origin, allowed):
    assert await handshake(path, origin) is allowed


@pytest.mark.django_db(transaction=True)
async def test_the_origin_must_be_the_host_the_socket_was_opened_on(site):
    site.ALLOWED_HOSTS = ["support.example.com", "other.example.com"]
    assert await handshake("/ws/widget/", b"https://other.example.com", host=b"support.example.com") is False


def test_an_embedding_site_without_its_scheme_stops_start_up(tmp_path):
    import subprocess
    import sys

    from tests.support.services import ROOT

    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "HANDOFF_DATA_DIR": str(tmp_path),
        "WIDGET_ALLOWED_ORIGINS": "shop.example.com",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "must be an origin with its scheme" in result.stderr
