"""Helpers the test suites share (imported by their conftest.py files, which put tests/ on sys.path)."""
