"""out_sharding for every factory on 1-D and 2-D meshes of 8 simulated CPU
devices, with Explicit and Auto axes, eagerly, under jit, as a
PartitionSpec under ``jax.set_mesh`` and over an AbstractMesh: the
unsharded values, bit for bit, with the requested shards.
``test_sharding_models.py`` has the rest of the 8-device tests (materialize,
Flax NNX, Keras, diagnose, a first float64 draw): two files, so that
pytest-xdist (``--dist loadfile``) runs the two halves on two workers.

Every test here is marked ``eight_devices``: ``python -m pytest`` skips
them, and ``JINIT_TEST_DEVICES=8 python -m pytest -m eight_devices`` runs
them, in processes whose CPU backend has 8 devices (``tests/conftest.py``
sets ``jax_num_cpu_devices`` before JAX starts its backend; each
pytest-xdist worker is a process of its own and does the same). The record
of kernel checks is off (``JINIT_CACHE_DIR=""``, the root ``conftest.py``),
and the fixture ``first_draws`` (``tests/conftest.py``) starts each test as
a fresh process would: jinit's kernel self-check and every compiled program
forgotten, so that the test's first draws, under ``jax.set_mesh`` where its
docstring says so, are the ones that run the self-check (which the test
asserts), and the float32 check must have passed (not fallen back to
``jax.random``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P
from registry import FACTORY_CASES

pytestmark = [pytest.mark.eight_devices, pytest.mark.usefixtures("first_draws")]


def _case_shape(case):
    """A shape every mesh here splits, of the case's rank (square where the
    case's is: HiPPO's ``A``)."""
    if len(case.shape) == 3:  # stft's (frame length, channels, bins).
        return (8, 8, 16)
    if len(case.shape) != 2:
        return (8, 8, 8, 16)
    return (16, 16) if case.shape[0] == case.shape[1] else (16, 24)


def test_out_sharding_on_eight_devices(first_draws):
    """Every factory with ``out_sharding`` on a 1-D and a 2-D mesh of 8
    devices, one with Explicit and one with Auto axes, eagerly with a
    NamedSharding; on one of the two (alternating between factories, so
    that each mesh has a quarter of them), also under jit, as a
    PartitionSpec under ``jax.set_mesh`` (eagerly and under jit) and as a
    NamedSharding over its AbstractMesh (what Keras 3 passes): each with the
    requested sharding and the unsharded values, bit for bit; complex64
    draws keep the sharding. The process's first draws are those under jit
    inside ``jax.set_mesh``. Every factory is checked, each on a 1-D and a
    2-D mesh, one of Explicit and one of Auto axes, eagerly on both and with
    every transform on one; every transform meets every mesh."""

    key = jax.random.key(0)
    # Factory i on the two meshes of pair i % 2: each factory on a 1-D and a
    # 2-D mesh, so through both branches of jinit's placement (Explicit
    # axes: device_put; Auto: a sharding constraint), each mesh with half of
    # the factories (all four meshes for every factory compiled each draw
    # twice as often and took no other branch of jinit's code). The
    # transforms (jit, a spec under set_mesh, an abstract mesh) run on mesh
    # (i // 2) % 2 of the pair: each transform still meets every mesh, so
    # both branches on both ranks, at half the compilations (under set_mesh
    # every program is compiled anew: the mesh is in jit's cache key).
    pairs = [
        [((8,), AxisType.Explicit), ((2, 4), AxisType.Auto)],
        [((8,), AxisType.Auto), ((4, 2), AxisType.Explicit)],
    ]
    meshes = {}
    for axes, kind in pairs[0] + pairs[1]:
        names = ("a", "b")[: len(axes)]
        mesh = jax.make_mesh(axes, names, axis_types=(kind,) * len(axes))
        transformed = [
            case
            for i, case in enumerate(FACTORY_CASES)
            if (axes, kind) == pairs[i % 2][(i // 2) % 2]
        ]

        spec = P(*names)

        def draw_all_by_spec(key, spec=spec, transformed=transformed):
            return {
                case.id: case.init(key, _case_shape(case), out_sharding=spec)
                for case in transformed
            }

        with jax.set_mesh(mesh):  # Before any other draw of the process.
            meshes[axes, kind] = (
                mesh,
                spec,
                transformed,
                jax.jit(draw_all_by_spec)(key),
            )
    assert first_draws == {"float32": True}  # Under jit in jax.set_mesh.
    want = {
        case.id: np.asarray(case.init(key, _case_shape(case)))
        for case in FACTORY_CASES
    }
    checked = {}
    for (axes, kind), (
        mesh,
        spec,
        transformed,
        jitted_by_spec,
    ) in meshes.items():
        named = NamedSharding(mesh, spec)
        cases = [
            case
            for i, case in enumerate(FACTORY_CASES)
            if (axes, kind) in pairs[i % 2]
        ]
        where = f"{'x'.join(map(str, axes))} {kind.name}"

        def draw_all(key, named=named, transformed=transformed):
            return (
                {
                    case.id: case.init(
                        key, _case_shape(case), out_sharding=named
                    )
                    for case in transformed
                },
                {
                    case.id: case.init(
                        key, _case_shape(case), "complex64", out_sharding=named
                    )
                    for case in transformed
                    if case.complex
                },
            )

        # Under jit, one program for all the cases (one compile, not one a
        # case): each draw is still traced and placed on its own.
        jitted, jitted_complex = jax.jit(draw_all)(key)
        for case in cases:
            init, shape = case.init, _case_shape(case)
            got = {"eager": init(key, shape, out_sharding=named)}
            got_complex = {}
            if case.complex:  # jax drops out_sharding on its complex paths
                got_complex["eager"] = init(
                    key, shape, "complex64", out_sharding=named
                )
            if case in transformed:
                got["jit"] = jitted[case.id]
                got["jit_spec"] = jitted_by_spec[case.id]
                with jax.set_mesh(mesh):
                    got["spec"] = init(key, shape, out_sharding=spec)
                    got["abstract"] = init(
                        key,
                        shape,
                        out_sharding=NamedSharding(mesh.abstract_mesh, spec),
                    )
                if case.complex:
                    got_complex["jit"] = jitted_complex[case.id]
            for how, value in got.items():
                assert value.sharding.is_equivalent_to(named, len(shape)), (
                    case,
                    where,
                    how,
                    value.sharding,
                )
                assert value.addressable_shards[0].data.shape == (
                    named.shard_shape(shape)
                ), (case, where, how)
                np.testing.assert_array_equal(
                    np.asarray(value),
                    want[case.id],
                    err_msg=f"{case} {where} {how}",
                )
            for how, value in got_complex.items():
                assert value.sharding.is_equivalent_to(named, len(shape)), (
                    case,
                    where,
                    how,
                    value.sharding,
                )
                assert value.dtype == jnp.complex64, (case, where, how)
            checked.setdefault(case.id, []).append(
                [len(axes), kind.name, sorted(got)]
            )
    assert set(checked) == {case.id for case in FACTORY_CASES}
    seen = set()
    for meshes in checked.values():  # e.g. [[1, "Explicit", ["eager"]],
        # [2, "Auto", ["abstract", "eager", "jit", "jit_spec", "spec"]]]
        assert sorted(rank for rank, _, _ in meshes) == [1, 2], meshes
        assert sorted(kind for _, kind, _ in meshes) == ["Auto", "Explicit"]
        assert sorted(len(how) for _, _, how in meshes) == [1, 5], meshes
        seen |= {(rank, kind, tuple(how)) for rank, kind, how in meshes}
    # Every transform on each rank and each kind of axes.
    for rank, kind in [
        (1, "Explicit"),
        (1, "Auto"),
        (2, "Explicit"),
        (2, "Auto"),
    ]:
        assert (
            rank,
            kind,
            ("abstract", "eager", "jit", "jit_spec", "spec"),
        ) in seen
