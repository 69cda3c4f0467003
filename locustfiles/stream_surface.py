# diff: -u 2 -r 10 -t 3s
# diff-check: names failures exceptions exit markers
# diff-expect: exit=0 failures=0
# diff-markers: mode=set ^MARK .*
"""Reading a body in pieces, with each client's own arguments and results. FastHttpUser (Locust's FastResponse
over geventhttpclient): `iter_content(chunk_size=1024, decode_content=True)` reads the body as it came (not
content-decoded) from `response.stream`, turning each chunk that is UTF-8 into str unless decode_content=False
(an LLM-streaming locustfile passes `decode_content=False` in a catch_response block), nothing without
`stream=True`; `read`, `readline`, iteration, `content` after part of the stream was read (the rest, or zlib's
error on a gzip body), no `raw` and no `iter_lines`. HttpUser (requests): `iter_content` with 0, negative, None
and non-int chunk sizes, the rest of a body after a partial iteration, StreamConsumedError, `raw`'s attributes
(decode_content, chunked, closed, length_remaining, tell, data, read1, readinto, read_chunked) without and with
`stream=True`, and `iter_lines` with a delimiter. Only what both tools read the same way on loopback: no
chunk boundaries of a chunked body under HttpUser, no raw bytes of a compressed one."""
from locust import FastHttpUser, HttpUser, constant, task
from locust.exception import StopUser


def outcome(fn):
    try:
        value = fn()
        if hasattr(value, "__next__"):
            value = list(value)
        return repr(value)
    except Exception as e:
        return f"raised {type(e).__name__}: {e}"


class Fast(FastHttpUser):
    wait_time = constant(0)

    @task
    def fast(self):
        c = self.client
        with c.get("/stream/5", stream=True, catch_response=True, name="fast catch stream") as r:
            chunks = list(r.iter_content(chunk_size=64, decode_content=False))
            print("MARK fast catch_response", [(type(x).__name__, len(x)) for x in chunks], b"".join(chunks).count(b"\n"))
            r.success()
        for label, fn in [
            ("stream default", lambda: c.get("/stream/3", stream=True).iter_content()),
            ("stream 7", lambda: c.get("/stream/3", stream=True).iter_content(7)),
            ("stream 0", lambda: c.get("/stream/3", stream=True).iter_content(0)),
            ("stream None", lambda: c.get("/stream/3", stream=True).iter_content(None)),
            ("gzip raw chunks", lambda: c.get("/gzip", stream=True).iter_content(16, decode_content=False)),
            ("gzip default chunks", lambda: c.get("/gzip", stream=True).iter_content(16)),
            ("brotli raw chunks", lambda: c.get("/brotli", stream=True).iter_content(8, decode_content=False)),
            ("not streamed", lambda: c.get("/bytes/10").iter_content(4, decode_content=False)),
            ("decode_unicode", lambda: c.get("/bytes/10", stream=True).iter_content(4, decode_unicode=True)),
            ("stream.read", lambda: c.get("/stream/3", stream=True).stream.read(10)),
            ("stream.readline", lambda: c.get("/stream/3", stream=True).stream.readline(b"\n")),
            ("readline crlf", lambda: c.get("/stream/3", stream=True).readline()),
            ("read", lambda: c.get("/bytes/10", stream=True).read(4)),
            ("read not streamed", lambda: c.get("/bytes/10").read()),
            ("iterate", lambda: list(c.get("/bytes/10", stream=True))),
            ("attributes", lambda: [hasattr(c.get("/bytes/10"), a) for a in ("stream", "raw", "iter_lines", "read")]),
            ("session iter_lines", lambda: c.iter_lines("/stream/3")),
        ]:
            print("MARK fast", label, outcome(fn))

        def rest_after_read(path):
            r = c.get(path, stream=True)
            first = r.read(3)
            return first, r.content

        print("MARK fast content after read", outcome(lambda: rest_after_read("/bytes/10")))
        print("MARK fast gzip content after read", outcome(lambda: rest_after_read("/gzip")))

        def content_then_stream():
            r = c.get("/gzip", stream=True)
            return r.json(), r.stream.read(), list(r.iter_content())

        print("MARK fast content then stream", outcome(content_then_stream))
        raise StopUser()


class Requests(HttpUser):
    wait_time = constant(0)

    @task
    def requests_api(self):
        c = self.client
        for label, fn in [
            ("sizes", lambda: [list(c.get("/bytes/10").iter_content(n)) for n in (0, -1, None, 4)]),
            ("stream sizes", lambda: [list(c.get("/bytes/10", stream=True).iter_content(n)) for n in (0, -1, None, 4)]),
            ("float size", lambda: c.get("/bytes/10").iter_content(2.5)),
            ("decode_content", lambda: c.get("/bytes/10").iter_content(4, decode_content=False)),
            ("gzip unicode", lambda: c.get("/gzip", stream=True).iter_content(5, True)),
            ("gzip raw decoded", lambda: c.get("/gzip", stream=True).raw.read(4, decode_content=True)),
            ("lines", lambda: c.get("/stream/3", stream=True).iter_lines(decode_unicode=True)),
            ("lines delimiter", lambda: c.get("/stream/3").iter_lines(chunk_size=7, delimiter=b"}")),
            ("lines kwargs", lambda: c.get("/stream/3").iter_lines(1, False, None)),
        ]:
            print("MARK requests", label, outcome(fn))

        def partial_then_content():
            r = c.get("/bytes/10", stream=True)
            return next(r.iter_content(3)), r.content

        def consumed_twice():
            r = c.get("/bytes/10", stream=True)
            list(r.iter_content(4))
            return outcome(lambda: r.content), outcome(lambda: r.iter_content(4))

        def zero_then_content():
            r = c.get("/bytes/10", stream=True)
            return list(r.iter_content(0)), outcome(lambda: r.content)

        def content_then_raw():
            r = c.get("/bytes/10", stream=True)
            return r.content, list(r.iter_content(4)), r.raw.read(), r.raw.closed

        def raw_attributes(path, stream):
            raw = c.get(path, stream=stream).raw
            return (raw.decode_content, raw.chunked, raw.closed, raw.isclosed(), raw.length_remaining, raw.tell(),
                    raw.data, raw.readable())

        def raw_reads():
            raw = c.get("/bytes/10", stream=True).raw
            buf = bytearray(3)
            # (not `closed` right after read1: urllib3 closes then or not, by how the bytes arrived)
            return (raw.read(2), raw.tell(), raw.length_remaining, raw.readinto(buf), bytes(buf), raw.read1(),
                    raw.read(), raw.isclosed(), raw.length_remaining)

        def raw_stream():
            return list(c.get("/bytes/10", stream=True).raw.stream(4)), list(c.get("/bytes/10", stream=True).raw)

        for label, fn in [
            ("partial then content", partial_then_content),
            ("consumed twice", consumed_twice),
            ("zero then content", zero_then_content),
            ("content then raw", content_then_raw),
            ("raw attributes", lambda: raw_attributes("/bytes/10", False)),
            ("raw attributes chunked", lambda: raw_attributes("/stream/3", False)),
            ("raw attributes stream", lambda: raw_attributes("/bytes/10", True)),
            ("raw reads", raw_reads),
            ("raw stream", raw_stream),
            ("read_chunked not chunked", lambda: c.get("/bytes/10", stream=True).raw.read_chunked()),
            ("read_chunked read", lambda: c.get("/stream/3").raw.read_chunked()),
            ("read1 after decoding", lambda: c.get("/gzip").raw.read1()),
        ]:
            print("MARK requests", label, outcome(fn))
        raise StopUser()
