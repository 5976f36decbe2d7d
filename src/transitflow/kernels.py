"""Compiling the CPU kernels with numba, cached on disk where possible."""

from __future__ import annotations

from collections.abc import Callable

import numba


def cached_njit(function: Callable) -> Callable:
    """``function`` compiled by numba (``nogil``), the machine code cached on disk so that a
    new process loads it instead of compiling it again (seconds per kernel); compiled in
    each process where numba finds no writable cache folder (a read-only install with an
    unwritable home: set ``NUMBA_CACHE_DIR`` to keep the cache there)."""
    try:
        return numba.njit(nogil=True, cache=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(function)
