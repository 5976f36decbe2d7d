"""HTTP with retries: transient failures (timeouts, lost connections, cut-off transfers,
HTTP 5xx and 429) tried again with exponential backoff, and files streamed to disk. Used
by the MAST download and the catalog fetch."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests

log = logging.getLogger(__name__)
T = TypeVar("T")
DOWNLOAD_BLOCK = 1 << 20  # bytes per write of a streamed download


class SizeMismatch(OSError):
    """A download whose size differs from the size MAST lists (a cut-off transfer)."""


class GaveUp(Exception):
    """A call that failed for good: ``error`` is its last failure after ``attempts`` tries."""

    def __init__(self, error: OSError, attempts: int) -> None:
        super().__init__(describe(error))
        self.error, self.attempts = error, attempts


def describe(error: BaseException) -> str:
    """One line naming a failure: ``HTTP 503 Service Unavailable``, ``ReadTimeout: ...``."""
    response = getattr(error, "response", None)
    if isinstance(error, requests.HTTPError) and response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    return " ".join(f"{type(error).__name__}: {error}".split())[:300]


def _transient(error: OSError) -> bool:
    """Worth another try: timeouts, lost connections, cut-off transfers, HTTP 5xx and 429."""
    if isinstance(error, requests.HTTPError):
        status = error.response.status_code if error.response is not None else 0
        return status >= 500 or status == 429
    return isinstance(error, (requests.ConnectionError, requests.Timeout,
                              requests.exceptions.ChunkedEncodingError, SizeMismatch))


def unreachable(error: OSError) -> bool:
    """Whether ``error`` means no connection was made (or the server never answered)."""
    return isinstance(error, (requests.ConnectionError, requests.Timeout))


@dataclass(frozen=True)
class RetryPolicy:
    """Retry transient failures ``retries`` times, waiting ``backoff_s`` * 1, 2, 4, ..."""

    retries: int = 4
    backoff_s: float = 1.0

    def run(self, call: Callable[[], T]) -> tuple[T, int]:
        """``call()`` and the number of attempts it took.

        Raises
        ------
        GaveUp
            On an error (``OSError``, which includes every ``requests`` error) that is not
            transient, or still there after the last retry.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return call(), attempt
            except OSError as error:
                if attempt > self.retries or not _transient(error):
                    raise GaveUp(error, attempt) from error
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.info("%s; retry %d of %d in %.1f s", describe(error), attempt,
                         self.retries, delay)
                time.sleep(delay)


def save_url(get: Callable[..., requests.Response], url: str, dest: Path,
             timeout_s: float) -> int:
    """Stream the answer of ``get(url)`` (``requests.get`` or a session's) into ``dest``;
    the bytes written. An HTTP error status raises ``requests.HTTPError``."""
    with get(url, stream=True, timeout=timeout_s) as response:
        response.raise_for_status()
        with open(dest, "wb") as stream:
            for block in response.iter_content(DOWNLOAD_BLOCK):
                stream.write(block)
    return dest.stat().st_size
