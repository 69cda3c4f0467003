# diff: -u 2 -r 10 -t 3s
# diff-check: names failures exceptions exit markers
# diff-expect: exit=0 failures=0
# diff-markers: mode=set ^MARK .*
"""`files=` as each client encodes it, compared byte for byte (the boundary replaced by B): HttpUser as requests and
urllib3 do (a filename given in a tuple is sent as given, `./data/zidane.jpg` included; a file object's is the
base name of its `.name`, unless it looks like `<stdin>`; a content type and part headers only where given, '"',
CR and LF percent-encoded; None content left out; data fields first, lists as repeated fields; a str or bytes
data=, a 1- or 5-tuple raise ValueError), FastHttpUser as geventhttpclient does (5-tuples with a boundary, its
own filename guess and quoting, its multipart Content-Type over one the locustfile gave, json= with files
refused). The target echoes the body."""
import io
import os
import re

from locust import FastHttpUser, HttpUser, constant, task
from locust.exception import StopUser


class Named(io.BytesIO):
    pass


def named(data, name):
    f = Named(data)
    f.name = name
    return f


def cases():
    return [
        ("path 3-tuple", {"files": [("file", ("./data/zidane.jpg", io.BytesIO(b"JPEG"), "image/jpeg"))]}),
        ("open file", {"files": {"file": open(os.path.abspath(__file__), "rb")}}),
        ("2-tuple dirs", {"files": {"f": ("a/b/c.txt", b"hi")}}),
        ("4-tuple headers", {"files": {"f": ("x.csv", "a,b", "text/csv", {"X-Extra": "1", "Content-Type": "o/r"})}}),
        ("4-tuple lower ct", {"files": {"f": ("x.csv", "a,b", None, {"content-type": "x/y", "X-Empty": ""})}}),
        ("4-tuple list headers", {"files": {"f": ("x.csv", "a,b", "t/t", [("A", "1"), ("B", "2")])}}),
        ("bytes", {"files": {"f": b"raw"}}),
        ("str", {"files": {"f": "text \u00e9"}}),
        ("bytearray", {"files": {"f": ("n", bytearray(b"ba"))}}),
        ("bytearray bare", {"files": {"f": bytearray(b"ba")}}),
        ("bytesio no name", {"files": {"f": io.BytesIO(b"x")}}),
        ("named path", {"files": {"f": named(b"x", "/srv/data/n.bin")}}),
        ("named bytes", {"files": {"f": named(b"x", b"dir/bn.bin")}}),
        ("named <stdin>", {"files": {"f": named(b"x", "<stdin>")}}),
        ("named <abc", {"files": {"f": named(b"x", "<abc")}}),
        ("named abc>", {"files": {"f": named(b"x", "abc>")}}),
        ("named empty", {"files": {"f": named(b"x", "")}}),
        ("named dir/", {"files": {"f": named(b"x", "dir/")}}),
        ("named int", {"files": {"f": named(b"x", 5)}}),
        ("none content", {"files": {"a": None, "b": ("x", None), "c": ("y", b"keep")}}),
        ("data fields", {"files": {"f": ("a.txt", b"A")},
                         "data": {"k": "v", "l": ["1", "2"], "b": b"by", "n": None, "i": 5, "t": ("x", "y"),
                                  b"bk": "bv", "u": "\u00e9", "d": {"dx": 1}, "fl": 1.5, "bo": True}}),
        ("data pairs", {"files": [("f", ("a.txt", b"A")), ("f", ("b.txt", b"B"))], "data": [("k", "1"), ("k", "2")]}),
        ("quote name", {"files": {'q"f\nx': ('a"b\r\n.txt', b"Q")}}),
        ("utf8 name", {"files": {"f": ("\u00e9t\u00e9.txt", b"U")}}),
        ("none filename", {"files": {"f": (None, "value")}}),
        ("int content", {"files": {"f": ("n", 5)}}),
        ("bytes key", {"files": {b"bkey": ("n", b"v")}}),
        ("data str", {"files": {"f": ("n", b"v")}, "data": "s"}),
        ("data bytes", {"files": {"f": ("n", b"v")}, "data": b"s"}),
        ("json and files", {"files": {"f": ("n", b"v")}, "json": {"a": 1}}),
        ("explicit ctype", {"files": {"f": ("n", b"v")}, "headers": {"Content-Type": "multipart/form-data"}}),
        ("1-tuple", {"files": {"f": ("n",)}}),
        ("5-tuple", {"files": {"f": ("n", b"v", "t/t", {"H": "1"}, "myboundary")}}),
        ("memoryview", {"files": {"f": ("n", memoryview(b"mv"))}}),
        ("empty files", {"files": {}, "data": {"k": "v"}}),
    ]


def show(client, label, kw):
    try:
        seen = client.post("/echo", name="/echo", **kw).json()
    except Exception as e:
        print("MARK", label, "raised", type(e).__name__, e)
        return
    ctype = seen["headers"].get("content-type", "")
    body = seen["body"]
    found = re.search(r"boundary=(\w+)", ctype) or re.match(r"--(\w+)\r\n", body)
    if found and found.group(1) != "myboundary":
        ctype, body = ctype.replace(found.group(1), "B"), body.replace(found.group(1), "B")
    print("MARK", label, repr(ctype), repr(body), seen["headers"].get("content-length"))


class Requests(HttpUser):
    wait_time = constant(0)

    @task
    def upload(self):
        for label, kw in cases():
            show(self.client, "requests " + label, kw)
        raise StopUser()


class Fast(FastHttpUser):
    wait_time = constant(0)

    @task
    def upload(self):
        for label, kw in cases():
            show(self.client, "fast " + label, kw)
        raise StopUser()
