"""Every WebSocket route, each wrapped in the origin check that fits who uses it."""

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from config.origins import same_site_only, widget_sites
from inbox.consumers import InboxConsumer
from widget.consumers import WidgetConsumer

CLOSE_UNKNOWN_PATH = 4404


class UnknownPath(AsyncWebsocketConsumer):
    """Any other path: refused at the handshake (the router's own answer was a 500 with a traceback)."""

    async def connect(self) -> None:
        await self.close(code=CLOSE_UNKNOWN_PATH)


websocket_urlpatterns = [
    # Visitors authenticate with their signed widget token, not a session cookie.
    path("ws/widget/", widget_sites(WidgetConsumer.as_asgi())),
    path("ws/inbox/", same_site_only(AuthMiddlewareStack(InboxConsumer.as_asgi()))),
    re_path(r"", UnknownPath.as_asgi()),
]
