"""Reading ids and counts that arrive as text (URLs, forms, query strings, socket paths).

`str.isdigit()` is the wrong test: it accepts '²' (then int() raises, a 500) and '٣' (read as 3),
and no length limit keeps a value inside PostgreSQL's bigint. Only ASCII digits pass here.
"""

import re

_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


def parse_id(raw: object) -> int | None:
    """A positive whole number written in ASCII digits (at most 18 of them), else None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw > 0 else None
    if not isinstance(raw, str) or not _ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if value > 0 else None


def parse_count(raw: object) -> int | None:
    """Like parse_id, but 0 is a count too (offsets, timestamps)."""
    if isinstance(raw, str) and _ASCII_DIGITS.fullmatch(raw):
        return int(raw)
    return parse_id(raw)
