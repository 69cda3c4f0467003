"""Date formatting helpers (rlocust shim of ``locust.util.date``)."""

from datetime import UTC, datetime


def format_utc_timestamp(unix_timestamp):
    """``%Y-%m-%dT%H:%M:%SZ`` in UTC, whole seconds."""
    return datetime.fromtimestamp(int(unix_timestamp), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def format_safe_timestamp(unix_timestamp):
    """``%Y-%m-%d-%Hh%M`` in local time (safe for file names)."""
    return datetime.fromtimestamp(int(unix_timestamp)).strftime("%Y-%m-%d-%Hh%M")


def format_duration(start_time, end_time):
    """E.g. ``"1 hour, 2 minutes and 5 seconds"``; ``"0 seconds"`` when under a second."""
    total = int(end_time - start_time)
    amounts = [
        (total // 86400, "day"),
        ((total % 86400) // 3600, "hour"),
        ((total % 3600) // 60, "minute"),
        (total % 60, "second"),
    ]
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in amounts if n > 0]
    if not parts:
        return "0 seconds"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]
