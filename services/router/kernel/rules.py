"""Classification: category from the lexicon, tier and emergency from the policy's ordered rules.

大事全市解、中事部门解、小事就地解、杂事协商解: the category gives a default tier; rules then
override it (a dispute → consultation), raise it (many households, several departments → city)
or flag a life-safety emergency. The rule that decided the tier and its evidence are recorded;
an emergency is decided by its rule, and no later rule changes it or the reason recorded.

Pure and fast: each text is scanned once against the policy's word lists (see wording.py); no
models, no I/O. Life safety is in lifesafety.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from schemas.events import Resolution, Tier
from schemas.policy import TIER_ORDER, Category, Pattern, Policy, TierRule
from schemas.policy.memo import per_policy
from services.router.kernel.lifesafety import LifeSafety, life_safety
from services.router.kernel.wording import Scanned, Span, Vocabulary, outermost


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


# ---------------------------------------------------------------- the words of a policy


def _clean(text: str, policy: Policy) -> str:
    """The text with negated phrases (无人受伤, 没有起火…) blanked out."""
    for phrase in policy.lexicon.exclude:
        if phrase in text:
            text = text.replace(phrase, "　")
    return text


def _word_lists(policy: Policy) -> Iterator[tuple[str, ...]]:
    lexicon = policy.lexicon
    for category in policy.categories:
        yield category.keywords
    yield from (lexicon.emergency, lexicon.acute, lexicon.dispute, lexicon.live, lexicon.past)
    yield from (lexicon.resolved, lexicon.hypothetical, lexicon.inquiry, lexicon.urgency)
    for pattern in lexicon.patterns:
        yield from pattern.groups
    for rule in policy.rules:
        yield rule.when.keywords_any


@dataclass(frozen=True, slots=True)
class Words:
    """A policy's word lists indexed for one scan per text (built once per policy: ``words_of``)."""

    vocabulary: Vocabulary
    categories: dict[int, Category]  # by the vocabulary's key of their keywords
    patterns: tuple[tuple[Pattern, frozenset[int]], ...]
    """each life-safety pattern with the vocabulary's keys of its groups"""
    signalled: dict[str, Category]
    """the category a live pattern gives a request no keyword categorises, by pattern id"""

    @classmethod
    def of(cls, policy: Policy) -> Words:
        vocabulary = Vocabulary(_word_lists(policy))
        categories = {vocabulary.key(c.keywords): c for c in policy.categories}
        patterns = []
        for pattern in policy.lexicon.patterns:
            keys = [vocabulary.key(group) for group in pattern.groups]
            patterns.append((pattern, frozenset(k for k in keys if k is not None)))
        signalled = {
            p.id: policy.category_by_code[p.category]
            for p in policy.lexicon.patterns
            if p.category is not None
        }
        return cls(
            vocabulary,
            {k: c for k, c in categories.items() if k is not None},
            tuple(patterns),
            signalled,
        )

    def signalled_categories(self, safety: LifeSafety) -> list[Category]:
        """The categories the live patterns name, in the order found (words signal none)."""
        found = (self.signalled.get(label.partition(":")[0]) for label in safety.live)
        return [category for category in found if category is not None]

    def patterns_in(self, scanned: Scanned) -> list[Pattern]:
        """The patterns with a word of every group in the text, in the policy's order (the
        only ones that can match: a set test per pattern instead of a search of its groups)."""
        hits = scanned.hits().keys()
        return [pattern for pattern, keys in self.patterns if keys <= hits]


words_of = per_policy(Words.of)
"""the policy's words, indexed once per policy content"""


def scan(text: str, policy: Policy) -> Scanned:
    """The request text, negations blanked, with the policy's words found in it."""
    return words_of(policy).vocabulary.scan(_clean(text, policy))


# ---------------------------------------------------------------- category


@dataclass(frozen=True, slots=True)
class Scored:
    category: Category
    score: float
    words: tuple[str, ...]
    longest: int
    last: int  # where its last keyword starts


def score_categories(scanned: Scanned, policy: Policy) -> list[Scored]:
    """Categories with a keyword in the text, best first.

    A score is the total length of the distinct keywords found times the category's weight; a
    keyword inside a longer keyword found at the same place (of any category) does not count.
    Ties go to the longest single keyword, then to the category mentioned last (a request tells
    the situation, then what it asks for: 瘫痪在床,想申请低保), then the code; never to the
    order of the policy.
    """
    of_list = words_of(policy).categories
    tagged = [(s, of_list[k]) for k, spans in scanned.hits().items() if k in of_list for s in spans]
    kept = set(outermost([s for s, _ in tagged]))
    found: dict[str, list[Span]] = {}
    for span, cat in tagged:
        if span in kept:
            found.setdefault(cat.code, []).append(span)
    scored = []
    for code, spans in found.items():
        cat = policy.category_by_code[code]
        words = tuple(dict.fromkeys(s.word for s in sorted(spans)))
        score = round(sum(len(w) for w in words) * cat.weight, 6)
        last = max(s.start for s in spans)
        scored.append(Scored(cat, score, words, max(len(w) for w in words), last))
    scored.sort(key=lambda s: (-s.score, -s.longest, -s.last, s.category.code))
    return scored


def infer_category(
    scanned: Scanned, policy: Policy, danger: LifeSafety | None = None
) -> tuple[Category, list[str], list[Category]]:
    """The best category, its evidence, and the categories close enough to count as involved.

    With a live danger (``danger``), of the close categories the one the danger is about wins:
    a live signal word among its keywords, or the category a live pattern names (煤气味 and
    敲门没人应 score alike; the gas is the emergency)."""
    scored = score_categories(scanned, policy)
    if not scored:
        return policy.category_by_code[policy.default_category], [], []
    lexicon = policy.lexicon
    floor = max(scored[0].score * lexicon.related_share, lexicon.related_min)
    close = [scored[0], *(s for s in scored[1:] if s.score >= floor)]
    best = close[0]
    if danger is not None and danger.live and len(close) > 1:
        best = next((s for s in close if _about(s, danger, policy)), best)
    related = [best.category, *(s.category for s in close if s is not best)]
    return best.category, list(best.words), related


def _about(scored: Scored, danger: LifeSafety, policy: Policy) -> bool:
    """Whether a live signal of ``danger`` is one of the category's words or names it."""
    if any(word in danger.live for word in scored.words):
        return True
    return scored.category in words_of(policy).signalled_categories(danger)


# ---------------------------------------------------------------- households in the text

_HOUSEHOLDS = re.compile(
    r"(\d+|[零一二两三四五六七八九十百千万几数上]+)[多余来]?户(?![口籍主型名])"
)
_DIGIT = dict(
    zip("零一二两三四五六七八九几数", (0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 2, 2), strict=True)
)
_UNIT = {"十": 10, "百": 100, "千": 1000}


def _chinese_number(text: str) -> int:
    """两千 → 2000, 三百二十 → 320, 十几 → 12, 几十 → 20, 上百 → 100 (几/数 read as 2)."""
    if "万" in text:
        high, _, low = text.partition("万")
        return (_chinese_number(high) or 1) * 10_000 + _chinese_number(low)
    value, digit = 0, None
    for ch in text.lstrip("上"):
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch in _UNIT:
            value += (1 if digit is None else digit) * _UNIT[ch]
            digit = None
    return value + (digit or 0)


def households_in(text: str) -> tuple[int, str] | None:
    """The largest household count the text states (三百多户, 1200户), with its phrase."""
    best: tuple[int, str] | None = None
    for m in _HOUSEHOLDS.finditer(text):
        digits = m.group(1)
        n = int(digits) if digits.isdigit() else _chinese_number(digits)
        if n > 0 and (best is None or n > best[0]):
            best = (n, m.group(0))
    return best


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class _Context:
    facts: Facts
    scanned: Scanned
    category: Category
    departments: int
    households: tuple[int, str] | None
    safety: LifeSafety


def _rule_applies(rule: TierRule, ctx: _Context, policy: Policy) -> list[str] | None:
    """The evidence for ``rule`` when every condition of it holds, else None."""
    when = rule.when
    evidence: list[str] = []
    if when.keywords_any:
        found = ctx.scanned.words(when.keywords_any)
        if not found:
            return None
        evidence += found
    if when.lexicon == "emergency":
        if not ctx.safety.live:
            return None
        evidence += ctx.safety.live
    elif when.lexicon is not None:
        found = ctx.scanned.words(policy.lexicon.dispute)
        if not found:
            return None
        evidence += found
    if when.households_at_least is not None:
        if ctx.households is None or ctx.households[0] < when.households_at_least:
            return None
        count, phrase = ctx.households
        given = ctx.facts.households_affected
        evidence.append(f"households_affected={count}" + ("" if given == count else f"({phrase})"))
    if when.departments_at_least is not None:
        if ctx.departments < when.departments_at_least:
            return None
        evidence.append(f"departments={ctx.departments}")
    if when.urgent is not None:
        if ctx.facts.urgent != when.urgent:
            return None
        evidence.append(f"urgent={ctx.facts.urgent}")
    if when.categories:
        if ctx.category.code not in when.categories:
            return None
        evidence.append(f"category={ctx.category.code}")
    return evidence


def _households(facts: Facts, text: str) -> tuple[int, str] | None:
    """The households affected: the upstream figure or the text's, whichever is larger."""
    stated = households_in(text)
    given = facts.households_affected
    if given is not None and (stated is None or given >= stated[0]):
        return given, f"households_affected={given}"
    return stated


@dataclass(frozen=True, slots=True)
class _Decision:
    tier: Tier
    emergency: bool
    rule: str
    evidence: list[str]


def _decide(ctx: _Context, policy: Policy) -> _Decision:
    """The policy's rules in order: a later tier overrides, raise_to only raises (never a
    consultation), and an emergency decides at once: later rules change neither its tier nor
    the rule recorded for it."""
    tier: Tier = ctx.category.tier
    decided = _Decision(tier, False, f"category:{ctx.category.code}", [])
    for rule in policy.rules:
        found = _rule_applies(rule, ctx, policy)
        if found is None:
            continue
        then = rule.then
        if then.emergency:
            if then.tier is not None:
                tier = then.tier
            elif then.raise_to is not None and TIER_ORDER[then.raise_to] > TIER_ORDER[tier]:
                tier = then.raise_to
            return _Decision(tier, True, rule.id, found)
        if then.tier is not None and then.tier != tier:
            tier = then.tier
            decided = _Decision(tier, False, rule.id, found)
        if (
            then.raise_to is not None
            and tier != "consultation"
            and TIER_ORDER[then.raise_to] > TIER_ORDER[tier]
        ):
            tier = then.raise_to
            decided = _Decision(tier, False, rule.id, found)
    return decided


def classify(facts: Facts, policy: Policy) -> Classification:
    scanned = scan(facts.description, policy)
    words = words_of(policy)
    safety = life_safety(scanned, policy.lexicon, facts.urgent, words.patterns_in(scanned))
    given = policy.category_by_code.get(facts.category) if facts.category else None
    inferred, evidence, related = infer_category(scanned, policy, safety)
    if given is None and not related and safety.live:  # no keyword: the danger says what
        signalled = words.signalled_categories(safety)
        if signalled:
            inferred, related = signalled[0], [signalled[0]]
    category = given or inferred
    if given is not None:
        evidence = [f"category={given.code}"]
    departments = {c.department for c in related if c.department}
    if category.department:
        departments.add(category.department)
    ctx = _Context(
        facts,
        scanned,
        category,
        len(departments),
        _households(facts, scanned.text),
        safety,
    )
    decided = _decide(ctx, policy)
    # A life-safety signal that was found but defused is recorded with the word that defused it.
    notes = [] if decided.emergency else list(ctx.safety.defused)
    return Classification(
        category=category,
        tier=decided.tier,
        emergency=decided.emergency,
        resolution=facts.resolution_hint or category.resolution,
        department=category.department,
        rule=decided.rule,
        evidence=tuple(dict.fromkeys([*decided.evidence, *evidence, *notes])),
        departments=tuple(sorted(departments)),
    )
