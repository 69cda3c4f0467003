"""A minimal MongoDB wire-protocol responder on 127.0.0.1 for locustfiles/mongodb_users.py: no MongoDB server is
packaged for Debian 12, and PyPI's only download `mongod` at run time. It is enough for pymongo to connect to a
standalone server and run `find`, and nothing more (no storage):

    python mongo_wire.py PORT

- the handshake (`hello`/`isMaster`, as OP_QUERY or OP_MSG) describes a standalone server, without sessions;
- `find` on any collection answers an empty cursor, except on the collection `broken`: a command error
  (code 2, BadValue), which pymongo raises as OperationFailure;
- every other command answers `{ok: 1}`.
Each `find` received is counted; the command `rlocustFinds` answers the count (so a test can see the queries were
sent, not only that a cursor was made).
"""

import datetime
import socketserver
import struct
import sys
import threading

import bson

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
_finds = 0
_lock = threading.Lock()
_ids = iter(range(1, 1 << 30))


def hello(connection_id):
    return {"helloOk": True, "ismaster": True, "isWritablePrimary": True, "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000, "maxWriteBatchSize": 100_000,
            "localTime": datetime.datetime.now(datetime.timezone.utc), "minWireVersion": 0, "maxWireVersion": 21,
            "readOnly": False, "connectionId": connection_id, "ok": 1.0}


def answer(command, connection_id):
    global _finds
    name = next(iter(command), "").lower()
    if name in ("hello", "ismaster"):
        return hello(connection_id)
    if name == "find":
        with _lock:
            _finds += 1
        if command["find"] == "broken":
            return {"ok": 0.0, "errmsg": "broken collection", "code": 2, "codeName": "BadValue"}
        return {"cursor": {"firstBatch": [], "id": bson.int64.Int64(0), "ns": f"{command.get('$db')}.{command['find']}"},
                "ok": 1.0}
    if name == "rlocustfinds":
        return {"finds": _finds, "ok": 1.0}
    return {"ok": 1.0}


class Handler(socketserver.BaseRequestHandler):
    def read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def handle(self):
        connection_id = next(_ids)
        try:
            while True:
                length, request_id, _, opcode = struct.unpack("<iiii", self.read(16))
                body = self.read(length - 16)
                if opcode == OP_QUERY:
                    end = body.index(b"\0", 4)
                    size = struct.unpack("<i", body[end + 9:end + 13])[0]
                    command = bson.decode(body[end + 9:end + 9 + size])
                    doc = bson.encode(answer(command, connection_id))
                    payload = struct.pack("<iqii", 0, 0, 0, 1) + doc
                    reply_op = OP_REPLY
                elif opcode == OP_MSG:
                    flags = struct.unpack("<I", body[:4])[0]
                    if body[4] != 0:
                        raise ConnectionError("only a kind-0 section first is understood")
                    size = struct.unpack("<i", body[5:9])[0]
                    command = bson.decode(body[5:5 + size])
                    if flags & 2:  # moreToCome: no answer expected
                        continue
                    payload = struct.pack("<IB", 0, 0) + bson.encode(answer(command, connection_id))
                    reply_op = OP_MSG
                else:
                    raise ConnectionError(f"opcode {opcode}")
                header = struct.pack("<iiii", 16 + len(payload), next(_ids), request_id, reply_op)
                self.request.sendall(header + payload)
        except (ConnectionError, OSError):
            return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
