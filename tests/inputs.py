"""Random inputs for tests (activations, batches, targets), drawn without a
compilation per shape.

``normal(key, shape)`` and ``uniform(key, shape)`` are ``jax.random.normal``
and ``jax.random.uniform`` (on [0, 1)) in float32, the same values bit for
bit (tests/test_same_values_as_jax.py), but drawn by jinit, which compiles
nothing at a new shape eagerly, where ``jax.random`` compiles a program for
each (0.2-0.8 s on a 2-core machine, most of some tests' time). Under a
trace the two are the same. Use ``jax.random`` where it is the reference a
test compares with.
"""

import jinit

normal = jinit.random_normal(stddev=1.0)
uniform = jinit.random_uniform(0.0, 1.0)
