"""The light-curve files of a folder tree, found safely through symbolic links.

``glob.glob(..., recursive=True)`` follows directory links without remembering where it
has been: one link back to a parent lists every file dozens of times, two of them make it
run for hours. :func:`find_files` walks each real directory once and keeps each real file
once. Standard library only: the Snakefile calls it while it plans the shards.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
MAGIC = frozenset("*?[")


def find_files(pattern: str) -> list[str]:
    """The files matching the glob ``pattern`` (``**`` matches any folders), sorted.

    Links are followed, but every real directory is walked once, so link loops end. A
    link to nothing (dangling, or a loop of file links) is listed, so that reading it
    quarantines it with its reason. A file reached under several names is listed once, by
    its first name; the others are logged. Names starting with ``.`` match only a pattern
    part that starts with ``.``, as in :mod:`glob`.
    """
    parts = Path(pattern).parts
    literal = next((i for i, part in enumerate(parts) if MAGIC & set(part)), len(parts))
    root = Path(*parts[:literal]) if literal else Path(".")
    if literal == len(parts):
        return [pattern] if os.path.lexists(pattern) and not root.is_dir() else []
    found, names = [], {}
    for path in sorted(_walk(root)):
        if not _matches(path.relative_to(root).parts, parts[literal:]):
            continue
        real = os.path.realpath(path)
        if real in names:
            log.warning("%s is another name of %s; it is read once", path, names[real])
            continue
        names[real] = path
        found.append(str(path))
    return found


def _walk(root: Path) -> list[Path]:
    """Every non-directory entry below ``root``, each real directory entered once: the
    real folders first, then the folders reached only through links, so that a link never
    takes the place of the folder it names."""
    entries, seen, linked = [], set(), []
    tops = [root]
    while tops:
        for top in tops:
            for folder, subfolders, names in os.walk(top):  # links listed, not entered
                status = os.stat(folder)
                if (status.st_dev, status.st_ino) in seen:
                    log.warning("%s leads to a folder already walked (a link loop or a "
                                "second name); skipped", folder)
                    subfolders.clear()
                    continue
                seen.add((status.st_dev, status.st_ino))
                subfolders.sort()
                linked += [Path(folder, name) for name in subfolders
                           if os.path.islink(os.path.join(folder, name))]
                entries += [Path(folder, name) for name in names]
        tops, linked = sorted(linked), []
    return entries


def _matches(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Whether path ``parts`` match the glob ``pattern`` parts."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        visible = [i for i in range(len(parts) + 1)
                   if not any(part.startswith(".") for part in parts[:i])]
        return any(_matches(parts[i:], rest) for i in visible)
    return (bool(parts) and (head.startswith(".") or not parts[0].startswith("."))
            and fnmatch.fnmatchcase(parts[0], head) and _matches(parts[1:], rest))
