"""Detect a network filesystem under a store path (best effort, Linux ``/proc/mounts``).

SQLite's locking and WAL shared memory are unreliable over NFS and SMB: concurrent writers can
corrupt the database (https://www.sqlite.org/useovernet.html). P6 asks us to warn; we cannot
refuse outright, because some network mounts work fine for a single writer.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Filesystem types (third field of /proc/mounts) that SQLite does not lock reliably on.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",
        "fuse.sshfs",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
    }
)

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def network_filesystem(directory: Path, mounts: str | None = None) -> str | None:
    """The network filesystem type holding ``directory``, or ``None`` (also when unknown).

    ``mounts`` is the text of ``/proc/mounts`` (read when ``None``); the longest mount point that
    contains the directory decides.
    """
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    fstype = _filesystem_type(str(directory), mounts)
    return fstype if fstype in NETWORK_FILESYSTEMS else None


def _filesystem_type(directory: str, mounts: str) -> str | None:
    """Type of the innermost mount point containing ``directory``."""
    best_point, best_type = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        if _contains(point, directory) and len(point) >= len(best_point):
            best_point, best_type = point, fields[2]
    return best_type


def _contains(mount_point: str, directory: str) -> bool:
    """True if ``directory`` is ``mount_point`` or below it."""
    if mount_point == "/":
        return directory.startswith("/")
    return directory == mount_point or directory.startswith(mount_point.rstrip("/") + "/")


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)
