"""Origin checks for WebSockets.

Browsers send an Origin header on WebSocket handshakes but apply no same-origin policy to
them, so without a check any page could open a socket with the visitor's cookies. The inbox
accepts only pages of this site: the Origin must be the very origin the socket was opened on
(scheme, host and port of the Host header; https when HTTPS=1), on one of ALLOWED_HOSTS. A bare
host name used to match any scheme and port, so another service on the same machine
(http://127.0.0.1:6666) could open an agent's socket. The widget also accepts the sites configured
to embed it (WIDGET_ALLOWED_ORIGINS, each with its scheme, e.g. "https://shop.example.com" or
"https://.example.com" for subdomains), compared by scheme, host and port.
"""

from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_port(origin) -> int | None:
    try:
        return origin.port or DEFAULT_PORTS.get(origin.scheme)
    except ValueError:  # a port that is not a number
        return None


def same_site_origin(origin, host_header: str) -> bool:
    """Is `origin` this site's own origin, as the socket was opened on `host_header`?"""
    if origin.scheme not in DEFAULT_PORTS or (settings.HTTPS and origin.scheme != "https"):
        return False
    host, port = split_domain_port(host_header)
    if not host or origin.hostname != host.strip("[]"):
        return False
    if _origin_port(origin) != (int(port) if port else DEFAULT_PORTS[origin.scheme]):
        return False
    return any(pattern == "*" or is_same_domain(host, pattern) for pattern in settings.ALLOWED_HOSTS)


class _SettingsOriginValidator(OriginValidator):
    """Reads the allowed origins from settings at each handshake, so overrides take effect."""

    def __init__(self, application, *, include_widget_sites: bool):
        super().__init__(application, allowed_origins=[])
        self.include_widget_sites = include_widget_sites

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        try:
            origin = urlparse(headers[b"origin"].decode("latin1"))
            host = headers.get(b"host", b"").decode("latin1")
        except (KeyError, ValueError):  # no Origin: not from a browser page we can vouch for
            origin = None
        if origin is not None and self._allowed(origin, host):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def _allowed(self, origin, host: str) -> bool:
        if same_site_origin(origin, host):
            return True
        if self.include_widget_sites:
            patterns = settings.WIDGET_ALLOWED_ORIGINS
            return any(pattern == "*" or self.match_allowed_origin(origin, pattern) for pattern in patterns)
        return False


def same_site_only(application):
    """For staff endpoints (the inbox): pages of this site only."""
    return _SettingsOriginValidator(application, include_widget_sites=False)


def widget_sites(application):
    """For the visitor widget: this site's pages plus WIDGET_ALLOWED_ORIGINS."""
    return _SettingsOriginValidator(application, include_widget_sites=True)
