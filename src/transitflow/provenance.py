"""What every output records about where it came from."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from transitflow import __version__

TRACKED_PACKAGES = ("transitflow", "numpy", "scipy", "pandas", "pyarrow", "astropy", "torch",
                    "numba", "transitleastsquares", "wotan", "batman-package", "lightkurve",
                    "tess-point", "matplotlib", "snakemake")


def canonical_json(value) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(options: dict) -> str:
    """Short SHA-256 of a configuration mapping."""
    return hashlib.sha256(canonical_json(options).encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version, plus the git commit when run from a checkout that tracks this
    package, ``.dirty`` when the package's or the workflow's files differ from it (a
    changed config is not a code change)."""
    try:
        _git("ls-files", "--error-unmatch", "__init__.py")  # not another repository's
        commit = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                     *WORKFLOW_FROM_PACKAGE)
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"


#: The workflow's files, from the package's folder of a checkout (``src/transitflow``).
WORKFLOW_FROM_PACKAGE = ("../../workflow", "../../Snakefile")


def _git(*args: str) -> str:
    """The output of a git command run in the package's folder."""
    return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5,
                          cwd=Path(__file__).parent, check=True).stdout.strip()


@lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 over the library's Python sources: tells uncommitted code changes apart."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions of the packages that shape results."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def make_provenance(stage: str, options: dict, inputs=()) -> dict:
    """The provenance record of one stage output: no timestamps, so reruns are identical."""
    return {
        "stage": stage,
        "code_version": code_version(),
        "source_digest": source_digest(),
        "config_hash": config_hash(options),
        "config": options,
        "inputs": {path: file_digest(path) if os.path.exists(path) else "absent"
                   for path in sorted(map(str, inputs))},  # absent: a link to nothing
        "packages": package_versions(),
    }
