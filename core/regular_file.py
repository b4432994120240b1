"""Read a file only if it is a regular file: a FIFO, a device or a socket must never hang a read."""

from __future__ import annotations

import os
import stat

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OSError):
    """The path exists but is not a regular file (its ``kind`` says what it is)."""

    def __init__(self, kind: str):
        super().__init__(f"it is {kind}, not a regular file")
        self.kind = kind


class FileTooLarge(OSError):
    """The file is larger than the caller's limit (refused from its size, before a byte is read)."""


def read_regular_file(path: str, limit: int | None) -> bytes:
    """Up to ``limit`` bytes of a regular file (raises NotRegularFile, FileTooLarge or OSError).

    ``limit=None`` reads the whole file (a run's journal has no fixed bound,
    but a FIFO or ``/dev/zero`` in its place must still not hang or fill memory).

    The file is opened non-blocking and checked with ``fstat`` on the open
    descriptor, so opening a FIFO returns at once and no swap between the
    check and the read can slip another kind of file in.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(next((kind for test, kind in _KINDS if test(info.st_mode)), "not a regular file"))
        if limit is not None and info.st_size > limit:
            raise FileTooLarge(f"larger than {limit:,} bytes")
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read() if limit is None else handle.read(limit + 1)
