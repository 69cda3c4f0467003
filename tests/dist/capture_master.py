"""A recording master for tests/dist/test_fleet_protocol.py: binds a ZeroMQ ROUTER (pyzmq, as Locust's master does),
takes one worker through a short run as Locust's master would (ack, a reply to every heartbeat, one spawn, quit) and
writes every message the worker sent, decoded, to a JSON file.

    python capture_master.py PORT OUT.json HOST_URL

Run with the oracle's interpreter (Locust's dependencies: pyzmq, msgpack). Ends by itself within 30 s.
"""

import json
import sys
import time

import msgpack
import zmq

# maps whose keys are data, not field names: described by one value
MAPS = {"response_times", "num_reqs_per_sec", "num_fail_per_sec", "errors", "user_classes_count"}


def describe(v, key=None):
    """The shape of a decoded value: field names in order and the type of each value (a list by its first item, a
    map keyed by data by its first value)."""
    if isinstance(v, dict):
        if key in MAPS:
            first = next(iter(v.items()), None)
            return {"map": None if first is None else [type(first[0]).__name__, describe(first[1])]}
        return {"dict": [[k, describe(x, k)] for k, x in v.items()]}
    if isinstance(v, list):
        return {"list": describe(v[0]) if v else None}
    return type(v).__name__


def main():
    port, out, host = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(f"tcp://127.0.0.1:{port}")
    got = []
    worker = None
    spawned_at = None
    quit_at = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = time.monotonic()
        if worker and spawned_at is None:
            spawned_at = now + 1.0
            continue
        if spawned_at and now >= spawned_at and not any(m["dir"] == "spawn" for m in got):
            data = {"timestamp": time.time(), "user_classes_count": {"User1": 2}, "host": host,
                    "stop_timeout": 0.0, "parsed_options": {}}
            sock.send_multipart([worker, msgpack.dumps(["spawn", data, worker.decode()])])
            got.append({"dir": "spawn"})
            quit_at = now + 5.0
        if quit_at and now >= quit_at and not any(m["dir"] == "quit" for m in got):
            sock.send_multipart([worker, msgpack.dumps(["quit", None, worker.decode()])])
            got.append({"dir": "quit"})
        if not sock.poll(50):
            continue
        frames = sock.recv_multipart()
        ident, payload = frames[0], frames[1]
        kind, data, node_id = msgpack.loads(payload, raw=False, strict_map_key=False)
        got.append({"dir": "in", "type": kind, "shape": describe(data), "node_id": node_id,
                    "stats": len(data.get("stats", [])) if kind == "stats" else None})
        if kind == "client_ready":
            worker = ident
            sock.send_multipart([ident, msgpack.dumps(["ack", {"index": 0}, node_id])])
        elif kind == "heartbeat":
            sock.send_multipart([ident, msgpack.dumps(["heartbeat", None, node_id])])
        elif kind == "quit":
            break
    with open(out, "w") as f:
        json.dump(got, f)
    sock.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main()
