"""`Authorization: Bearer hnd_...` for the API, documented in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from api.tokens import InvalidApiToken, api_token_authenticate


class ApiTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # not ours: session authentication may still apply
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as `Authorization: Bearer <token>`.")
        try:
            token = api_token_authenticate(secret=parts[1].decode("ascii"))
        except UnicodeDecodeError:
            raise AuthenticationFailed("Malformed token.") from None
        except InvalidApiToken as error:
            raise AuthenticationFailed(str(error)) from None
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (`hnd_...`), created in admin → API and integrations → API tokens.",
        }
