"""Genuine servers for the test suites, started privately on 127.0.0.1 and stopped afterwards."""
