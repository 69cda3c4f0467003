"""Rounding helper (rlocust shim of ``locust.util.rounding``)."""


def proper_round(val: float, digits=0) -> int | float:
    """Round half up: nudges the value by a tiny amount (based on its repr length) before round()."""
    as_float = float(val)
    return round(as_float + 10 ** (-len(str(as_float)) - 1), digits)
