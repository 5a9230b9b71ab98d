"""The visitor widget's WebSocket (the full protocol lands with the conversation issue)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
