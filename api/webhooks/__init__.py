"""Webhooks: signed events to URLs managers register (events.py says what, delivery.py how)."""
