"""`locust.dispatch`: the name of Locust's users dispatcher, for code that refers to it (`Environment`'s
`dispatcher_class`, subclasses of it).

In rlocust the dispatch itself (which user class each new user gets, and which users stop first, in Locust's
order) is the Rust runner's (src/runner/dispatch.rs): `Environment(dispatcher_class=...)` is accepted and kept as
`environment.dispatcher_class`, and the runner never calls it. Creating one says so.
"""


class UsersDispatcher:
    """Locust's dispatcher class; the dispatch is rlocust's Rust runner's, so an instance cannot dispatch."""

    def __init__(self, worker_nodes, user_classes):
        raise NotImplementedError(
            "rlocust dispatches users in its Rust runner (with Locust's rules); "
            "locust.dispatch.UsersDispatcher cannot be used on its own"
        )
