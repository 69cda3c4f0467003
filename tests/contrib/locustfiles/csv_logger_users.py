"""locust.contrib.csv_request_logger with a non-HTTP user (DNS queries to dnsmasq on 127.0.0.1:DNS_PORT) and a
custom event without a response time: the logger's rows (status 0, the exception's text, an empty time) are
compared side by side from requests_log.csv in the working directory."""

import os

import dns.message
import dns.rdatatype

from locust import constant, events, task
from locust.contrib.csv_request_logger import CsvRequestLogger
from locust.contrib.dns import DNSUser
from locust.exception import StopUser

request_logger = CsvRequestLogger("requests_log.csv")


@events.init.add_listener
def _(environment, **kwargs):
    request_logger.register(environment)


class Resolver(DNSUser):
    wait_time = constant(0.05)
    iterations = 0

    @task
    def resolve(self):
        self.iterations += 1
        if self.iterations > 10:
            raise StopUser()
        port = int(os.environ["DNS_PORT"])
        self.client.udp(dns.message.make_query("www.rlocust.test", dns.rdatatype.A), "127.0.0.1", port=port,
                        timeout=2)
        self.client.udp(dns.message.make_query("nx.rlocust.test", dns.rdatatype.A), "127.0.0.1", port=port,
                        timeout=2, name="nxdomain")
        self.environment.events.request.fire(request_type="CUSTOM", name="no time", response_time=None,
                                              response_length=3, exception=None, context={})
