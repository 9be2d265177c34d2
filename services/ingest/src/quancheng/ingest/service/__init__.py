"""Ingest's rules, one module per subject."""
