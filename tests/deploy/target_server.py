"""The load tests' target inside a pod's network namespace: a threaded HTTP server on 127.0.0.1 that counts the
requests it answers per path (`GET /__count` returns the counts as JSON and is not counted itself).

    python3 target_server.py PORT MAX_SECONDS

It stops by itself after MAX_SECONDS. Standard library only: it runs with the image's own Python.
"""

import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = Counter()
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/__count":
            with LOCK:
                body = json.dumps(dict(COUNTS)).encode()
        else:
            with LOCK:
                COUNTS[self.path] += 1
            body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def main():
    port, max_seconds = int(sys.argv[1]), float(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Timer(max_seconds, server.shutdown).start()
    print(f"target listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
