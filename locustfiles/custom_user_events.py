# diff: -u 3 -r 100 -t 3s
# diff-check: all -shares
# diff-expect: exit=1 rows=5 failures=2 exceptions=0
"""Non-HTTP users that report through events.request themselves (seeds 000 and 002): the seed's gRPC client
wrapper (a stand-in stub replaces the generated one, so no grpc package is needed), events.request.measure(),
a request with response_time=None, and the seed-002 style request.fire without exception=. (The seed's removed
`events.request_success` API is an AttributeError in Locust 2.47 and a deprecated alias in rlocust, so it is
not compared here.)"""
import time

from locust import User, events, task
from locust.exception import LocustError


class FakeRpcError(Exception):
    """Stands in for grpc.RpcError."""


class HelloReply:
    def __init__(self, message):
        self.message = message


class HelloServiceStub:
    """Stands in for hello_pb2_grpc.HelloServiceStub; every fourth call fails."""

    def __init__(self, channel):
        self.channel = channel
        self.calls = 0

    def SayHello(self, request):
        self.calls += 1
        time.sleep(0.01)
        if self.calls % 4 == 0:
            raise FakeRpcError("StatusCode.UNAVAILABLE: try again")
        return HelloReply(f"Hello from Locust, {request['name']}!")


class GrpcClient:
    def __init__(self, environment, stub):
        self.env = environment
        self._stub_class = stub.__class__
        self._stub = stub

    def __getattr__(self, name):
        func = self._stub_class.__getattribute__(self._stub, name)

        def wrapper(*args, **kwargs):
            request_meta = {
                "request_type": "grpc",
                "name": name,
                "start_time": time.time(),
                "response_length": 0,
                "exception": None,
                "context": None,
                "response": None,
            }
            start_perf_counter = time.perf_counter()
            try:
                request_meta["response"] = func(*args, **kwargs)
                request_meta["response_length"] = len(request_meta["response"].message)
            except FakeRpcError as e:
                request_meta["exception"] = e
            request_meta["response_time"] = (time.perf_counter() - start_perf_counter) * 1000
            self.env.events.request.fire(**request_meta)
            return request_meta["response"]

        return wrapper


class GrpcUser(User):
    abstract = True
    stub_class = None

    def __init__(self, environment):
        super().__init__(environment)
        for attr_value, attr_name in ((self.host, "host"), (self.stub_class, "stub_class")):
            if attr_value is None:
                raise LocustError(f"You must specify the {attr_name}.")
        self._channel = ("insecure-channel", self.host)
        self._channel_closed = False
        stub = self.stub_class(self._channel)
        self.client = GrpcClient(environment, stub)


class HelloGrpcUser(GrpcUser):
    host = "localhost:50051"
    stub_class = HelloServiceStub

    @task
    def sayHello(self):
        if not self._channel_closed:
            self.client.SayHello({"name": "Test"})
        time.sleep(0.05)


class MeasuredUser(User):
    fixed_count = 1

    @task
    def measured(self):
        with self.environment.events.request.measure("custom", "measured") as meta:
            time.sleep(0.01)
            meta["response_length"] = 3
        with self.environment.events.request.measure("custom", "measured-fail"):
            time.sleep(0.005)
            raise ValueError("measured failure")
        self.environment.events.request.fire(request_type="custom", name="no-time", response_time=None,
                                             response_length=0, exception=None, context={})
        time.sleep(0.05)


class CoeusUser(User):
    fixed_count = 1

    @task
    def registry(self):
        events.request.fire(request_type="coeus", name="registry", response_time=0, response_length=0)
        time.sleep(0.05)
