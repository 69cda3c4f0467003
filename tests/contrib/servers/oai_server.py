"""A tiny OpenAI-compatible HTTP endpoint on 127.0.0.1 for locustfiles/oai_users.py (no real one runs offline).

    python oai_server.py PORT

POST /v1/responses answers a completed Response whose usage has 7 output tokens; POST /v1/chat/completions answers
a chat completion (its usage has no `output_tokens`). The model `no-such-model` gets OpenAI's 404 error document.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1700000000,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "parallel_tool_calls": True,
    "temperature": 1.0,
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "output": [{
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Use isinstance().", "annotations": []}],
    }],
    "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 7,
              "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 19},
}

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "Use isinstance()."}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
}

NOT_FOUND = {"error": {"message": "The model `no-such-model` does not exist.", "type": "invalid_request_error",
                       "param": None, "code": "model_not_found"}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if body.get("model") == "no-such-model":
            status, doc = 404, NOT_FOUND
        elif self.path == "/v1/responses":
            status, doc = 200, dict(RESPONSE, model=body.get("model"))
        elif self.path == "/v1/chat/completions":
            status, doc = 200, dict(CHAT, model=body.get("model"))
        else:
            status, doc = 404, {"error": {"message": "unknown path", "type": "invalid_request_error"}}
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
