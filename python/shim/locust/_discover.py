"""rlocust internals: which locustfiles `-f` names (files, directories, URLs), by Locust's rules and messages
(reference §4.4), and the error a user can cause that ends the run with one message."""

import os

from locust.util.url import is_url


class UserFacingError(Exception):
    """A finished one-line (or traceback) message for the user, with the exit code to use."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.message = message
        self.code = code


def _download(url):
    """Locust's locustfile download (`-f https://...`): the body must be Python source; it is saved in the temp
    directory under the URL's last path segment and removed at exit."""
    import ast
    import atexit
    import tempfile
    import urllib.error
    import urllib.request
    from urllib.parse import urlparse

    try:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                body = response.read()
        except urllib.error.HTTPError as e:  # like requests.get: an error status still has a body to check
            body = e.read()
    except (OSError, ValueError) as e:
        raise UserFacingError(f"Failed to get locustfile from: {url}. Exception: {e}", 1)
    text = body.decode("utf-8", "replace")
    try:
        ast.parse(text)
    except SyntaxError:
        raise UserFacingError(
            f"Failed to get locustfile from: {url}. Response was not valid python code: '{text[:100]}'", 1
        )
    name = os.path.join(tempfile.gettempdir(), urlparse(url).path.split("/")[-1])
    with open(name, "w") as locustfile:
        locustfile.write(text)

    def remove():
        try:
            os.remove(name)
        except OSError:
            pass

    atexit.register(remove)
    return name


def _resolve(paths):
    files = []
    for raw in paths:
        path = raw.strip()
        if not path:
            continue
        if is_url(path):
            files.append(_download(path))
        elif os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                for n in names:
                    if n.endswith(".py") and not n.startswith("_"):
                        found.append(os.path.abspath(os.path.join(root, n)))
            if not found:
                raise UserFacingError(f"Could not find any locustfiles in directory '{path}'", 1)
            files.extend(found)
        elif os.path.isfile(path) and path.endswith(".py"):
            files.append(os.path.abspath(path))
        else:
            raise UserFacingError(
                f"Could not find '{path}'. Ensure your locustfile ends with '.py' or is a directory with locustfiles. "
                "See --help for available options.",
                1,
            )
    return files
