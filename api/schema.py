"""The OpenAPI schema: every operation documents the errors it can answer with, so a client (and
schemathesis) knows a 401, 403, 404, 409 or 429 is part of the contract, not a surprise."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from api.serializers import ErrorSerializer

COMMON_ERRORS = {
    "400": OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input: each field names its problems."),
    "401": OpenApiResponse(ErrorSerializer, description="No token, or an unknown, revoked or expired one."),
    "403": OpenApiResponse(ErrorSerializer, description="The token's user or scopes do not allow this."),
    "429": OpenApiResponse(ErrorSerializer, description="Too many requests for this token; see Retry-After."),
}
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found, or not visible to the token's user.")


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not self.path.startswith("/api/"):
            return responses  # webhooks document what a receiver answers, not our errors
        errors = dict(COMMON_ERRORS)
        if "{" in self.path:
            errors["404"] = NOT_FOUND
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
