"""The Redis channel layer's settings, in one place for the app and the tests."""

# channels_redis waits up to 5 s in BZPOPMIN for a consumer's next message, and redis-py (8.x)
# times socket reads out after 5 s by default: an idle consumer would crash with "Timeout reading
# from Redis" and its WebSocket close with 1011. Reads must be allowed to outlast that wait.
SOCKET_TIMEOUT_SECONDS = 30


def redis_channel_layer(url: str) -> dict:
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": url, "socket_timeout": SOCKET_TIMEOUT_SECONDS}],
            "capacity": 1500,
            "expiry": 30,
        },
    }
