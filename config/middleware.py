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


# The one inline handler the inbox has (the status <select>'s onchange), allowed by its hash; every
# other inline script or handler, and any injected <script>, is refused. htmx's hx-on attributes are
# compiled with new Function, hence 'unsafe-eval' (moving them into static/inbox/inbox.js would let
# it go). Styles may be inline: the widget styles its shadow root, htmx adds its indicator style.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-eval' 'unsafe-hashes' 'sha256-UzlcSmbX0yUJT7hkhoYjXfKWsyloSDaNGC7i5v9WcAE='",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",  # the WebSockets of this site (CSP 3: 'self' covers ws: and wss:)
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# drf-spectacular's Swagger UI and Redoc pages run inline scripts of their own.
CSP_EXEMPT_PREFIXES = ("/api/docs/",)


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every HTML page of this site (inbox, admin, sign-in, the demo
    shop): a script that slips past escaping does not run. The widget on other sites is under
    their policy, not ours: README.md, Embedding the widget, says what it needs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        html = response.get("Content-Type", "").startswith("text/html")
        if html and not request.path.startswith(CSP_EXEMPT_PREFIXES):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
