"""Symlinks swapped in one rename: a reader resolving the link sees the old target or the new
one, never a half-written directory."""

from __future__ import annotations

import os
from pathlib import Path


def check_link(link: Path) -> None:
    """Raise if `link` exists but is a real file or directory (it would not be replaced)."""
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} is a real file or directory, not a link: move it away")


def swap_symlink(link: Path, target: str) -> Path | None:
    """Point `link` at `target` (relative to the link's directory) in one rename.

    Returns the resolved path the link pointed to before, or None when there was no link.
    """
    check_link(link)
    previous = link.resolve() if link.is_symlink() else None
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, link)
    return previous
