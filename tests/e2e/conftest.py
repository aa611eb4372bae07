"""End-to-end tests use the call-server fixtures of tests/conftest.py."""
