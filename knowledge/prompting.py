"""Messages to and from a LangChain chat model, for the bot's answers and the learning loop's drafts.

LangChain loads on the first call, so importing knowledge.answers or knowledge.learning stays cheap
(tests/knowledge/test_tasks_and_demo.py and test_suggestions.py check that it does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

Role = Literal["system", "human", "ai"]


def chat_messages(turns: Sequence[tuple[Role, str]]) -> list[BaseMessage]:
    """LangChain messages from (role, text) pairs."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage  # noqa: PLC0415 - LangChain, on first use

    classes = {"system": SystemMessage, "human": HumanMessage, "ai": AIMessage}
    return [classes[role](content=text) for role, text in turns]


def message_text(message: Any) -> str:
    """The text of a chat model's reply or streamed chunk (content is a string or a list of parts)."""
    content = message.content
    return content if isinstance(content, str) else "".join(map(str, content))
