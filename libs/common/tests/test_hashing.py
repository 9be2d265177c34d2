"""Resumable SHA-256: the state saved after any number of bytes, restored elsewhere, gives the
same digest as hashing everything in one go."""

from __future__ import annotations

import hashlib
import os

import pytest

from quancheng.common.hashing import STATE_SIZE, ResumableSha256


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
