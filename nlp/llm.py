"""The optional chat model (answers, training suggestions, handoff summaries), chosen by settings
(LLM_PROVIDER and friends).

LangChain integrations are imported only when configured: `langchain-openai` for "openai" (any
OpenAI-compatible endpoint) and `langchain-ollama` for "ollama". Tests, or code that wants another
LangChain chat model, set `settings.HANDOFF_CHAT_MODEL` to a model instance (or a callable
returning one), which wins over the provider settings.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

_lock = threading.Lock()


def get_chat_model() -> BaseChatModel | None:
    """The configured chat model, or None when the bot should compose answers itself."""
    override = settings.HANDOFF_CHAT_MODEL
    if override is not None:
        return override() if callable(override) and not hasattr(override, "invoke") else override
    provider = settings.LLM_PROVIDER
    if provider == "none":
        return None
    with _lock:
        return _build(
            provider,
            settings.LLM_MODEL,
            settings.LLM_BASE_URL,
            settings.LLM_API_KEY,
            settings.LLM_TEMPERATURE,
            settings.LLM_TIMEOUT_SECONDS,
        )


@lru_cache(maxsize=2)
def _build(provider: str, model: str, base_url: str, api_key: str, temperature: float, timeout: float):
    if provider == "openai":
        try:
            from langchain_openai import ChatOpenAI  # noqa: PLC0415 - optional package, only when configured
        except ImportError as error:
            raise ImproperlyConfigured(
                "HANDOFF_LLM_PROVIDER=openai needs the langchain-openai package: pip install langchain-openai"
            ) from error
        return ChatOpenAI(
            model=model,
            base_url=base_url or None,
            api_key=api_key or "not-needed",  # local OpenAI-compatible servers often accept anything
            temperature=temperature,
            timeout=timeout,
            max_retries=1,
            streaming=True,
        )
    if provider == "ollama":
        try:
            from langchain_ollama import ChatOllama  # noqa: PLC0415 - optional package, only when configured
        except ImportError as error:
            raise ImproperlyConfigured(
                "HANDOFF_LLM_PROVIDER=ollama needs the langchain-ollama package: pip install langchain-ollama"
            ) from error
        return ChatOllama(
            model=model,
            base_url=base_url or None,
            temperature=temperature,
            client_kwargs={"timeout": timeout},
        )
    raise ImproperlyConfigured(f"HANDOFF_LLM_PROVIDER must be none, openai or ollama; got {provider!r}")
