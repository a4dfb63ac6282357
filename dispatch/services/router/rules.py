"""Classification: category from the lexicon, tier and emergency from the policy's ordered rules.

大事全市解、中事部门解、小事就地解、杂事协商解: the category gives a default tier; rules then
override it (a dispute → consultation), raise it (many households, several departments → city)
or flag a life-safety emergency. The rule that decided the tier and its evidence are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dispatch.schemas.events import Resolution, Tier
from dispatch.services.router.policy import TIER_ORDER, Category, Policy, TierRule


@dataclass(frozen=True, slots=True)
class Facts:
    """What a request says, as far as classification is concerned."""

    description: str
    category: str | None = None
    urgent: bool = False
    households_affected: int | None = None
    resolution_hint: Resolution | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    category: Category
    tier: Tier
    emergency: bool
    resolution: Resolution
    department: str | None
    rule: str
    evidence: tuple[str, ...]
    departments: tuple[str, ...] = field(default=())


def _clean(text: str, policy: Policy) -> str:
    """The text with negated phrases (无人受伤, 没有起火…) blanked out."""
    for phrase in policy.lexicon.exclude:
        if phrase in text:
            text = text.replace(phrase, "　")
    return text


def _matches(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if w in text]


def infer_category(text: str, policy: Policy) -> tuple[Category, list[str], list[Category]]:
    """The best-scoring category (longer keyword matches weigh more), its evidence, all hits."""
    best: Category | None = None
    best_score = 0.0
    evidence: list[str] = []
    hits: list[Category] = []
    for cat in policy.categories:
        found = _matches(text, cat.keywords)
        if not found:
            continue
        hits.append(cat)
        score = sum(len(w) for w in found) * cat.weight
        if score > best_score:
            best, best_score, evidence = cat, score, found
    if best is None:
        return policy.category_by_code[policy.default_category], [], []
    return best, evidence, hits


def _rule_applies(
    rule: TierRule, facts: Facts, text: str, policy: Policy, category: Category, departments: int
) -> list[str] | None:
    """The evidence for ``rule`` when every condition of it holds, else None."""
    when = rule.when
    evidence: list[str] = []
    if when.keywords_any:
        found = _matches(text, when.keywords_any)
        if not found:
            return None
        evidence += found
    if when.lexicon is not None:
        found = _matches(text, getattr(policy.lexicon, when.lexicon))
        if not found:
            return None
        evidence += found
    if when.households_at_least is not None:
        if (facts.households_affected or 0) < when.households_at_least:
            return None
        evidence.append(f"households_affected={facts.households_affected}")
    if when.departments_at_least is not None:
        if departments < when.departments_at_least:
            return None
        evidence.append(f"departments={departments}")
    if when.urgent is not None:
        if facts.urgent != when.urgent:
            return None
        evidence.append(f"urgent={facts.urgent}")
    if when.categories:
        if category.code not in when.categories:
            return None
        evidence.append(f"category={category.code}")
    return evidence


def classify(facts: Facts, policy: Policy) -> Classification:
    text = _clean(facts.description, policy)
    given = policy.category_by_code.get(facts.category) if facts.category else None
    inferred, evidence, hits = infer_category(text, policy)
    category = given or inferred
    if given is not None:
        evidence = [f"category={given.code}"]
    departments = {c.department for c in hits if c.department}
    if category.department:
        departments.add(category.department)
    tier: Tier = category.tier
    emergency = False
    rule_id = f"category:{category.code}"
    for rule in policy.rules:
        found = _rule_applies(rule, facts, text, policy, category, len(departments))
        if found is None:
            continue
        then = rule.then
        if then.emergency:
            emergency = True
            rule_id = rule.id
            evidence += found
        if then.tier is not None and then.tier != tier:
            tier, rule_id = then.tier, rule.id
            evidence += found
        if (
            then.raise_to is not None
            and tier != "consultation"
            and TIER_ORDER[then.raise_to] > TIER_ORDER[tier]
        ):
            tier, rule_id = then.raise_to, rule.id
            evidence += found
    return Classification(
        category=category,
        tier=tier,
        emergency=emergency,
        resolution=facts.resolution_hint or category.resolution,
        department=category.department,
        rule=rule_id,
        evidence=tuple(dict.fromkeys(evidence)),
        departments=tuple(sorted(departments)),
    )
