"""Host draws on every core: the same bits whatever the threads.

The host rows (:mod:`jinit._host_draws`) copy each computation's rows on
:func:`jinit._cores.count` threads, compile the kernels of several kinds of
law at once, and make a seed's key without compiling; none of that may
change a value. Also the thread cap (cores, cgroup quota, environment
variable) and the bracketed range check of a normal law.
"""

import gc
import hashlib
import json
import os
import subprocess
import sys
import threading

import jax
import numpy as np
import pytest

import jinit
from jinit import (
    _cache,
    _cores,
    _draws,
    _dtypes,
    _host_draws,
    _keys,
    _threefry,
)

# Three kinds of law (each its own kernel), arrays spanning several calls
# of the kernel and arrays sharing one, in a fresh process: its kernels
# are compiled at once, on threads.
DRAW = """
import hashlib, json, jax, jinit
specs = {
    "a": jinit.Param((3072, 768), jinit.lecun_normal()),
    "b": jinit.Param((300, 200), jinit.he_uniform()),
    "c": jinit.Param((5000,), jinit.random_normal(stddev=0.02)),
    "d": jinit.Param((64, 33), jinit.truncated_normal()),
    "e": jinit.Param((7,), jinit.random_uniform()),
}
params = jinit.materialize(jax.random.key(3), specs)
eager = jinit.lecun_normal()(jax.random.key(5), (1000, 3000))
print(json.dumps({
    name: hashlib.sha256(bytes(jax.device_get(array))).hexdigest()
    for name, array in {**params, "eager": eager}.items()
}))
"""


def _digests(params: dict) -> dict:
    return {
        name: hashlib.sha256(bytes(jax.device_get(array))).hexdigest()
        for name, array in params.items()
    }


@pytest.fixture(scope="module")
def traced_digests() -> dict:
    """The same arrays drawn by the compiled path (under jit)."""
    namespace: dict = {}
    exec(DRAW.split("params =")[0], namespace)
    specs = namespace["specs"]
    params = jax.jit(lambda: jinit.materialize(jax.random.key(3), specs))()
    eager = jax.jit(
        lambda: jinit.lecun_normal()(jax.random.key(5), (1000, 3000))
    )()
    return _digests({**params, "eager": eager})


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_same_bits_on_any_number_of_threads(threads, traced_digests):
    environment = {**os.environ, _cores.ENVIRONMENT_VARIABLE: threads}
    run = subprocess.run(
        [sys.executable, "-c", DRAW],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == traced_digests


@pytest.mark.parametrize(
    ("quota", "period", "cores"),
    [
        ("max", "100000", None),
        ("-1", "100000", None),
        ("100000", "100000", 1),
        ("150000", "100000", 2),
        ("20000", "100000", 1),
    ],
)
def test_cgroup_quota_in_cores(quota, period, cores):
    assert _cores.quota_cores(quota, period) == cores


def test_cgroup_v2_quota_is_read(tmp_path, monkeypatch):
    (tmp_path / "cpu.max").write_text("300000 100000\n")
    monkeypatch.setattr(_cores, "_own_cgroup", lambda: "")
    assert _cores._cgroup_quota(tmp_path) == 3


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_bad_thread_request_is_refused(value, monkeypatch):
    monkeypatch.setenv(_cores.ENVIRONMENT_VARIABLE, value)
    with pytest.raises(ValueError, match=_cores.ENVIRONMENT_VARIABLE) as error:
        _cores._requested()
    assert repr(value) in str(error.value)


def test_thread_request_caps_the_threads(monkeypatch):
    monkeypatch.setenv(_cores.ENVIRONMENT_VARIABLE, " 1 ")
    assert _cores._requested() == 1
    monkeypatch.delenv(_cores.ENVIRONMENT_VARIABLE)
    assert _cores._requested() is None
    assert 1 <= _cores.count() <= len(os.sched_getaffinity(0))


def test_run_all_reraises_after_every_task():
    done = []

    def fails():
        raise RuntimeError("first")

    def works():
        done.append(True)

    with pytest.raises(RuntimeError, match="first"):
        _cores.run_all([fails, works, works])
    assert done == [True, True]


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 1, 2**31, 2**32 - 1])
def test_seed_key_is_jax_random_key(seed):
    ours, theirs = _keys.seed_key(seed), jax.random.key(seed)
    assert jax.random.key_impl(ours) == jax.random.key_impl(theirs)
    np.testing.assert_array_equal(
        jax.random.key_data(ours), jax.random.key_data(theirs)
    )


def test_normal_extreme_lies_in_its_bracket():
    low, high = _draws.NORMAL_EXTREME_WITHIN
    assert low <= _draws.normal_extreme(np.dtype(np.float32)) <= high
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import numpy as np; from jinit import _draws; "
            "print(_draws.normal_extreme(np.dtype(np.float64)))",
        ],
        env={**os.environ, "JAX_ENABLE_X64": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert low <= float(run.stdout) <= high


def test_bracketed_magnitude_computed_only_where_an_end_fails():
    def never() -> float:
        raise AssertionError("computed although both ends pass")

    dtypes = (np.dtype(np.float32),)
    _dtypes.check_range(_dtypes.Bracketed(1.0, 2.0, never), dtypes, "init")
    # The upper end overflows float32; the exact magnitude decides.
    _dtypes.check_range(
        _dtypes.Bracketed(1.0, 1e39, lambda: 3e38), dtypes, "init"
    )
    with pytest.raises(ValueError, match="beyond the largest finite"):
        _dtypes.check_range(
            _dtypes.Bracketed(1.0, 1e39, lambda: 3.5e38), dtypes, "init"
        )


@pytest.mark.parametrize(("stddev", "fits"), [(5e37, True), (6.5e37, False)])
def test_normal_range_check_at_the_exact_extreme(stddev, fits):
    # 5.42 * 5e37 = 2.7e38 fits float32 (3.4e38); 5.42 * 6.5e37 does not,
    # although both upper ends of the bracket (10 * stddev) overflow.
    init = jinit.random_normal(stddev=stddev)
    if fits:
        assert np.isfinite(np.asarray(init(jax.random.key(0), (64,)))).all()
    else:
        with pytest.raises(ValueError, match="beyond the largest finite"):
            init(jax.random.key(0), (64,))


@pytest.fixture
def pending_failing_check(monkeypatch, tmp_path):
    """A self-check that is still running when the first rows are drawn
    (it waits until they are), then finds the normal draws differ; and the
    kernel's bits are indeed wrong."""
    drawn = threading.Event()
    sample_kind = _host_draws._sample_kind

    def draws_then_signal(*args):
        yield from sample_kind(*args)
        drawn.set()

    def differs_after_the_draws(dtype):
        assert drawn.wait(timeout=60)
        return ["normal"]

    def forget_compiled():
        jax.clear_caches()
        _host_draws._KERNELS.clear()
        _host_draws._RECORDED.clear()
        _draws._self_check.cache_clear()

    # The kernel's bits made wrong, so that rows not drawn again would show.
    bits_at = _threefry.bits_at
    monkeypatch.setenv("JINIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_host_draws, "_sample_kind", draws_then_signal)
    monkeypatch.setattr(_draws, "_units_that_differ", differs_after_the_draws)
    _threefry.bits_at = lambda *args: ~bits_at(*args)
    forget_compiled()
    try:
        yield
    finally:
        _threefry.bits_at = bits_at
        forget_compiled()


def test_rows_drawn_before_a_failed_check_are_drawn_again(
    pending_failing_check,
):
    key, shape = jax.random.key(9), (300, 200)
    with pytest.warns(RuntimeWarning, match="normal draws differ"):
        ours = jinit.he_normal()(key, shape)
    np.testing.assert_array_equal(
        ours, jax.nn.initializers.he_normal()(key, shape)
    )
    assert not _draws.kernel_agrees(np.dtype(np.float32))


@pytest.fixture
def small_big_calls(monkeypatch):
    """Big calls of twice the small one's rows, compiled in the background
    from the first draw (the record off, as in every test process)."""
    monkeypatch.setattr(_host_draws, "BIG_ROWS", 2 * _host_draws.ROWS)
    monkeypatch.setattr(_host_draws, "BIG_AFTER", 0)
    yield
    for compiling in list(_host_draws._COMPILING.values()):
        compiling.result()
    for name in [
        name for name in _host_draws._KERNELS if name[1] != _host_draws.ROWS
    ]:
        del _host_draws._KERNELS[name]
    _host_draws._COMPILING.clear()


def test_big_calls_draw_the_same_bits(small_big_calls):
    """Rows drawn by the big kernel, once it is compiled, and by the small
    one around it: every leaf equals its own call, before and after."""
    block = _host_draws.ROW * _host_draws.ROWS
    specs = {
        "a": jinit.Param((5, block // 2 + 3), jinit.he_normal()),
        "b": jinit.Param((block + 7,), jinit.random_normal(stddev=0.1)),
        "c": jinit.Param((3, 2 * block), jinit.he_normal()),
        "d": jinit.Param((11,), jinit.he_normal()),
    }
    drawn = []
    for seed in (4, 5):
        key = jax.random.key(seed)
        params = jinit.materialize(key, specs)
        for path, spec in specs.items():
            np.testing.assert_array_equal(
                params[path],
                spec.init(jinit.path_key(key, path), spec.shape),
                err_msg=path,
            )
        for compiling in list(_host_draws._COMPILING.values()):
            compiling.result()  # Ready for the second draw.
        drawn.append(
            [
                name
                for name in _host_draws._KERNELS
                if name[1] == _host_draws.BIG_ROWS
            ]
        )
    assert drawn[-1], "the second draw must have had a big kernel"


def test_record_key_names_what_the_kernel_is_compiled_from(monkeypatch):
    """Another number of rows, kind of law, processor or XLA_FLAGS is
    another kernel in the record."""

    def rows_of(init):
        planned = init._plan_call(init.prepare(jax.random.key(0), (9, 9)))
        return _host_draws._pack([planned.host_draw])

    normal, uniform = rows_of(jinit.he_normal()), rows_of(jinit.he_uniform())
    rows = _host_draws.ROWS
    key = _host_draws._record_key(normal, rows)
    assert key == _host_draws._record_key(normal, rows)
    assert key != _host_draws._record_key(normal, _host_draws.BIG_ROWS)
    assert key != _host_draws._record_key(uniform, rows)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=true")
    assert key != _host_draws._record_key(normal, rows)
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setattr(_cache, "processor", lambda: "another processor")
    assert key != _host_draws._record_key(normal, rows)


def test_freed_pages_back_later_draws():
    """A drawn array's pages, once it is freed, back the next draw that fits
    them, a slightly larger one too; its values are its own, whatever the
    pages held."""
    init = jinit.he_normal()
    _host_draws._FREED.clear()
    first = init(jax.random.key(1), (700, 300))
    first_values = np.asarray(first).copy()
    del first
    gc.collect()
    (kept,) = _host_draws._FREED
    later = init(jax.random.key(2), (704, 300))
    assert kept not in _host_draws._FREED
    assert not np.array_equal(later[:700], first_values)
    np.testing.assert_array_equal(
        later, jax.nn.initializers.he_normal()(jax.random.key(2), (704, 300))
    )
    del later


def test_freed_pages_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(_host_draws, "FREED_BYTES", 3 * 2**20)
    _host_draws._FREED.clear()
    drawn = [  # 1 MiB each, freed at once: three kept, the first let go.
        jinit.he_normal()(jax.random.key(seed), (512, 512)) for seed in range(4)
    ]
    del drawn
    gc.collect()
    assert [len(pages) for pages in _host_draws._FREED] == [2**20] * 3
    _host_draws._FREED.clear()
