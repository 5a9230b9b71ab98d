"""Celery's Redis transport with one kombu defect worked around (issue 17: the worker died on a
Redis restart, "Unrecoverable error: AttributeError: 'NoneType' object has no attribute 'hostname'").

When the broker connection drops, kombu clears the connection's details, but the worker still uses
channels of it: closing one restores its unacknowledged messages, and a task that finishes late
acknowledges its message, each through a new Redis client built from those details. The
AttributeError that follows is not a connection error, so the worker stopped instead of
reconnecting. Here it is one: the close and the late ack are then ignored or logged, as for any
broker that went away, and the messages go back to the queue after the visibility timeout.
"""

from kombu.transport import redis


class Channel(redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise ConnectionError("The connection to the broker was closed")  # an OSError: a connection error to kombu
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
