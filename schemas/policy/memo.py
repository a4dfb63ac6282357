"""What is built from a policy once (indexes, automata) and reused, keyed by its content hash.

The policy model holds data only; the algorithms that index it live with their users and are
memoised here, so two services never build their lookups from different copies of a rule.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import TypeVar

from schemas.policy.model import Policy

T = TypeVar("T")
KEPT = 8  # policies in force at once are few: a new version, the one before, a test's own


def policy_key(policy: Policy) -> str:
    """The policy's content hash (a policy built without one is hashed from its fields)."""
    if policy.content_hash:
        return policy.content_hash
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()


def per_policy(build: Callable[[Policy], T]) -> Callable[[Policy], T]:
    """``build`` run once per policy content, its result reused for the same content."""
    cache: dict[str, T] = {}

    @functools.wraps(build)
    def cached(policy: Policy) -> T:
        key = policy_key(policy)
        found = cache.get(key)
        if found is None:
            if len(cache) >= KEPT:
                cache.pop(next(iter(cache)))
            found = cache[key] = build(policy)
        return found

    return cached
