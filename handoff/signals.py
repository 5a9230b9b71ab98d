"""What the handoff lifecycle announces to apps it must not import (knowledge learns from it).

Receivers are connected in the listening app's `apps.py:ready()`.
"""

from django.dispatch import Signal

# Sent once the resolving transaction commits. kwargs: conversation_id, and handoff_id (None when
# the bot alone handled the conversation).
conversation_resolved = Signal()
