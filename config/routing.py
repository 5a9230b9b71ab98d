"""Every WebSocket route, each wrapped in the origin check that fits who uses it."""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from config.origins import same_site_only, widget_sites
from inbox.consumers import InboxConsumer
from widget.consumers import WidgetConsumer

websocket_urlpatterns = [
    # Visitors authenticate with their signed widget token, not a session cookie.
    path("ws/widget/", widget_sites(WidgetConsumer.as_asgi())),
    path("ws/inbox/", same_site_only(AuthMiddlewareStack(InboxConsumer.as_asgi()))),
]
