"""The light-curve files of a folder tree, found safely through symbolic links.

``glob.glob(..., recursive=True)`` follows directory links without remembering where it
has been: one link back to a parent lists every file dozens of times, two of them make it
run for hours. :func:`find_files` walks each real directory once and keeps each real file
once. :func:`shard_files` cuts them into shards that keep a star's files together.
Standard library only: the Snakefile calls these while it plans the shards.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)
MAGIC = frozenset("*?[")
#: Prefixes of a star's ID in file names, and the mission whose catalogue the ID is in.
NAME_PREFIXES = {"tic": "TESS", "epic": "K2", "ktwo": "K2", "kic": "Kepler", "kplr": "Kepler"}
#: A star's ID in the names missions and users give light-curve files: the 16-digit TIC of
#: SPOC, TESS-SPOC and QLP names, TASOC's 11-digit one, TGLC's Gaia ID, or after one of the
#: :data:`NAME_PREFIXES`.
STAR_IN_NAME = re.compile(r"(?<!\d)(\d{16})(?!\d)|tess(\d{11})-s\d+-c\d+|gaiaid-(\d+)"
                          rf"|(?<![a-z])(?:{'|'.join(NAME_PREFIXES)})[ _-]?(\d+)", re.IGNORECASE)


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


def star_in_name(path: str) -> str:
    """The star ID a file's name holds (:data:`STAR_IN_NAME`), else the path itself."""
    match = STAR_IN_NAME.search(Path(path).name)
    return str(int(next(group for group in match.groups() if group))) if match else path


def shard_files(files: Sequence[str], size: int) -> list[list[str]]:
    """``files`` in sorted order, cut into shards of about ``size`` files that keep each
    star's files (:func:`star_in_name`) in one shard, so that its sectors can be searched
    together; the same files always give the same shards."""
    by_star: dict[str, list[str]] = {}
    for path in sorted(files):
        by_star.setdefault(star_in_name(path), []).append(path)
    return packed(by_star.values(), size)


def packed(groups: Iterable[list], size: int) -> list[list]:
    """Groups joined in order into shards of at most ``size`` items, never splitting a
    group (one larger than ``size`` is a shard of its own)."""
    shards: list[list] = []
    for group in groups:
        if not shards or len(shards[-1]) + len(group) > size:
            shards.append([])
        shards[-1].extend(group)
    return shards
