# diff: -u 1 -r 10 -t 3s
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
"""What FastHttpUser sends for each kind of body, as geventhttpclient builds it: bytes as application/octet-stream,
str as text/plain with charset, a dict URL-encoded with charset, json=, files= (multipart with
form fields from data=), an explicit Content-Type kept, an empty body; a list of pairs or a bytearray
fails (geventhttpclient takes them for files). Not here: a file object, which geventhttpclient sends chunked and
rlocust with a Content-Length. The target echoes the request."""
from locust import FastHttpUser, constant, task
from locust.exception import StopUser


class Bodies(FastHttpUser):
    wait_time = constant(0)

    @task
    def bodies(self):
        cases = [
            ("bytes", {"data": b"ab"}),
            ("str", {"data": "ab\u00e9"}),
            ("dict", {"data": {"a": "1", "b": "x y"}}),
            ("pairs", {"data": [("a", "1"), ("a", "2")]}),
            ("json", {"json": {"a": 1}}),
            ("explicit type", {"data": b"ab", "headers": {"content-type": "x/y"}}),
            ("empty", {"data": b""}),
            ("files", {"files": {"f": ("a.txt", b"hi", "text/plain")}, "data": {"k": "v"}}),
            ("file list", {"files": [("f", ("b.bin", b"\x00\x01"))]}),
            ("bytearray", {"data": bytearray(b"ab")}),
        ]
        for label, kw in cases:
            try:
                r = self.client.post("/echo", name=f"/echo {label}", **kw)
            except Exception as e:
                print("MARK", label, "raised", type(e).__name__, e)
                continue
            seen = r.json()
            ctype = seen["headers"].get("content-type", "")
            body = seen["body"]
            if ctype.startswith("multipart/form-data; boundary="):
                boundary = ctype.split("=", 1)[1]
                ctype, body = "multipart/form-data; boundary=B", body.replace(boundary, "B")
            print("MARK", label, repr(ctype), seen["headers"].get("content-length"), repr(body))
        raise StopUser()
