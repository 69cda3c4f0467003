# diff: -u 3 -r 100 -t 3s
# diff-shares: cluster=4
# diff-expect: exit=0 rows=4 failures=0
"""MarkovTaskSet (2.47): the next task follows weighted transitions from the current one."""
from locust import HttpUser, MarkovTaskSet, constant, transition, transitions


class Shopper(MarkovTaskSet):
    @transition("browse")
    def land(self):
        self.client.get("/", name="markov:land")

    @transitions({"browse": 2, "cart": 1})
    def browse(self):
        self.client.get("/items/1", name="markov:browse")

    @transitions([("checkout", 1), ("browse", 1)])
    def cart(self):
        self.client.get("/json", name="markov:cart")

    @transition("land")
    def checkout(self):
        self.client.post("/echo", json={"paid": True}, name="markov:checkout")


class MarkovUser(HttpUser):
    wait_time = constant(0)
    tasks = [Shopper]
