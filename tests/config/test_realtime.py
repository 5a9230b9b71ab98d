import asyncio
import json

import pytest
import websockets
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from config.asgi import application


@pytest.mark.redis
async def test_a_message_round_trips_through_the_redis_channel_layer(redis_channel_layer):
    layer = get_channel_layer()
    assert type(layer).__name__ == "ResilientRedisChannelLayer"
    channel = await layer.new_channel()
    await layer.group_add("conversation_1", channel)
    await layer.group_send("conversation_1", {"type": "chat.message", "text": "héllo <b>"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "chat.message", "text": "héllo <b>"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_celery_task_runs_in_a_real_worker_process(celery_worker, _celery_worker_process):
    from config.celery import ping

    result = ping.delay()
    # The solo pool runs tasks in the worker's main process, whose pid we know.
    assert result.get(timeout=30) == {"pong": True, "pid": _celery_worker_process.pid}
    assert type(result.backend).__name__ == "RedisBackend"


async def test_a_websocket_from_a_disallowed_origin_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/widget/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert connected is False


async def test_a_websocket_without_an_origin_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/inbox/")
    connected, _ = await communicator.connect()
    assert connected is False


async def test_the_widget_accepts_a_configured_embedding_site_but_the_inbox_does_not(settings):
    settings.WIDGET_ALLOWED_ORIGINS = ["https://shop.example"]
    origin = [(b"origin", b"https://shop.example")]
    widget = WebsocketCommunicator(application, "/ws/widget/", headers=origin)
    assert (await widget.connect())[0] is True
    await widget.disconnect()
    inbox = WebsocketCommunicator(application, "/ws/inbox/", headers=origin)
    assert (await inbox.connect())[0] is False


@pytest.mark.live_server
@pytest.mark.django_db(transaction=True)
def test_a_real_websocket_client_against_daphne_is_checked_for_origin(live_server_url):
    ws_url = live_server_url.replace("http://", "ws://") + "/ws/widget/"

    async def handshake(origin: str) -> bool:
        try:
            async with websockets.connect(ws_url, origin=origin, open_timeout=5):
                return True
        except websockets.exceptions.InvalidStatus as refused:
            assert refused.response.status_code == 403
            return False

    assert asyncio.run(handshake(live_server_url)) is True
    assert asyncio.run(handshake("https://evil.example")) is False


@pytest.mark.django_db
def test_healthz_reports_every_part_green(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True
    assert set(body["checks"]) == {"database", "pgvector", "channel_layer", "broker"}
    assert "pgvector 0.8" in body["checks"]["pgvector"]["detail"]


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_reports_green_with_real_redis(client, redis_channel_layer, redis_url, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_url
    body = client.get("/healthz").json()
    assert body["checks"]["channel_layer"] == {"ok": True, "detail": "ok (ResilientRedisChannelLayer)"}
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_says_503_when_redis_is_unreachable(client, settings):
    unreachable = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [unreachable]}}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = unreachable
    response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is False
    assert body["checks"]["broker"]["ok"] is False


@pytest.mark.live_server
@pytest.mark.django_db(transaction=True)
def test_an_idle_websocket_survives_the_redis_layers_blocking_wait(live_server_url):
    """channels_redis blocks 5 s per receive; a socket idle longer than that must stay open."""
    ws_url = live_server_url.replace("http://", "ws://") + "/ws/widget/"

    async def idle_then_ping() -> dict:
        async with websockets.connect(ws_url, origin=live_server_url, open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "hello", "token": None}))
            assert json.loads(await ws.recv())["type"] == "welcome"
            await asyncio.sleep(12)  # two full blocking waits of the layer
            await ws.send(json.dumps({"type": "ping"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(idle_then_ping()) == {"type": "pong"}
