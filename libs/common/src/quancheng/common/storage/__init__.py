"""Object storage: the write-once contract every adapter implements, and the local adapter."""

from quancheng.common.storage.base import (
    InvalidPartError,
    InvalidRangeError,
    NoSuchObjectError,
    NoSuchUploadError,
    ObjectExistsError,
    ObjectInfo,
    ObjectLockedError,
    ObjectStore,
    ObjectStoreError,
    PartInfo,
    section_key,
)
from quancheng.common.storage.local import LocalObjectStore

__all__ = [
    "InvalidPartError",
    "InvalidRangeError",
    "LocalObjectStore",
    "NoSuchObjectError",
    "NoSuchUploadError",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectLockedError",
    "ObjectStore",
    "ObjectStoreError",
    "PartInfo",
    "section_key",
]
