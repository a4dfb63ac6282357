"""The version of the decision logic, recorded on every decision as ``logicversion``.

``CLASSIFIER`` names the classifier's method (bumped by hand when it changes in kind); the hash
covers the source of every kernel module, so any change to how the router decides changes the
version. The policy (lexicon, rules, directory) has its own ``policyversion``. An auditor
re-runs a decision only with the logic it names, and says so when it cannot.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

CLASSIFIER = "lexicon-scan.2"


@cache
def logic_version() -> str:
    digest = hashlib.sha256()
    kernel = resources.files("services.router.kernel")
    for entry in sorted(kernel.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return f"{CLASSIFIER}+kernel@{digest.hexdigest()[:12]}"


def can_rerun(recorded: str | None) -> bool:
    """Whether this kernel is the logic a recorded decision names (the audit re-runs a decision
    only then; a decision recorded before ``logicversion`` existed names none)."""
    return recorded == logic_version()
