"""`python -m locust` where rlocust answers as Locust (`python -m rlocust.as_locust`): Locust's command line."""

from .main import main

main()
