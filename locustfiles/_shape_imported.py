"""Helper of shape_duplicates.py: imports the first file's shape (the same class, not a duplicate)."""
from shape_duplicates import Steps  # noqa: F401
