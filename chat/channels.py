"""Channels: where a conversation came from, and how what the bot and agents write reaches the visitor.

Every channel shares one pipeline (widget.pipeline: trigger rules, the bot, handoffs) and one inbox;
only the way back differs:

- web: the widget, over its WebSocket (chat.realtime broadcasts each message to the conversation).
- api: an external system (a WhatsApp or Slack bridge, a mobile app) that posts visitor messages to
  the REST API and receives every message by webhook (`message.created`, api/webhooks).
- email: the visitor's mailbox; agent replies are emailed and their answers thread back in.

Trigger rules read the channel ({"kind": "context", "field": "channel", "value": "api"}) and the
inbox shows it.
"""

from dataclasses import dataclass
from typing import Literal

RepliesVia = Literal["widget", "webhook", "email"]


@dataclass(frozen=True)
class Channel:
    kind: str
    label: str
    replies_via: RepliesVia
    # Whether the visitor watches live (typing, queue position): a bridge or a mailbox does not.
    live: bool


CHANNELS: dict[str, Channel] = {
    "web": Channel(kind="web", label="Web widget", replies_via="widget", live=True),
    "api": Channel(kind="api", label="API", replies_via="webhook", live=False),
    "email": Channel(kind="email", label="Email", replies_via="email", live=False),
}


def channel_for(kind: str) -> Channel:
    return CHANNELS.get(kind, CHANNELS["web"])


def channel_replies_via(kind: str) -> RepliesVia:
    return channel_for(kind).replies_via
