from django.db import models


class VisitorConnection(models.Model):
    """One open widget socket bound to a conversation: whether the visitor is in the chat right now,
    across server processes (the email channel emails a reply only to a visitor who is not)."""

    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} via {self.channel_name}"
