"""Time span parsing (rlocust shim of ``locust.util.timespan``)."""

import re
from datetime import timedelta

_INVALID = (
    "Invalid time span format. Valid formats: 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc."
)
_PARTS = re.compile(r"((?P<hours>\d+?)h)?((?P<minutes>\d+?)m)?((?P<seconds>\d+?)s)?")


def parse_timespan(time_str) -> int:
    """Seconds in a span such as ``20``, ``20s``, ``3m``, ``2h``, ``1h20m`` or ``3h30m10s``."""
    if not time_str:
        raise ValueError("Invalid time span format")
    if re.match(r"^\d+$", time_str):
        return int(time_str)
    match = _PARTS.match(time_str)
    if not match or match.group(0) != time_str:
        raise ValueError(_INVALID)
    units = {unit: int(amount) for unit, amount in match.groupdict().items() if amount}
    if not units:
        raise ValueError(_INVALID)
    return int(timedelta(**units).total_seconds())
