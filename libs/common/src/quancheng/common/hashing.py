"""SHA-256 whose running state can be saved and resumed, by another process if need be.

An upload of tens of GB arrives in many requests, possibly at different ingest replicas, and its
hash must be computed as the bytes pass (never by reading the file back). Python's hashlib cannot
export a hash's state, so this drives OpenSSL's SHA-256 (the same libcrypto that hashlib uses)
through its plain ``SHA256_CTX`` structure, whose fields are saved in a portable form between
requests.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quancheng_sm3 import Sm3

# SHA256_CTX from <openssl/sha.h>: h[8], Nl, Nh (bit count), data[64] (the partial block, as
# bytes), num (bytes in it), md_len. A public, stable struct since OpenSSL 0.9.8.
_STATE = struct.Struct("<8I2I64s2I")
STATE_SIZE = _STATE.size


class _Context(ctypes.Structure):
    _fields_ = [
        ("h", ctypes.c_uint32 * 8),
        ("nl", ctypes.c_uint32),
        ("nh", ctypes.c_uint32),
        ("data", ctypes.c_ubyte * 64),
        ("num", ctypes.c_uint32),
        ("md_len", ctypes.c_uint32),
    ]


@cache
def _libcrypto() -> ctypes.CDLL:
    name = ctypes.util.find_library("crypto")
    if name is None:
        raise RuntimeError("OpenSSL's libcrypto was not found: resumable SHA-256 needs it")
    lib = ctypes.CDLL(name)  # CDLL releases the GIL during each call
    context = ctypes.POINTER(_Context)
    lib.SHA256_Init.argtypes = [context]
    lib.SHA256_Update.argtypes = [context, ctypes.c_char_p, ctypes.c_size_t]
    lib.SHA256_Final.argtypes = [ctypes.c_char_p, context]
    return lib


class ResumableSha256:
    """``update`` as with hashlib; ``state()`` to save, ``ResumableSha256(state)`` to go on."""

    def __init__(self, state: bytes | None = None) -> None:
        self._ctx = _Context()
        if state is None:
            if _libcrypto().SHA256_Init(ctypes.byref(self._ctx)) != 1:
                raise RuntimeError("SHA256_Init failed")
            return
        if len(state) != STATE_SIZE:
            raise ValueError(f"a SHA-256 state is {STATE_SIZE} bytes, not {len(state)}")
        fields = _STATE.unpack(state)
        self._ctx.h[:] = fields[:8]
        self._ctx.nl, self._ctx.nh = fields[8], fields[9]
        ctypes.memmove(self._ctx.data, fields[10], 64)
        self._ctx.num, self._ctx.md_len = fields[11], fields[12]
        if self._ctx.num >= 64 or self._ctx.md_len != 32:
            raise ValueError("not a SHA-256 state")

    @property
    def length(self) -> int:
        """Bytes hashed so far."""
        bits: int = (self._ctx.nh << 32) | self._ctx.nl
        return bits // 8

    def update(self, data: bytes) -> None:
        if data and _libcrypto().SHA256_Update(ctypes.byref(self._ctx), data, len(data)) != 1:
            raise RuntimeError("SHA256_Update failed")

    def state(self) -> bytes:
        return _STATE.pack(
            *self._ctx.h,
            self._ctx.nl,
            self._ctx.nh,
            bytes(self._ctx.data),
            self._ctx.num,
            self._ctx.md_len,
        )

    def hexdigest(self) -> str:
        """The digest of everything so far; the running state is left as it is."""
        ctx = _Context.from_buffer_copy(self._ctx)
        out = ctypes.create_string_buffer(32)
        if _libcrypto().SHA256_Final(out, ctypes.byref(ctx)) != 1:
            raise RuntimeError("SHA256_Final failed")
        return out.raw.hex()


def resumable_sm3(state: bytes | None = None) -> Sm3:
    """SM3 with the same save-and-resume as ResumableSha256, from the quancheng-sm3 extension
    (OpenSSL has SM3 but cannot export its state). Installed only where SM3 is wanted."""
    try:
        from quancheng_sm3 import Sm3  # optional: built with Rust
    except ImportError as exc:
        raise RuntimeError(
            "SM3 is turned on (QUANCHENG_INGEST__SM3) but the quancheng-sm3 extension is not "
            "installed: pip install 'quancheng-ingest[sm3]' (building it needs Rust's cargo)"
        ) from exc
    return Sm3(state)
