"""`python -m rlocust`."""

from rlocust import main

main()
