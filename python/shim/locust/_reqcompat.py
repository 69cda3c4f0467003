"""The parts of requests' API that live in Python around the engine's exchange: prepared requests that auth classes
and hooks can work on, response hooks, `session.send`/`prepare_request`, and the adapter a hook resends through
(`response.connection`). The prepared request itself and requests' Response helpers are in `locust._ffi` (the
Rust `Response` makes them too).

Real `requests` objects are used when requests is installed (an `AuthBase` subclass, `requests.Request` or
`HTTPDigestAuth` can only come from an installed requests): a locustfile's auth class then sees the
`PreparedRequest` it was written for. Without requests, `locust._ffi.PreparedRequest` offers the same attributes.

Only calls that use these features pay for them: a plain `client.get(...)` never comes here.
"""

from locust._ffi import HOOKS, PreparedRequest, _requests, default_hooks, new_prepared  # noqa: F401


def apply_auth(prep, auth):
    """requests' `prepare_auth` for a callable auth: the auth may change the request or return another one."""
    r = auth(prep)
    if r is not None and r is not prep:
        prep.__dict__.update(r.__dict__)
    return prep


def merge_hooks(request_hooks, session_hooks):
    """requests' `merge_hooks`: the request's list for an event replaces the session's (not added to it)."""
    if not session_hooks or session_hooks.get("response") == []:
        return request_hooks
    if not request_hooks or request_hooks.get("response") == []:
        return session_hooks
    merged = dict(session_hooks)
    merged.update(request_hooks)
    return {k: v for k, v in merged.items() if v is not None}


def register_hooks(prep, hooks):
    """requests' `prepare_hooks`: every event's hook (or list of hooks) registered on `prep`."""
    for event, hook in (hooks or {}).items():
        prep.register_hook(event, hook)


def dispatch(prep_hooks, response, hook_kwargs):
    """requests' `dispatch_hook('response', ...)`: each hook may return a response that replaces the current one."""
    hooks = (prep_hooks or {}).get("response")
    if not hooks:
        return response
    if callable(hooks):
        hooks = [hooks]
    for hook in hooks:
        out = hook(response, **hook_kwargs)
        if out is not None:
            response = out
    return response


def has_hooks(hooks):
    if not hooks:
        return False
    h = hooks.get("response")
    return bool(h)


def body_bytes(body):
    """A prepared request's body as the engine takes it."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "__iter__"):
        return b"".join(x.encode("utf-8") if isinstance(x, str) else bytes(x) for x in body)
    return str(body).encode("utf-8")


class Adapter:
    """`response.connection`: what requests' transport adapter offers a hook, `send(prepared, **kwargs)`, through the
    session's engine (not recorded in the statistics, as requests' own resends are not)."""

    def __init__(self, session):
        self._session = session

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None, **kwargs):
        return self._session._send_prepared(request, timeout=timeout, verify=verify, allow_redirects=False,
                                            stream=stream, hooks=False, proxies=proxies, env_proxies=False)

    def close(self):
        pass

    def __repr__(self):
        return "<rlocust.HTTPAdapter>"
