"""The tus 1.0.0 protocol's own vocabulary: its headers, their parsing, and Upload-Metadata.

Kept apart from the upload rules so that the routes read as the protocol does.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from quancheng.common import times
from quancheng.common.errors import ApiError
from quancheng.common.times import Moment
from quancheng.ingest.models import Concat

VERSION = "1.0.0"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "checksum",
    "expiration",
    "termination",
    "concatenation",
)
CHECKSUM_ALGORITHMS = ("sha1", "md5", "sha256")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
CHECKSUM_MISMATCH = 460  # tus' own status code

_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


def tus_error(status: int, code: str, message: str, message_zh: str) -> ApiError:
    return ApiError(status, code, message, message_zh, headers={"Tus-Resumable": VERSION})


def check_version(value: str | None) -> None:
    if value != VERSION:
        raise ApiError(
            412,
            "unsupported_tus_version",
            f"Tus-Resumable must be {VERSION}",
            f"仅支持 tus {VERSION} 协议",
            headers={"Tus-Resumable": VERSION, "Tus-Version": VERSION},
        )


def non_negative(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    # isdigit alone takes digits int() refuses, such as "²".
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise tus_error(
            400,
            "invalid_header",
            f"{name} must be a non-negative integer written in the digits 0-9",
            f"{name} 必须是由数字 0-9 写成的非负整数",
        )
    return int(value)


def checksum(value: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum: ``<algorithm> <base64 digest>``."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise tus_error(
            400,
            "unsupported_checksum_algorithm",
            f"checksum algorithm {algorithm!r} is not one of {', '.join(CHECKSUM_ALGORITHMS)}",
            f"不支持校验算法 {algorithm}，可用：{'、'.join(CHECKSUM_ALGORITHMS)}",
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except ValueError:  # binascii.Error, or a character beyond ASCII
        raise tus_error(
            400, "invalid_header", "Upload-Checksum is not base64", "Upload-Checksum 不是 base64"
        ) from None


_UPLOAD_PATH = re.compile(r"^(?:https?://[^/]+)?/files/([0-9a-f]{32})$")


def concat(value: str | None) -> tuple[Concat, list[str]] | None:
    """Upload-Concat: ``partial``, or ``final;<url> <url> …`` naming the partial uploads in
    order (as paths or absolute URLs); returns the kind and, for a final one, the upload ids."""
    if value is None:
        return None
    value = value.strip()
    if value == "partial":
        return Concat.PARTIAL, []
    kind, _, urls = value.partition(";")
    ids: list[str] = []
    for url in urls.split():
        match = _UPLOAD_PATH.match(url)
        if match is None:
            ids = []
            break
        ids.append(match.group(1))
    if kind.strip() != "final" or not ids:
        raise tus_error(
            400,
            "invalid_header",
            "Upload-Concat must be 'partial' or 'final;' and the partial uploads' URLs",
            "Upload-Concat 必须为 partial，或 final; 加各部分上传的地址",
        )
    return Concat.FINAL, ids


def parse_metadata(raw: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated ``key base64(value)`` pairs; a key may stand alone."""
    pairs: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        key, _, encoded = item.partition(" ")
        if not _KEY.match(key):
            raise bad_metadata(_as_sent(key), "is not a valid key", "不是有效的键名")
        if key in pairs:
            raise bad_metadata(key, "is given twice", "重复出现")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except ValueError:  # not base64 (non-ASCII text among it too), or not UTF-8 inside
            raise bad_metadata(
                key, "is not base64 of UTF-8 text", "不是 UTF-8 文本的 base64 编码"
            ) from None
    return pairs


def _as_sent(text: str) -> str:
    """A header's text as its sender wrote it (UTF-8): the server decodes header bytes as
    Latin-1, which would show a Chinese key as mojibake."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def bad_metadata(key: str, problem: str, problem_zh: str) -> ApiError:
    error = tus_error(
        400,
        "invalid_metadata",
        f"Upload-Metadata: {key} {problem}",
        f"Upload-Metadata 中的 {key} {problem_zh}",
    )
    error.extra["key"] = key
    return error


_TRUE = {"true", "1", "yes", "是"}
_FALSE = {"false", "0", "no", "否"}


class UploadMetadata(BaseModel):
    """What an upload says about itself (the keys of Upload-Metadata)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str = Field(min_length=1, max_length=255)
    device_id: UUID
    officer_id: str = Field(min_length=1, max_length=128)
    activity_id: str | None = Field(default=None, min_length=1, max_length=128)
    kind: Literal["video", "audio", "photo", "scan", "document"]
    captured_at: Moment
    captured_until: Moment | None = None
    device_clock: Moment | None = None  # the device's clock when the upload began
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    party_informed: bool | None = None
    returned_at: Moment | None = None  # remote or continuous work (D-14a)
    # A clip or extract (E-4, E-6): the original it was cut from, and which part of it
    # (e.g. "00:01:30-00:03:00", "pages 2-4"). The original itself is never touched.
    source_record_id: UUID | None = None
    source_range: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if "/" in value or "\\" in value or "\x00" in value or value in (".", ".."):
            raise ValueError("must be a file name, not a path")
        return value

    @field_validator("party_informed", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("must be true or false")
        return value

    @classmethod
    def parse(cls, raw: str) -> UploadMetadata:
        pairs = parse_metadata(raw)
        unknown = sorted(set(pairs) - set(cls.model_fields))
        if unknown:
            raise bad_metadata(unknown[0], "is not a known key", "不是可识别的键")
        try:  # a key given without a value counts as not given
            metadata = cls.model_validate({k: v for k, v in pairs.items() if v != ""})
        except ValidationError as exc:
            first = exc.errors()[0]
            key = str(first["loc"][0]) if first["loc"] else "metadata"
            reason = "is required" if first["type"] == "missing" else first["msg"]
            # "Input should be …" reads on from the key: only its first letter is lowered.
            reason = reason[:1].lower() + reason[1:]
            raise bad_metadata(key, reason, _ZH.get(first["type"], reason)) from None
        if metadata.captured_until is not None and metadata.captured_until < metadata.captured_at:
            raise bad_metadata("captured_until", "is before captured_at", "早于 captured_at")
        if (metadata.source_record_id is None) != (metadata.source_range is None):
            missing = "source_range" if metadata.source_range is None else "source_record_id"
            raise bad_metadata(
                missing,
                "is required for a derived item (give both source keys)",
                "缺失：派生条目须同时给出 source_record_id 和 source_range",
            )
        return metadata


_ZH = {
    "missing": "缺失（必填）",
    "uuid_parsing": "不是有效的 UUID",
    "datetime_from_date_parsing": "不是 ISO 8601 时间",
    "datetime_parsing": "不是 ISO 8601 时间",
    "literal_error": "取值无效，应为 video、audio、photo、scan 或 document",
    "string_pattern_mismatch": "格式不正确",
    "string_too_long": "过长",
    "string_too_short": "不能为空",
    "value_error": "取值无效",
    "timezone_aware": times.NO_OFFSET[1],
    "time_out_of_range": times.OUT_OF_RANGE[1],
}
