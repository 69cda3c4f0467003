"""A helper module next to the locustfile, as real projects keep them (`import common.auth`)."""


def credentials(fake):
    return {"username": fake.user_name(), "password": "secret"}
