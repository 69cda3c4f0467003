"""rlocust's HTTP/2 on the wire (Locust has none, so this is not a side-by-side check; tests/diff's `http2`
scenario compares what the locustfile sees with Locust's HTTP/1.1): nginx in front of the loopback target logs
the protocol and connection of every request. `--http2` makes HttpUser and FastHttpUser speak h2 where ALPN offers
it and h2c by prior knowledge on plain ports, one multiplexed connection per user, HTTP/1.1 where the server
speaks only that (an HTTPS server without h2, a plain port that answers the h2c preface in HTTP/1.1)."""
import os
import subprocess
from collections import defaultdict
from pathlib import Path

from conftest import H2Front, MtlsServer

import diffharness as dh


def test_http2_on_the_wire(diffctx, tmp_path):
    front = H2Front(tmp_path, diffctx.target.url, name="wire")
    plain_tls = MtlsServer(tmp_path)
    try:
        env = dict(os.environ, WIRE_ALPN=front.url, WIRE_H2C=front.h2c_url, WIRE_H1=front.h1_url,
                   WIRE_TLS_H1=plain_tls.url, WIRE_GOAWAY=front.goaway_url)
        cmd = [*diffctx.cmds["rlocust"], "-f", str(dh.REPO / "locustfiles" / "_http2_wire.py"), "--headless",
               "-u", "6", "-r", "100", "-t", "8s", "--http2", "--csv", str(tmp_path / "wire"),
               "-H", diffctx.target.url]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    finally:
        front.close()
        plain_tls.close()
    marks = sorted(line for line in proc.stdout.splitlines() if line.startswith("MARK"))
    assert marks == [
        "MARK alpn [(200, 20)] ReadTimeout",  # h2 by ALPN, the read timeout as over HTTP/1.1
        "MARK fast 200 Hello!",
        "MARK goaway [(200, 20)] ReadTimeout",  # every request carried, across the GOAWAYs
        "MARK h1 [(200, 11)] ReadTimeout",  # h2c refused: HTTP/1.1
        "MARK h2c [(200, 20)] ReadTimeout",  # prior knowledge
        "MARK tls_h1 [(200, 11)] NoneType",  # ALPN: the server picked http/1.1
    ], (marks, proc.stdout[-2000:], proc.stderr[-2000:])
    by_port = defaultdict(list)
    for line in Path(front.log).read_text().splitlines():
        port, proto, conn, method, uri, status = line.split()
        by_port[port].append((proto, conn, uri, status))
    tls_port, h2c_port, h1_port = (u.rsplit(":", 1)[1] for u in (front.url, front.h2c_url, front.h1_url))
    # HTTPS: ALPN h2; two users (Alpn, FastAlpn), one connection each, though Alpn had 8 requests in flight at once
    assert {p for p, *_ in by_port[tls_port]} == {"HTTP/2.0"}, by_port[tls_port]
    assert len({c for _, c, *_ in by_port[tls_port]}) == 2, by_port[tls_port]
    # plain port with h2 only: prior knowledge, one connection
    assert {p for p, *_ in by_port[h2c_port]} == {"HTTP/2.0"}, by_port[h2c_port]
    assert len({c for _, c, *_ in by_port[h2c_port]}) == 1, by_port[h2c_port]
    # GOAWAY after 3 requests: new connections carry the rest, nothing fails but the timeout
    goaway_port = front.goaway_url.rsplit(":", 1)[1]
    assert len({c for _, c, *_ in by_port[goaway_port]}) >= 5, by_port[goaway_port]
    # plain HTTP/1.1 port: the preface is refused once (nginx logs it as a bad request), then HTTP/1.1
    h1 = by_port[h1_port]
    assert [s for p, _, _, s in h1 if p != "HTTP/1.1"] == ["400"], h1
    assert sum(1 for p, *_ in h1 if p == "HTTP/1.1") == 14, h1
