"""The exception objects the shim builds from the engine's descriptions (`locust._ffi.build_exc`): real classes
when requests/urllib3/geventhttpclient are installed, look-alikes with the same module, name, bases and repr()
when they are not, and Locust's unwrapping of connection errors (`reported_error`)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENGINE_STUB_SOURCE

from locust import _ffi

SHIM = Path(__file__).resolve().parents[2] / "python" / "shim"

# requests' ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(…)', IncompleteRead(…))), as the
# engine describes it (src/py/response.rs exc_to_py): ("E", class, args, attrs, context, chain)
INCOMPLETE = ("E", "http.client.IncompleteRead", [b"abc"], [("partial", b"abc"), ("expected", 7)], None, 0)
PROTOCOL = ("E", "urllib3.exceptions.ProtocolError",
            ["Connection broken: IncompleteRead(3 bytes read, 7 more expected)", INCOMPLETE], [], INCOMPLETE, 1)
CHUNKED = ("E", "requests.exceptions.ChunkedEncodingError", [PROTOCOL], [], PROTOCOL, 0)

REFUSED_ROOT = ("E", "builtins.ConnectionRefusedError", [111, "Connection refused"], [], None, 0)
NEW_CONN = ("E", "urllib3.exceptions.NewConnectionError", ["HTTPConnection(host='h', port=1): Failed"], [],
            REFUSED_ROOT, 0)
MAX_RETRY = ("E", "urllib3.exceptions.MaxRetryError", ["HTTPConnectionPool(host='h', port=1): Max retries"], [],
             NEW_CONN, 0)
REFUSED = ("E", "requests.exceptions.ConnectionError", [MAX_RETRY], [], MAX_RETRY, 0)


def test_descriptions_become_the_clients_own_exceptions():
    e = _ffi.build_exc(CHUNKED)
    import requests

    assert isinstance(e, requests.exceptions.ChunkedEncodingError)
    assert repr(e) == ("ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(3 bytes read, 7 more "
                       "expected)', IncompleteRead(3 bytes read, 7 more expected)))")
    assert e.response is None and e.request is None
    assert e.__context__.__cause__ is e.__context__.__context__, "raise ProtocolError(...) from e"
    assert _ffi.reported_error(e) is e, "Locust does not look through ChunkedEncodingError"


def test_connection_errors_are_reported_by_their_root_cause():
    e = _ffi.build_exc(REFUSED)
    root = _ffi.reported_error(e)
    assert repr(root) == "ConnectionRefusedError(111, 'Connection refused')"
    assert isinstance(root, ConnectionRefusedError) and root.errno == 111


def test_objects_shown_only_by_repr_keep_it():
    d = ("E", "urllib3.exceptions.ConnectTimeoutError",
         [("O", "<urllib3.connection.HTTPConnection object at 0x....>"), "Connection to h timed out."], [], None, 0)
    assert repr(_ffi.build_exc(d)) == ("ConnectTimeoutError(<urllib3.connection.HTTPConnection object at 0x....>, "
                                          "'Connection to h timed out.')")


def test_without_the_client_packages_the_look_alikes_behave_the_same():
    # a fresh interpreter where requests, urllib3 and geventhttpclient cannot be imported
    code = f"""
import sys
for name in ("requests", "urllib3", "geventhttpclient"):
    sys.modules[name] = None
sys.path.insert(0, {str(SHIM)!r})
from locust import _ffi
chunked = _ffi.build_exc({CHUNKED!r})
print(type(chunked).__module__, type(chunked).__qualname__, isinstance(chunked, IOError))
print(repr(chunked))
print(repr(_ffi.reported_error(_ffi.build_exc({REFUSED!r}))))
icl = _ffi.build_exc(("E", "urllib3.exceptions.InvalidChunkLength", [], [("length", b"zz\\r\\n"), ("partial", 0)], None, 2))
print(repr(icl))
ghc = _ffi.build_exc(("E", "geventhttpclient.useragent.RetriesExceeded", ["http://h/x", 0],
                         [("url", "http://h/x"), ("text", "0, original=timed out"), ("kw_text", "original=timed out")],
                         None, 0))
print(repr(ghc), str(ghc))
print(_ffi.exc_module().MissingSchema.__module__, _ffi.exc_module().MissingSchema.__name__)
"""
    out = subprocess.run([sys.executable, "-c", ENGINE_STUB_SOURCE + code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "LOCUST_SKIP_MONKEY_PATCH": "1"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "requests.exceptions ChunkedEncodingError True"
    assert lines[1] == ("ChunkedEncodingError(ProtocolError('Connection broken: IncompleteRead(3 bytes read, 7 more "
                        "expected)', IncompleteRead(3 bytes read, 7 more expected)))")
    assert lines[2] == "ConnectionRefusedError(111, 'Connection refused')"
    assert lines[3] == "InvalidChunkLength(got length b'zz\\r\\n', 0 bytes read)"
    assert lines[4] == "RetriesExceeded('http://h/x', 0, original=timed out) URL http://h/x: 0, original=timed out"
    assert lines[5] == "requests.exceptions MissingSchema", "no internal class names in tracebacks"


@pytest.mark.parametrize("name", ["ValueError", "UnicodeDecodeError"])
def test_escaping_errors_are_raised_from_a_frame_named_after_their_class(name):
    err = ValueError("x") if name == "ValueError" else UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    with pytest.raises(type(err)) as info:
        _ffi.raise_escaped(err)
    assert info.traceback[-1].name == f"raise_{name}"
