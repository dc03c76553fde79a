"""Test configuration: strict dtype promotion, rank promotion as an error,
and a fixture turning on 64-bit types for one test."""

import jax
import pytest

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# Read by pyright (tests/test_typing.py), never run: it holds misuses.
collect_ignore = ["typing"]


@pytest.fixture
def x64():
    """Runs the test with ``jax_enable_x64`` on, restoring it afterwards."""
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)
