"""The outbound-request guard against real servers on loopback addresses.

127.0.0.1 plays the "public" site (allowed explicitly, as OUTBOUND_ALLOWED_NETWORKS would), and
127.0.0.2 plays an internal service the site tries to make us reach.
"""

import gzip
import ipaddress
import time
import tracemalloc

import pytest

import outbound
from tests.support.web import Web, respond

SITE = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # Alibaba metadata, in shared address space
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fe80::1%1",
    ],
)
def test_internal_addresses_are_refused(address):
    assert not outbound.address_allowed(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert outbound.address_allowed(address)


def test_an_allowed_network_lets_its_addresses_through_and_no_others():
    assert outbound.address_allowed("10.0.5.7", (ipaddress.ip_network("10.0.5.0/24"),))
    assert not outbound.address_allowed("10.0.6.7", (ipaddress.ip_network("10.0.5.0/24"),))


def _client(**kwargs) -> outbound.Client:
    kwargs.setdefault("allowed_networks", SITE)
    return outbound.Client(user_agent="test", **kwargs)


def test_a_first_url_on_an_internal_address_is_refused_before_connecting():
    with Web(lambda request: respond(request, 200, b"internal"), host="127.0.0.2") as internal:
        with _client() as client, pytest.raises(outbound.BlockedDestination, match="private or internal"):
            client.get(f"{internal.base}/")
        # A name resolving to loopback, and 127.0.0.1 spelt as one number: the guard checks what they resolve to.
        port = internal.base.rsplit(":", 1)[1]
        for url in (f"http://localhost:{port}/", f"http://2130706433:{port}/"):
            with _client(allowed_networks=()) as client, pytest.raises(outbound.BlockedDestination):
                client.get(url)
    assert internal.requests == []


def test_the_setting_is_the_default_allow_list(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with Web(lambda request: respond(request, 200, b"hello")) as site, outbound.Client(user_agent="t") as client:
        assert client.get(f"{site.base}/").content == b"hello"
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with (
        Web(lambda request: respond(request, 200, b"hello")) as site,
        outbound.Client(user_agent="t") as client,
        pytest.raises(outbound.BlockedDestination),
    ):
        client.get(f"{site.base}/")
    assert site.requests == []


def test_a_redirect_to_an_internal_address_is_not_followed():
    with Web(lambda request: respond(request, 200, b"secret"), host="127.0.0.2") as internal:
        target = f"{internal.base}/admin?token=s3cret"
        with (
            Web(lambda request: respond(request, 302, Location=target)) as site,
            _client() as client,
            pytest.raises(outbound.BlockedDestination),
        ):
            client.get(f"{site.base}/page")
    assert site.requests == ["/page"]
    assert internal.requests == []  # neither the path nor its query string reached it


def test_a_redirect_to_another_scheme_is_refused():
    with (
        Web(lambda request: respond(request, 302, Location="file:///etc/passwd")) as site,
        _client() as client,
        pytest.raises(outbound.OutboundError),
    ):
        client.get(f"{site.base}/")


def test_redirects_within_the_allowed_site_are_followed():
    def handler(request):
        if request.path == "/old":
            respond(request, 301, Location="/new")
        else:
            respond(request, 200, b"moved here")

    with Web(handler) as site, _client() as client:
        response = client.get(f"{site.base}/old")
    assert (response.status, response.url, response.content) == (200, f"{site.base}/new", b"moved here")


def test_a_gzip_bomb_is_cut_at_the_decompressed_limit_without_growing_memory():
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # about 200 KB on the wire
    with Web(lambda request: respond(request, 200, bomb, Content_Encoding="gzip")) as site:
        tracemalloc.start()
        try:
            with _client(max_bytes=1_000_000) as client, pytest.raises(outbound.TooLarge):
                client.get(f"{site.base}/")
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(bomb) < 1_000_000
    assert peak < 8_000_000, f"peak {peak} bytes while reading a bomb capped at 1 MB"


def test_a_compressed_page_under_the_limit_is_decompressed():
    page = b"<p>hello</p>" * 1000
    with (
        Web(lambda request: respond(request, 200, gzip.compress(page), Content_Encoding="gzip")) as site,
        _client(max_bytes=len(page)) as client,
    ):
        assert client.get(f"{site.base}/").content == page


def test_an_endless_chunked_body_is_cut_at_the_limit():
    def endless(request):
        request.send_response(200)
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        chunk = b"x" * 65536
        for _ in range(10_000):  # 650 MB if nobody stopped reading; bounded so the thread ends
            request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    with (
        Web(endless) as site,
        _client(max_bytes=2_000_000) as client,
        pytest.raises(outbound.TooLarge),
    ):
        client.get(f"{site.base}/")


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    with (
        Web(lambda request: respond(request, 200, b"x" * 2000)) as site,
        _client(max_bytes=1000) as client,
        pytest.raises(outbound.TooLarge, match="2000 bytes"),
    ):
        client.get(f"{site.base}/")


def test_a_server_dripping_bytes_is_cut_off_at_the_total_deadline():
    def drip(request):
        request.send_response(200)
        request.send_header("Content-Length", "1000")
        request.end_headers()
        for _ in range(40):  # each byte well inside the read timeout; 40 * 0.2 s if nobody stopped it
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(0.2)

    with Web(drip) as site, _client(read_timeout=1.0, total_timeout=1.5) as client:
        started = time.monotonic()
        with pytest.raises(outbound.DeadlineExceeded):
            client.get(f"{site.base}/")
        elapsed = time.monotonic() - started
    assert elapsed < 3, f"took {elapsed:.1f} s against a 1.5 s deadline"


def test_environment_proxies_are_ignored(monkeypatch):
    # A proxy would be the one address checked, and would then fetch anything for us.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.2:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.2:9")
    with Web(lambda request: respond(request, 200, b"direct")) as site, _client() as client:
        assert client.get(f"{site.base}/").content == b"direct"
