"""Statistics computed in PostgreSQL, never on a sliced list of rows in Python."""

from django.db.models import Aggregate, FloatField, Func


class PercentileCont(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): the interpolated percentile."""

    function = "PERCENTILE_CONT"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra) -> None:
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError(f"a percentile's fraction is between 0 and 1, got {fraction}")
        # A float we checked, written into the SQL: percentile_cont wants a constant here.
        super().__init__(expression, **extra)
        self.template = f"%(function)s({fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)"


class Seconds(Func):
    """The seconds in an interval (e.g. F("ended_at") - F("assigned_at")), as a float."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()
