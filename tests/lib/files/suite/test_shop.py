"""A pytest-style suite: functional tests under `rlocust-python -m pytest --host URL`, load test under
`rlocust -f test_shop.py -H URL` (each test function becomes a user class, as under Locust)."""


def test_home(session):
    resp = session.get("/")
    resp.raise_for_status()
    assert resp.text == "Hello!"


def test_json_fast(fastsession):
    resp = fastsession.get("/json")
    assert resp.status_code == 200
    assert isinstance(resp.json(), dict)


def test_named_and_checked(session):
    with session.get("/status/404", name="/status/[code]", catch_response=True) as resp:
        if resp.status_code == 404:
            resp.success()
    session.get("/hello")
