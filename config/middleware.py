"""Request checks every view relies on."""

from django.http import QueryDict

ADMIN_PREFIX = "/admin/"  # config/urls.py


def _without_nul(data: QueryDict) -> QueryDict | None:
    """A copy with each NUL replaced by U+FFFD, or None when there is none."""
    if not any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists()):
        return None
    cleaned = QueryDict(mutable=True)
    for key, values in data.lists():
        cleaned.setlist(key.replace("\x00", "\ufffd"), [value.replace("\x00", "\ufffd") for value in values])
    cleaned._mutable = False
    return cleaned


class AdminNulBytesMiddleware:
    """PostgreSQL cannot store or compare NUL in text, so a NUL in an admin search, list filter or
    form field reaching the ORM was a 500. In the admin's many generated views each NUL becomes
    U+FFFD, the replacement character Django already uses for bytes it cannot decode: a search finds
    nothing, a form shows its usual error, nothing is silently dropped. Our own views and the API
    clean or refuse their input themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ADMIN_PREFIX):
            if (cleaned := _without_nul(request.GET)) is not None:
                request.GET = cleaned
            if request.method == "POST" and (cleaned := _without_nul(request.POST)) is not None:
                request.POST = cleaned
        return self.get_response(request)
