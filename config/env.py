"""Small, strict readers for settings that come from the environment.

Each helper returns a laptop-friendly default when the variable is unset and raises
ImproperlyConfigured with the variable's name when it is set to something unusable,
so a typo in production fails at start-up instead of misbehaving later.
"""

import datetime as dt
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks are dropped so 'a, b,' means ['a', 'b']."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(sorted(choices))}; got {value!r}")
    return value


def env_datetime(name: str) -> dt.datetime | None:
    """An ISO 8601 moment with its offset ("2026-12-01T08:00:00+00:00"); unset or empty: None."""
    raw = env_str(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an ISO 8601 date and time; got {raw!r}") from None
    if value.tzinfo is None:
        raise ImproperlyConfigured(f"{name} needs a UTC offset, e.g. {raw}+00:00")
    return value


def env_budget(name: str, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """A budget "per_client,total,window_seconds", e.g. "10,600,600": ten per client address and 600
    for everyone in any ten minutes."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    parts = raw.split(",")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise ImproperlyConfigured(
            f"{name} must be three whole numbers of at least 1, per client,total,window seconds (e.g. 10,600,600); "
            f"got {raw!r}"
        )
    return values
