"""The content store: files filed under their sha256, stored once, checked for damage."""

from __future__ import annotations

import hashlib

from ingest_pipeline.store.content import ContentStore


def _everything(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_bytes_are_filed_under_their_hash_and_stored_once(tmp_path):
    store = ContentStore(tmp_path / "store")
    source = tmp_path / "notes.txt"
    source.write_bytes(b"tide tables for the estuary\n")
    stored = store.put_file(source)
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest() and stored.size_bytes == 28
    assert store.path_for(stored.sha256).read_bytes() == source.read_bytes()
    before, inode = _everything(store.root), store.path_for(stored.sha256).stat().st_ino
    # A re-ingest of the same bytes (under any name) creates, replaces and leaves behind nothing.
    copy = tmp_path / "copy.txt"
    copy.write_bytes(source.read_bytes())
    assert store.put_file(copy) == stored
    assert _everything(store.root) == before and store.path_for(stored.sha256).stat().st_ino == inode


def test_new_bytes_get_a_new_file_and_the_old_one_stays(tmp_path):
    store = ContentStore(tmp_path / "store")
    source = tmp_path / "notes.txt"
    source.write_bytes(b"first version")
    first = store.put_file(source)
    source.write_bytes(b"second version")
    second = store.put_file(source)
    assert first.sha256 != second.sha256
    assert store.path_for(first.sha256).read_bytes() == b"first version"
    assert store.path_for(second.sha256).read_bytes() == b"second version"
    assert not [p for p in store.root.iterdir() if p.name.startswith(".incoming-")]


def test_verify_catches_stored_bytes_that_changed(tmp_path):
    store = ContentStore(tmp_path / "store")
    source = tmp_path / "notes.txt"
    source.write_bytes(b"salt marsh survey")
    stored = store.put_file(source)
    assert store.verify(stored.sha256)
    store.path_for(stored.sha256).write_bytes(b"salt marsh survey, altered")
    assert not store.verify(stored.sha256)
