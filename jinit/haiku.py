"""jinit initializers in Haiku: as ``w_init``, and path-stable.

Haiku calls an initializer as ``w_init(shape, dtype)``, with no key, and
gives each random one the next key of the transform's sequence
(``hk.next_rng_key()``), so a parameter's value depends on how many were
drawn before it. This module, imported as ``import jinit.haiku`` (``import
jinit`` does not import Haiku), offers two ways in:

* :func:`initializer` wraps ``init(key, shape, dtype)`` as a Haiku
  ``w_init`` drawing its key with ``hk.next_rng_key()``;
* :func:`path_stable` makes every parameter created inside it with the key
  ``jinit.path_key(key, full_name)`` of its own name, so inserting or
  removing a module changes no other parameter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import haiku as hk
import jax

from jinit._keys import path_key
from jinit._rules import compile_rules, first_match

__all__ = ["initializer", "path_stable"]

HaikuInit = Callable[[Sequence[int], Any], jax.Array]
Rule = tuple[str, Callable[..., jax.Array]]


def initializer(init: Callable[..., jax.Array]) -> HaikuInit:
    """A Haiku initializer ``w_init(shape, dtype)`` drawing with ``init``.

    The returned function computes ``init(hk.next_rng_key(), shape,
    dtype)``: the key is the next one of the Haiku transform's sequence,
    exactly as Haiku's own random initializers take theirs. It must be
    called inside ``hk.transform`` (as modules call their ``w_init``).

    Args:
      init: a jinit initializer, or any ``init(key, shape, dtype)``.

    Returns:
      The Haiku initializer, for ``w_init=``, ``b_init=`` and
      ``hk.get_parameter(..., init=...)``.

    Raises:
      TypeError: ``init`` is not callable.

    Examples:
      >>> import haiku as hk, jax, jax.numpy as jnp, jinit, jinit.haiku
      >>> w_init = jinit.haiku.initializer(jinit.he_normal())
      >>> model = hk.transform(lambda x: hk.Linear(8, w_init=w_init)(x))
      >>> params = model.init(jax.random.key(0), jnp.ones((2, 4)))
      >>> params["linear"]["w"].shape
      (4, 8)
    """
    if not callable(init):
        raise TypeError(
            f"`init` must be an initializer init(key, shape, "
            f"dtype); got {type(init).__name__} {init!r}."
        )

    def haiku_init(shape: Sequence[int], dtype: Any) -> jax.Array:
        return init(hk.next_rng_key(), shape, dtype)

    return haiku_init


@contextlib.contextmanager
def path_stable(
    rules: Sequence[Rule], key: jax.Array | None = None
) -> Iterator[None]:
    """Creates the parameters of its block with keys of their own names.

    Inside a Haiku transformed function, every ``hk.get_parameter`` that
    creates a parameter within the ``with`` block draws it as
    ``init(jinit.path_key(key, full_name), shape, dtype)``, where ``init``
    comes from the first rule whose regular expression matches
    ``full_name`` (``re.search``) and ``full_name`` is Haiku's
    ``"module_name/param_name"``, such as ``"mlp/~/linear_0/w"``. That is
    kept as it is, ``~`` segments included: it is the path of the parameter
    in Haiku's params dict (``params["mlp/~/linear_0"]["w"]``), so the values
    are the ones ``jinit.materialize(key, jinit.assign(params, rules))``
    gives, bit for bit, and the same rules serve both. Haiku's key sequence
    is not used, so inserting, removing or reordering modules changes no
    other parameter, provided the module names stay: Haiku names unnamed
    modules by counting those of the same class (``linear``, ``linear_1``),
    so give modules explicit names where one may be inserted before another
    of its class. The parameter's own ``init`` (the module's ``w_init``) is
    ignored; the rules decide, as in :func:`jinit.assign`, and a parameter
    they do not match is an error rather than a silent fallback to Haiku's
    keys. Parameters are only created while Haiku runs ``init``; outside it
    the block changes nothing. ``hk.get_state`` is not affected.

    Args:
      rules: ``(pattern, init)`` pairs; ``init`` is a jinit initializer or
        any ``init(key, shape, dtype)``.
      key: the PRNG key folded with each name. ``None`` (the default) takes
        ``hk.next_rng_key()`` once when the block opens during ``init`` (no
        key is drawn during ``apply``): the same key for a given ``init``
        key as long as the ``with`` comes before any other use of Haiku's
        keys, such as the first statement of the transformed function.

    Yields:
      Nothing; use it as ``with jinit.haiku.path_stable(rules):``.

    Raises:
      TypeError: ``rules`` is not a list (or other sequence) of rules, or a
        rule is not a ``(pattern, init)`` pair with a callable ``init``.
      ValueError: a pattern is not a regular expression, or (when the
        parameter is created) no rule matches a parameter's full name (the
        name and the patterns are given).

    Examples:
      >>> import haiku as hk, jax, jax.numpy as jnp, jinit, jinit.haiku
      >>> rules = [(r"/w$", jinit.he_normal()), (r"/b$", jinit.zeros())]
      >>> def forward(x):
      ...     with jinit.haiku.path_stable(rules):
      ...         return hk.Linear(8, name="out")(x)
      >>> model = hk.transform(forward)
      >>> params = model.init(jax.random.key(0), jnp.ones((2, 4)))
      >>> params["out"]["b"].tolist() == [0.0] * 8
      True
    """
    compiled = compile_rules(
        rules, without_sharding="Haiku places its parameters itself"
    )
    if not hk.running_init():
        yield
        return
    key = hk.next_rng_key() if key is None else key

    def creator(
        next_creator: Callable[..., jax.Array],
        shape: Sequence[int],
        dtype: Any,
        init: HaikuInit,
        context: hk.GetterContext,
    ) -> jax.Array:
        del init  # The rules choose the initializer.
        name = context.full_name
        rule_init = first_match(
            compiled, name, jax.ShapeDtypeStruct(shape, dtype)
        ).init
        return next_creator(
            shape,
            dtype,
            lambda shape, dtype: rule_init(path_key(key, name), shape, dtype),
        )

    with hk.custom_creator(creator):
        yield
