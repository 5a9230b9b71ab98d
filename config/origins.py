"""Origin checks for WebSockets.

Browsers send an Origin header on WebSocket handshakes but apply no same-origin policy to
them, so without a check any page could open a socket with the visitor's cookies. The inbox
accepts only our own hosts; the widget also accepts the sites configured to embed it
(WIDGET_ALLOWED_ORIGINS, e.g. "https://shop.example.com" or ".example.com").
"""

from channels.security.websocket import OriginValidator
from django.conf import settings


class _SettingsOriginValidator(OriginValidator):
    """Reads the allowed origins from settings at each handshake, so overrides take effect."""

    def __init__(self, application, *, include_widget_sites: bool):
        super().__init__(application, allowed_origins=[])
        self.include_widget_sites = include_widget_sites

    def validate_origin(self, parsed_origin):
        allowed = list(settings.ALLOWED_HOSTS)
        if self.include_widget_sites:
            allowed += settings.WIDGET_ALLOWED_ORIGINS
        return any(pattern == "*" or self.match_allowed_origin(parsed_origin, pattern) for pattern in allowed)

    def valid_origin(self, parsed_origin):
        # A handshake without an Origin header is not from a browser page we can vouch for.
        return parsed_origin is not None and self.validate_origin(parsed_origin)


def same_site_only(application):
    """For staff endpoints (the inbox): the Origin must be one of ALLOWED_HOSTS."""
    return _SettingsOriginValidator(application, include_widget_sites=False)


def widget_sites(application):
    """For the visitor widget: ALLOWED_HOSTS plus WIDGET_ALLOWED_ORIGINS."""
    return _SettingsOriginValidator(application, include_widget_sites=True)
