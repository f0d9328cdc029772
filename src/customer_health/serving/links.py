"""Symlinks swapped in one rename: a reader resolving the link sees the old target or the new
one, never a half-written directory."""

from __future__ import annotations

import os
import re
from pathlib import Path


def check_link(link: Path) -> None:
    """Raise if `link` exists but is a real file or directory (it would not be replaced)."""
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} is a real file or directory, not a link: move it away")


def temporary_link(link: Path, pid: int | None = None) -> Path:
    """The name the new link gets before it is renamed over `link`: `.<name>.<pid>.link`."""
    return link.with_name(f".{link.name}.{os.getpid() if pid is None else pid}.link")


def is_temporary_link(path: Path, link: Path) -> bool:
    """Whether `path` is a link left by a swap of `link` that was stopped before its rename."""
    pattern = rf"\.{re.escape(link.name)}\.\d+\.link"
    return (
        path.parent == link.parent and re.fullmatch(pattern, path.name) is not None
    ) and path.is_symlink()


def swap_symlink(link: Path, target: str) -> Path | None:
    """Point `link` at `target` (relative to the link's directory) in one rename.

    Returns the resolved path the link pointed to before, or None when there was no link.
    """
    check_link(link)
    previous = link.resolve() if link.is_symlink() else None
    temporary = temporary_link(link)
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, link)
    return previous
