"""Resumable SHA-256 and SM3: the state saved after any number of bytes, restored elsewhere,
gives the same digest as hashing everything in one go."""

from __future__ import annotations

import hashlib
import os
import sys

import pytest

from quancheng.common.hashing import STATE_SIZE, ResumableSha256, resumable_sm3


@pytest.mark.parametrize("cut", [0, 1, 55, 56, 63, 64, 65, 1000, 5 * 1024 * 1024 + 3])
def test_a_state_saved_at_any_byte_resumes_to_the_same_digest(cut: int) -> None:
    data = os.urandom(cut + 70_001)
    first = ResumableSha256()
    first.update(data[:cut])
    saved = first.state()

    second = ResumableSha256(saved)
    second.update(data[cut:])

    assert len(saved) == STATE_SIZE
    assert second.hexdigest() == hashlib.sha256(data).hexdigest()
    assert second.length == len(data)


def test_many_saves_and_restores_in_a_row() -> None:
    data = os.urandom(1_000_000)
    state = ResumableSha256().state()
    for start in range(0, len(data), 77_777):
        running = ResumableSha256(state)
        running.update(data[start : start + 77_777])
        state = running.state()

    assert ResumableSha256(state).hexdigest() == hashlib.sha256(data).hexdigest()


def test_the_digest_does_not_disturb_the_running_hash() -> None:
    running = ResumableSha256()
    running.update(b"abc")
    assert running.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    running.update(b"def")
    assert running.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()
    assert ResumableSha256().hexdigest() == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("bad", [b"", b"x" * (STATE_SIZE - 1), b"\xff" * STATE_SIZE])
def test_a_damaged_state_is_refused(bad: bytes) -> None:
    with pytest.raises(ValueError, match="state"):
        ResumableSha256(bad)


# SM3: OpenSSL's own SM3 (through hashlib) is the reference every result is compared with.


def openssl_sm3(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def test_sm3_matches_the_standard_s_example_and_openssl() -> None:
    # GB/T 32905-2016, example 1: "abc".
    abc = resumable_sm3()
    abc.update(b"abc")
    empty = resumable_sm3()

    assert abc.hexdigest() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert empty.hexdigest() == openssl_sm3(b"")
    assert abc.digest() == bytes.fromhex(abc.hexdigest())


@pytest.mark.parametrize("cut", [0, 1, 55, 56, 63, 64, 65, 1000, 5 * 1024 * 1024 + 3])
def test_an_sm3_state_saved_at_any_byte_resumes_to_openssl_s_digest(cut: int) -> None:
    data = os.urandom(cut + 70_001)
    first = resumable_sm3()
    first.update(data[:cut])

    second = resumable_sm3(first.state())
    second.update(data[cut:])

    assert second.hexdigest() == openssl_sm3(data)
    assert first.hexdigest() == openssl_sm3(data[:cut])  # taking a digest changes nothing


def test_sm3_over_many_uneven_pieces_and_restores() -> None:
    data = os.urandom(3_000_000)
    sm3 = resumable_sm3()
    offset, size = 0, 1
    while offset < len(data):
        sm3.update(data[offset : offset + size])
        sm3 = resumable_sm3(sm3.state())
        offset, size = offset + size, size * 3 + 1

    assert sm3.hexdigest() == openssl_sm3(data)


def test_a_damaged_sm3_state_is_refused() -> None:
    state = resumable_sm3().state()

    with pytest.raises(ValueError, match="not a saved SM3 state"):
        resumable_sm3(state[:-1])
    with pytest.raises(ValueError, match="not a saved SM3 state"):
        resumable_sm3(state[:-1] + bytes([64]))


def test_sm3_without_its_extension_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "quancheng_sm3", None)  # as if not installed

    with pytest.raises(RuntimeError, match=r"quancheng-ingest\[sm3\]"):
        resumable_sm3()
