from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

from chat.ids import parse_count


class Pagination(LimitOffsetPagination):
    """limit/offset, refusing nonsense (`limit=-1`, `offset=x`) with a 400 instead of ignoring it."""

    default_limit = 50
    max_limit = 200

    def get_limit(self, request):
        return self._bounded(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request):
        return self._bounded(request, self.offset_query_param, 0, 10_000_000, 0)

    def _bounded(self, request, name: str, low: int, high: int, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        value = parse_count(raw)
        if value is None or not low <= value <= high:
            raise ValidationError({name: f"A whole number from {low} to {high}."})
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, 10_000_000)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"] = {"type": "integer", "minimum": low, "maximum": high}
        return parameters
