"""Numba kernels: cached on disk, or compiled per process where they cannot be."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core.caching import FunctionCache, NullCache

from transitflow.kernels import cached_njit


def add_one(values):  # pragma: no cover - compiled
    return values + 1.0


def test_a_kernel_is_cached_on_disk_where_it_can_be():
    kernel = cached_njit(add_one)
    np.testing.assert_array_equal(kernel(np.zeros(2)), np.ones(2))
    assert isinstance(kernel._cache, FunctionCache)


def test_a_kernel_numba_finds_no_cache_folder_for_is_compiled_in_each_process():
    namespace = {}
    exec("def add_one(values):\n    return values + 1.0\n", namespace)  # no file: no folder
    kernel = cached_njit(namespace["add_one"])
    np.testing.assert_array_equal(kernel(np.zeros(3)), np.ones(3))
    assert isinstance(kernel._cache, NullCache)


def divide(a, b):  # pragma: no cover - compiled
    return a / b


def divide_again(a, b):  # pragma: no cover - compiled; its own disk cache, which
    return a / b  # numba keys by function, not by options


def test_a_kernel_with_numpy_s_error_model_divides_by_zero_to_infinity():
    assert cached_njit(error_model="numpy")(divide)(1.0, 0.0) == np.inf
    with pytest.raises(ZeroDivisionError):  # numba's default, Python's
        cached_njit(divide_again)(1.0, 0.0)
