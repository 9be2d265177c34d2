"""The uploader's own logic: what kind a file is, where unfinished uploads are remembered, and
how it backs off when the server is away (uploads themselves: tests/test_tus_clients.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quancheng.common.testing.cache import free_port
from quancheng.common.uploader import (
    Credentials,
    StateFile,
    Uploader,
    UploadError,
    files_of,
    kind_of,
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("现场.mp4", "video"),
        ("clip.MOV", "video"),
        ("询问.mp3", "audio"),
        ("memo.wav", "audio"),
        ("photo.jpg", "photo"),
        ("scan.tiff", "scan"),
        ("决定书.pdf", "document"),
    ],
)
def test_the_kind_follows_the_file_type(name: str, kind: str) -> None:
    assert kind_of(Path(name)) == kind


def test_a_file_of_unknown_type_needs_its_kind_given() -> None:
    with pytest.raises(UploadError, match="--kind"):
        kind_of(Path("data.bin"))


def test_the_state_file_remembers_and_forgets(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "state" / "uploads.json")
    state.set_item("a", "http://x/files/1")
    state.set_item("b", "http://x/files/2")
    state.remove_item("a")
    state.set_item("c", None)  # what tuspy does when it finds nothing stored

    again = StateFile(tmp_path / "state" / "uploads.json")  # as after a restart
    assert (again.get_item("a"), again.get_item("b")) == (None, "http://x/files/2")
    assert json.loads((tmp_path / "state" / "uploads.json").read_text()) == {
        "b": "http://x/files/2"
    }


def test_folders_are_walked_in_order_and_hidden_files_skipped(tmp_path: Path) -> None:
    (tmp_path / "b.mp4").write_bytes(b"b")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.mp4").write_bytes(b"a")
    (tmp_path / ".partial.mp4").write_bytes(b"x")

    assert files_of([tmp_path]) == [tmp_path / "b.mp4", tmp_path / "sub" / "a.mp4"]
    with pytest.raises(UploadError, match="no such file"):
        files_of([tmp_path / "missing.mp4"])


def test_an_unreachable_server_is_retried_with_growing_pauses_then_given_up(
    tmp_path: Path,
) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"recording")
    pauses: list[float] = []
    uploader = Uploader(
        Credentials(f"http://127.0.0.1:{free_port()}", token="t"),
        device_id="d",
        officer_id="o",
        state_dir=tmp_path / "state",
        retries=5,
        sleep=pauses.append,
    )

    with pytest.raises(UploadError, match="gave up after 5 retries"):
        uploader.upload(source)

    assert pauses == [1, 2, 4, 8, 16]
    assert source.exists()
