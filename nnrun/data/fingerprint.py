"""Fingerprints of data files: enough to tell, when a sweep resumes, whether its data changed.

A fingerprint records each file's path, size and modification time, and a SHA-256 of its content for
files up to :data:`HASH_LIMIT` bytes. Two fingerprints differ when a file appeared or went away, or its
size or content changed; for a file too large to hash, a new modification time counts as a change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

HASH_LIMIT = 256 * 2**20  # bytes: larger files are compared by size and modification time only
_CHUNK = 2**20


def fingerprint(path: str | Path) -> dict[str, Any]:
    """``{"path": ..., "files": [{"name", "size", "mtime", "sha256"?}, ...]}`` for a file or a folder's files."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    return {"path": str(root), "files": [_file(f, root) for f in files]}


def _file(path: Path, root: Path) -> dict[str, Any]:
    stat = path.stat()
    entry: dict[str, Any] = {
        "name": path.name if path == root else str(path.relative_to(root)),
        "size": stat.st_size,
        "mtime": stat.st_mtime,
    }
    if stat.st_size <= HASH_LIMIT:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        entry["sha256"] = digest.hexdigest()
    return entry


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two fingerprints of the same data, in words (empty: the same data)."""
    out = []
    if before.get("path") != after.get("path"):
        out.append(f"the data path was {before.get('path')}, now {after.get('path')}")
    old = {f["name"]: f for f in before.get("files", [])}
    new = {f["name"]: f for f in after.get("files", [])}
    for name in sorted(old.keys() - new.keys()):
        out.append(f"{name} is gone")
    for name in sorted(new.keys() - old.keys()):
        out.append(f"{name} is new")
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        if a["size"] != b["size"]:
            out.append(f"{name} changed size: {a['size']:,} → {b['size']:,} bytes")
        elif "sha256" in a and "sha256" in b:
            if a["sha256"] != b["sha256"]:
                out.append(f"{name} changed content (same size, another SHA-256)")
        elif a["mtime"] != b["mtime"]:
            out.append(f"{name} was modified (too large to hash; its modification time changed)")
    return out
