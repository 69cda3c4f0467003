"""Whether a script drives the run (`rlocust-python`: Locust as a library, `python locustfile.py`, pytest) rather
than rlocust's command line."""


def library_mode():
    try:
        import _rlocust

        return _rlocust.library_mode() is True
    except Exception:  # the shim imported outside rlocust (its unit tests' engine stub)
        return False
