"""What the vector-database users (`milvus`, `qdrant`) share: a client call timed into the result dict their
methods return, and that dict reported as a request (response time in whole milliseconds, length 0)."""

import time

from locust import events


def timed(call, judge=None):
    """Run `call()`: {"success", "response_time" (ms), "result"} plus `empty` when `judge(result)` tells, or
    {"success": False, "response_time", "exception"} when it raises."""
    started = time.time()
    try:
        result = call()
        elapsed = (time.time() - started) * 1000
        if judge is None:
            return {"success": True, "response_time": elapsed, "result": result}
        empty = judge(result)
        return {"success": not empty, "response_time": elapsed, "empty": empty, "result": result}
    except Exception as e:
        return {"success": False, "response_time": (time.time() - started) * 1000, "exception": e}


def fire(request_type, name, result):
    """`events.request` for a timed call's result: its exception is the failure (an empty result is none)."""
    events.request.fire(request_type=f"{request_type}", name=name, response_time=int(result.get("response_time", 0)),
                        response_length=0, exception=result.get("exception"))
