"""Statistics computed in PostgreSQL, never on a sliced list of rows in Python."""

from django.contrib.postgres.fields import ArrayField
from django.db.models import Aggregate, FloatField, Func


class PercentileCont(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): the interpolated percentile.

    With `fractions` instead, percentile_cont(ARRAY[...]): the list of those percentiles from one
    sort of the group (each percentile_cont sorts its group again).
    """

    function = "PERCENTILE_CONT"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float | None = None, fractions: tuple[float, ...] = (), **extra):
        checked = [_fraction(f) for f in (fractions or (fraction,))]
        if fractions:
            self.output_field = ArrayField(FloatField())
        # Floats we checked, written into the SQL: percentile_cont wants a constant here.
        super().__init__(expression, **extra)
        argument = f"ARRAY{checked!r}" if fractions else repr(checked[0])
        self.template = f"%(function)s({argument}) WITHIN GROUP (ORDER BY %(expressions)s)"


def _fraction(fraction) -> float:
    fraction = float(fraction)
    if not 0 <= fraction <= 1:
        raise ValueError(f"a percentile's fraction is between 0 and 1, got {fraction}")
    return fraction


class Seconds(Func):
    """The seconds in an interval (e.g. F("ended_at") - F("assigned_at")), as a float."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()
