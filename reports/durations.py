"""Durations as people say them: "45 s", "17 min", "2 h 5 min", "3 d 4 h"."""


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "\N{EN DASH}"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
