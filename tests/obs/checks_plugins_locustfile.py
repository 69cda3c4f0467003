"""checks_locustfile.py with locust-plugins imported: its --check-* options and its quitting listener."""

import locust_plugins  # noqa: F401
from checks_locustfile import Checked  # noqa: F401
