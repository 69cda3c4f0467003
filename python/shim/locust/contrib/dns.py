"""DNS users (`locust.contrib.dns` of Locust 2.47), on dnspython (`pip install dnspython`).

`self.client.<f>(message, ...)` calls `dns.query.<f>` (udp, tcp, https, tls, quic, ...) and reports it as request_type
`DNS`, name `name=` or the function's name; a DNSException, or a response without an answer, is the failure.
"""

import time

import dns.query
from dns.exception import DNSException

from locust import User
from locust.exception import LocustError


class DNSClient:
    def __init__(self, request_event):
        self.request_event = request_event

    def __getattr__(self, function_name):
        func = getattr(dns.query, function_name)

        def call(message, *args, name=None, **kwargs):
            meta = {
                "request_type": "DNS",
                "name": name or function_name,
                "start_time": time.time(),
                "response_length": 0,
                "context": {},
                "exception": None,
            }
            started = time.perf_counter()
            response = None
            try:
                response = func(message, *args, **kwargs)
            except DNSException as e:
                meta["exception"] = e
            else:
                if not response.answer:
                    meta["exception"] = LocustError("No answer in DNS response")
            meta["response_time"] = (time.perf_counter() - started) * 1000
            meta["response"] = response
            self.request_event.fire(**meta)
            return response

        return call


class DNSUser(User):
    """A user whose `client` runs dnspython's `dns.query` functions, each reported as a request."""

    abstract = True

    def __init__(self, environment):
        super().__init__(environment)
        self.client = DNSClient(environment.events.request)
