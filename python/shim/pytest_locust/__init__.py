"""rlocust's counterpart of Locust's pytest plugin package (served from the embedded shim inside rlocust runs)."""
