"""The media store: files under `WASB_MEDIA_DIR`, named by what they are.

Inbound media is content-addressed, `<sha256 hex[:2]>/<sha256 hex>`: the same photo
sent twice is kept once, and a name can never be made up by a customer. Writes go to
a temporary file in the same directory, are flushed to disk, then renamed into
place, so a reader (or a crash) never sees half a file.

Paths are only ever built here, from hashes and names this module chose; a relative
path read back from the database is resolved and checked to stay inside the root.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class OutsideStore(ValueError):
    """A path that would leave the media directory."""


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the store's root, with forward slashes
    size: int
    sha256: str  # hex


class MediaStore:
    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def content_path(self, sha256_hex: str) -> str:
        if not _HEX64.match(sha256_hex):
            raise ValueError("not a sha256 hex digest")
        return f"{sha256_hex[:2]}/{sha256_hex}"

    def put_content(self, content: bytes) -> StoredFile:
        """Keep `content` under its own hash; writing it again is a no-op."""
        digest = hashlib.sha256(content).hexdigest()
        relative = self.content_path(digest)
        target = self.resolve(relative)
        if not (target.exists() and target.stat().st_size == len(content)):
            self.write_atomically(target, content)
        return StoredFile(relative, len(content), digest)

    def put_named(self, relative: str, content: bytes) -> StoredFile:
        """Keep `content` under a name the caller made (never one from a request)."""
        self.write_atomically(self.resolve(relative), content)
        return StoredFile(relative, len(content), hashlib.sha256(content).hexdigest())

    def resolve(self, relative: str) -> Path:
        """The absolute path of a stored file; raises OutsideStore for anything that
        would end up outside the root (absolute paths, `..`, symlinks out)."""
        if not relative or relative.startswith(("/", "\\")) or "\x00" in relative:
            raise OutsideStore(relative)
        path = (self.root / relative).resolve()
        if path == self.root or self.root not in path.parents:
            raise OutsideStore(relative)
        return path

    def remove(self, relative: str) -> bool:
        try:
            self.resolve(relative).unlink()
            return True
        except FileNotFoundError:
            return False

    @staticmethod
    def write_atomically(target: Path, content: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        # The rename itself must survive a crash too.
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
