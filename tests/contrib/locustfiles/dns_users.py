"""locust.contrib.dns against a real DNS server (dnsmasq on 127.0.0.1:DNS_PORT): UDP and TCP queries of a name it
knows are `DNS` rows named after the dns.query function (or `name=`); a name it answers without records fails with
"No answer in DNS response", a UDP query of a port where nothing listens (DEAD_PORT) with dnspython's Timeout."""

import os

import dns.message
import dns.rdatatype

from locust import constant, task
from locust.contrib.dns import DNSUser
from locust.exception import StopUser

SERVER = "127.0.0.1"
PORT = int(os.environ["DNS_PORT"])
MAX_ITERATIONS = 20


class Resolver(DNSUser):
    wait_time = constant(0.05)
    iterations = 0

    def on_start(self):
        message = dns.message.make_query("www.rlocust.test", dns.rdatatype.A)
        self.client.udp(message, SERVER, port=int(os.environ["DEAD_PORT"]), timeout=0.3, name="no server")

    @task
    def resolve(self):
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()
        message = dns.message.make_query("www.rlocust.test", dns.rdatatype.A)
        self.client.udp(message, SERVER, port=PORT, timeout=2)
        self.client.tcp(message, SERVER, port=PORT, timeout=2)
        nx = dns.message.make_query("nx.rlocust.test", dns.rdatatype.A)
        self.client.udp(nx, SERVER, port=PORT, timeout=2, name="nxdomain")
