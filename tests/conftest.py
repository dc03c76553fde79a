"""Test configuration: strict dtype promotion, rank promotion as an error,
a fixture turning on 64-bit types for one test, and the tests that need 8
simulated CPU devices (marked ``eight_devices``).

Those run in an invocation of their own,
``JINIT_TEST_DEVICES=8 python -m pytest -m eight_devices``: with
``JINIT_TEST_DEVICES`` set, JAX's CPU backend gets that many devices
(``jax_num_cpu_devices``, set here, in every process pytest-xdist starts,
before anything starts the backend), only the marked tests are collected,
and each fails unless it sees 8 devices. Without it (``python -m pytest``),
the marked tests are skipped, saying how to run them.

With ``JINIT_ACCELERATOR_PATH=1`` jinit takes, on the CPU, the branches a GPU
or TPU process takes (no fused kernel, no host rows: ``jax.random`` in
programs compiled per shape; see ``jinit._draws.ACCELERATOR_PATH``), and
only :data:`ACCELERATOR_PATH_TESTS` are collected: bit identity with
``jax.nn.initializers``, the contract under every transform, ensembles
under transforms, and trees. ``.ci/run`` runs them so:
``JINIT_ACCELERATOR_PATH=1 python -m pytest``.
"""

import os

import jax
import numpy as np
import pytest

# Before any JAX operation: the device count is read when the backend starts.
DEVICES = os.environ.get("JINIT_TEST_DEVICES")
if DEVICES:
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_num_cpu_devices", int(DEVICES))

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# Read by pyright (tests/test_typing.py), never run: it holds misuses.
collect_ignore = ["typing"]

ACCELERATOR_PATH = os.environ.get("JINIT_ACCELERATOR_PATH", "") not in ("", "0")
# The tests run on the accelerator path: those whose values must not depend
# on the branch taken (the others assert the CPU's, or compare jax.random
# with itself there, or make no draw: zero-size shapes).
ACCELERATOR_PATH_TESTS = {
    "test_same_values_as_jax.py": ("test_bit_identical_to_jax_eagerly",),
    "test_contract.py": ("test_shape_dtype_finite_and_agrees_with_eager",),
    "test_ensemble.py": ("test_members_equal_separate_draws_under_transforms",),
    "test_params.py": (
        "test_each_leaf_equals_its_init_at_its_path_key",
        "test_every_kind_of_leaf_equals_its_own_call",
        "test_float64_leaves_equal_their_calls",
    ),
}

EIGHT_DEVICES = (
    "needs 8 simulated CPU devices: "
    "JINIT_TEST_DEVICES=8 python -m pytest -m eight_devices"
)


def needs_eight_devices(item):
    return item.get_closest_marker("eight_devices") is not None


def on_accelerator_path(item):
    names = ACCELERATOR_PATH_TESTS.get(item.path.name, ())
    return getattr(item, "originalname", item.name) in names


def pytest_collection_modifyitems(config, items):
    """With ``JINIT_TEST_DEVICES``, only the ``eight_devices`` tests run
    (the others are written for one device); without it, those are
    skipped. With ``JINIT_ACCELERATOR_PATH``, only
    :data:`ACCELERATOR_PATH_TESTS` run."""
    if ACCELERATOR_PATH:
        config.hook.pytest_deselected(
            items=[item for item in items if not on_accelerator_path(item)]
        )
        items[:] = [item for item in items if on_accelerator_path(item)]
    marked = [item for item in items if needs_eight_devices(item)]
    if DEVICES:
        config.hook.pytest_deselected(
            items=[item for item in items if not needs_eight_devices(item)]
        )
        items[:] = marked
    else:
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=EIGHT_DEVICES))


def pytest_runtest_setup(item):
    """An ``eight_devices`` test never runs on fewer devices."""
    if needs_eight_devices(item) and jax.device_count() != 8:
        pytest.fail(
            f"{EIGHT_DEVICES}; this process has {jax.devices()}",
            pytrace=False,
        )


@pytest.fixture
def x64():
    """Runs the test with ``jax_enable_x64`` on, restoring it afterwards."""
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


@pytest.fixture
def first_draws(monkeypatch):
    """Starts an ``eight_devices`` test as a fresh process would (they ran
    in one each before they were pytest tests): the kernel's self-check
    (``jinit._draws._self_check``, cached once per process and
    configuration) and the compiled samplers forgotten, and JAX's
    compilation caches cleared, so that the test's first draws are the ones
    that run the self-check. Yields ``{dtype name: whether a mesh was set}``
    for the first time each dtype's self-check is asked for during the
    test, for the test to check that it was under ``jax.set_mesh``.
    Afterwards the test's draws must have run the self-check, and the
    float32 check must pass (draws did not fall back to ``jax.random``)."""
    from jinit import _draws

    _draws._self_check.cache_clear()
    _draws._sampler.cache_clear()
    jax.clear_caches()
    first = {}
    check = _draws._self_check

    def recorded(dtype, **config):
        first.setdefault(
            np.dtype(dtype).name, not jax.sharding.get_abstract_mesh().empty
        )
        return check(dtype, **config)

    monkeypatch.setattr(_draws, "_self_check", recorded)
    yield first
    assert first, "no draw of the test ran the kernel's self-check"
    assert _draws.kernel_agrees(np.dtype("float32"))
