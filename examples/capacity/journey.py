"""The capacity of a whole journey, not of one endpoint: how many shoppers per second can this shop take while
its pages stay under their SLO? An ordinary locustfile (it runs under Locust too); rlocust's capacity search
finds the answer (docs/capacity.md).

Try it against rlocust's own loopback server, whose pools have known capacities: the catalogue pages are served
by 16 slots of 10 ms (1,600 requests/s), the checkout by 4 slots of 40 ms (100 requests/s). A journey makes three
catalogue requests and one checkout, so the shop's true capacity is 100 journeys per second, bound by the checkout:

    rlocust-target --port 8089 &
    rlocust -f examples/capacity/journey.py --headless -H http://127.0.0.1:8089 \
        --search --slo "p95<250; checkout: p95<400; fail_ratio<0.01" --search-start 20 \
        --search-probe-time 10s --search-warmup 3s --csv shop --summary-json shop.json --html shop.html

The search raises the arrival rate (journeys started per second, the open model) 20, 40, 80, 160, finds 160
failing (the checkout's queue grows without end), bisects between 80 and 160 and prints the probes and one
headline line: the capacity (about 100/s), the first failing level and the rule it broke. `shop_search.csv`,
`shop.json`'s `search` object and the report's charts have the same probes. `--search users` searches the number
of users instead (Locust's closed model).
"""

from locust import HttpUser, task


class Shopper(HttpUser):
    @task
    def shop(self):
        self.client.get("/capacity/16/10", name="home")
        self.client.get("/capacity/16/10", name="category")
        self.client.get("/capacity/16/10", name="product")
        self.client.post("/capacity/4/40", name="checkout")
