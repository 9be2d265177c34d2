"""Ingest: resumable uploads of recordings into write-once storage (A-11, A-13, D-14, E-4..E-11)."""
