"""Data fingerprints: a changed file is noticed (size, content, or mtime for files too large to hash)."""

from __future__ import annotations

import os

from nnrun.data import fingerprint as fp


def test_the_same_file_touched_is_the_same_data(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n")
    before = fp.fingerprint(data)
    os.utime(data, (1, 1))
    assert fp.changes(before, fp.fingerprint(data)) == []


def test_rows_added_and_content_edited_are_changes(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n")
    before = fp.fingerprint(data)
    data.write_text("x,y\n1,0\n2,1\n")
    assert fp.changes(before, fp.fingerprint(data)) == ["d.csv changed size: 8 → 12 bytes"]
    data.write_text("x,y\n1,1\n")
    assert fp.changes(before, fp.fingerprint(data)) == ["d.csv changed content (same size, another SHA-256)"]


def test_a_folder_notices_new_and_missing_files(tmp_path):
    (tmp_path / "a.idx").write_bytes(b"1")
    (tmp_path / "b.idx").write_bytes(b"2")
    before = fp.fingerprint(tmp_path)
    (tmp_path / "a.idx").unlink()
    (tmp_path / "c.idx").write_bytes(b"3")
    assert fp.changes(before, fp.fingerprint(tmp_path)) == ["a.idx is gone", "c.idx is new"]


def test_files_over_the_hash_limit_compare_by_mtime(tmp_path, monkeypatch):
    monkeypatch.setattr(fp, "HASH_LIMIT", 4)
    data = tmp_path / "big.npz"
    data.write_bytes(b"0123456789")
    before = fp.fingerprint(data)
    assert "sha256" not in before["files"][0]
    os.utime(data, (before["files"][0]["mtime"] + 10,) * 2)
    assert fp.changes(before, fp.fingerprint(data)) == [
        "big.npz was modified (too large to hash; its modification time changed)"
    ]
