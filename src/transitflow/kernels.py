"""Compiling the CPU kernels with numba, cached on disk where possible."""

from __future__ import annotations

from collections.abc import Callable

import numba


def cached_njit(function: Callable | None = None, **options) -> Callable:
    """``function`` compiled by numba (``nogil``), the machine code cached on disk so that a
    new process loads it instead of compiling it again (seconds per kernel); compiled in
    each process where numba finds no writable cache folder (a read-only install with an
    unwritable home: set ``NUMBA_CACHE_DIR`` to keep the cache there). ``options`` go to
    ``numba.njit`` (``error_model="numpy"``: a float division by zero gives inf or NaN, as
    in numpy, instead of raising, which lets loops with divisions vectorise); without a
    ``function``, the decorator with those options."""
    if function is None:
        return lambda later: cached_njit(later, **options)
    try:
        return numba.njit(nogil=True, cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True, **options)(function)
