"""A pytest-style test that fails: pytest reports it, and a load test records its failure rows."""


def test_server_error(session):
    session.get("/status/500").raise_for_status()
