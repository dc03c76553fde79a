"""Path rules: the initializer (and sharding) of a parameter, by its path.

A rule is ``(pattern, init)`` or ``(pattern, init, sharding)``; the first
rule whose regular expression ``re.search``-es a parameter's path (such as
``"params/Dense_0/kernel"``) gives it its initializer, and its sharding when
the rule has one. :func:`jinit.assign` and the framework adapters
(``jinit.equinox.reinit``, ``jinit.haiku.path_stable``) share them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from types import EllipsisType
from typing import Any, NamedTuple

import jax
from jax.sharding import PartitionSpec, Sharding

# A rule as written: (pattern, init) or (pattern, init, sharding).
Rule = (
    tuple[str, Callable[..., jax.Array]]
    | tuple[str, Callable[..., jax.Array], Sharding | PartitionSpec | None]
)


class CompiledRule(NamedTuple):
    """A rule with its pattern compiled.

    ``sharding`` is ``...`` for a ``(pattern, init)`` rule, which leaves the
    parameter its own sharding.
    """

    pattern: re.Pattern[str]
    init: Callable[..., jax.Array]
    sharding: Sharding | PartitionSpec | None | EllipsisType = ...


def compile_rules(
    rules: Sequence[Rule], *, without_sharding: str | None = None
) -> list[CompiledRule]:
    """``rules`` checked, with their patterns compiled.

    Args:
      rules: ``(pattern, init)`` or ``(pattern, init, sharding)`` tuples.
      without_sharding: why a caller that sets no sharding takes only
        ``(pattern, init)`` pairs (said in the error), or ``None``.

    Raises:
      TypeError: ``rules`` is not a list (or other sequence) of rules, a
        rule is not such a tuple, or its ``init`` is not callable.
      ValueError: a pattern is not a regular expression.
    """
    sizes = (2,) if without_sharding else (2, 3)
    wanted = (
        f"a (pattern, init) pair ({without_sharding})"
        if without_sharding
        else "a (pattern, init) or (pattern, init, sharding) tuple"
    )
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence):
        raise TypeError(
            f"`rules` must be a list of rules, each {wanted}, such as "
            f'[(r"kernel$", jinit.he_normal())]; got '
            f"{type(rules).__name__} {rules!r}."
        )
    compiled = []
    for rule in rules:
        if not isinstance(rule, tuple) or len(rule) not in sizes:
            raise TypeError(f"each rule must be {wanted}; got {rule!r}.")
        pattern, init, *sharding = rule
        if not callable(init):
            raise TypeError(
                f"the init of rule {pattern!r} must be an initializer "
                f"init(key, shape, dtype); got {type(init).__name__} "
                f"{init!r}."
            )
        try:
            compiled.append(CompiledRule(re.compile(pattern), init, *sharding))
        except (re.error, TypeError) as error:
            raise ValueError(
                f"rule pattern {pattern!r} is not a regular "
                f"expression: {error}."
            ) from None
    return compiled


def matching(rules: Sequence[CompiledRule], name: str) -> CompiledRule | None:
    """The first rule whose pattern ``re.search``-es ``name``, or ``None``."""
    return next((rule for rule in rules if rule.pattern.search(name)), None)


def first_match(
    rules: Sequence[CompiledRule], name: str, leaf: Any
) -> CompiledRule:
    """The first rule whose pattern ``re.search``-es ``name``.

    Raises:
      ValueError: no rule matches (the path, the ``shape`` and ``dtype`` of
        ``leaf`` and the patterns are named).
    """
    rule = matching(rules, name)
    if rule is not None:
        return rule
    patterns = ", ".join(repr(rule.pattern.pattern) for rule in rules)
    raise ValueError(
        f"no rule matches the parameter at {name!r} "
        f"({leaf.dtype}{list(leaf.shape)}); the "
        f"patterns are {patterns or 'none'}."
    )
