"""`locust.util.url`: whether a `-f` value names a locustfile to download (Locust's `is_url`)."""

from urllib.parse import urlparse


def is_url(url: str) -> bool:
    """True for an http or https URL that names a host."""
    try:
        parsed = urlparse(url)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)
