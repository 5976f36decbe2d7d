"""Headless Chromium for the report tests: a page rendered with its scripts run.

Runs when Chromium is on the PATH; with TRANSITFLOW_BROWSER set (as .ci/run sets it after
installing Debian's chromium) a missing browser fails the tests rather than skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

#: Chromium offline: no sandbox (CI runs as root), no GPU, no background connections.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str:
    """The Chromium executable; skips the test without one unless TRANSITFLOW_BROWSER is set."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("TRANSITFLOW_BROWSER"):
            raise FileNotFoundError("TRANSITFLOW_BROWSER is set but chromium is not installed")
        pytest.skip("no chromium (apt-get install chromium; .ci/run installs it)")
    return found


def rendered_dom(page: Path, profile: Path, query: str = "") -> str:
    """The page's DOM after its scripts ran, ``query`` (e.g. ``filter=PC``) in its address."""
    address = page.resolve().as_uri() + (f"?{quote(query, safe='=&')}" if query else "")
    done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                           address], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.startswith("<"), done.stderr[-2000:]
    return done.stdout
