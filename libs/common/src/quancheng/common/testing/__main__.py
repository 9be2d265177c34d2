"""``python -m quancheng.common.testing``: install every server the test suites start
(PostgreSQL, Apache Kafka, MinIO, Helm, Jaeger, tusd for the ingest benchmark, and Chromium for
the console's browser tests). Each install is cached and a no-op the second time."""

from __future__ import annotations

import time

from quancheng.common.testing import chromium, helm, jaeger, kafka, minio, postgres, tusd


def main() -> None:
    for name, install in (
        ("PostgreSQL", postgres.install),
        ("Apache Kafka", kafka.install),
        ("MinIO", minio.install),
        ("Helm", helm.install),
        ("Jaeger", jaeger.install),
        ("tusd", tusd.install),
        ("Chromium", chromium.install),
    ):
        started = time.monotonic()
        install()
        print(f"test servers: {name} ready ({time.monotonic() - started:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
