"""Object storage: the write-once contract every adapter implements, and the local adapter."""

from quancheng.common.storage.base import (
    AppendableStore,
    Appender,
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
    StagingLostError,
    StoreUnavailableError,
    section_key,
)
from quancheng.common.storage.local import LocalObjectStore

__all__ = [
    "AppendableStore",
    "Appender",
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
    "StagingLostError",
    "StoreUnavailableError",
    "section_key",
]
