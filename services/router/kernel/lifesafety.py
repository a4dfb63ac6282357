"""Life safety: whether a request reports a danger to someone now.

A signal is a life-safety word of the lexicon (着火, 中风, 叫不醒) or a pattern, words that only
together report a danger (a person + a critical state: 老人 + 倒地). A signal is live unless:

- a ``resolved`` phrase follows it (已扑灭, 送到医院了, 找到了): it is over;
- the time word that dates it is ``past`` (昨天, 去年, 两年了): the nearest time word before
  it in its sentence, else the nearest after it in its clause; a ``live`` one (现在, 刚才,
  开始) keeps it live;
- its clause is ``hypothetical`` (万一, 隐患, 差点, 经常, 培训): a worry, a risk, a habit;
- it is not ``acute`` and the request is an ``inquiry`` (申请, 想问, 补贴) with neither an
  ``urgency`` word (快来, 马上) nor a live time word: a question about a service, such as
  a subsistence allowance for a mother who had a stroke two years ago.

Every signal found is recorded: live ones as evidence, defused ones with the word that defused
them, so an auditor sees why a request was or was not an emergency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, product

from schemas.policy import Lexicon, Pattern
from services.router.kernel.wording import Scanned, Segments, Span, inside, outermost

_COMBOS_PER_GROUP = 8  # occurrences of one group's words tried per pattern


@dataclass(frozen=True, slots=True)
class Signal:
    """A life-safety word, or the words of a pattern, found in the text."""

    label: str
    words: tuple[Span, ...]  # in text order
    acute: bool

    @property
    def start(self) -> int:
        return self.words[0].start

    @property
    def anchor(self) -> int:
        """Where the last word starts: a time word before it dates the signal."""
        return self.words[-1].start

    @property
    def end(self) -> int:
        return max(w.end for w in self.words)


@dataclass(frozen=True, slots=True)
class LifeSafety:
    live: tuple[str, ...] = ()  # evidence: one per word or pattern
    defused: tuple[str, ...] = ()  # "defused:<signal>/<the word that defused it>"


def word_signals(scanned: Scanned, lexicon: Lexicon) -> list[Signal]:
    acute = set(lexicon.acute)
    spans = outermost([*scanned.find(lexicon.emergency), *scanned.find(lexicon.acute)])
    return [Signal(s.word, (s,), s.word in acute) for s in sorted(set(spans))]


def pattern_signals(scanned: Scanned, pattern: Pattern, segments: Segments) -> list[Signal]:
    """One signal per place where a word of every group stands within ``pattern.within``."""
    found: dict[int, list[Span]] = {}
    for i in pattern.search_order:
        spans = outermost(scanned.find(pattern.groups[i]))[:_COMBOS_PER_GROUP]
        if not spans:
            return []  # the smaller groups first: most patterns end here, cheaply
        found[i] = spans
    by_anchor: dict[int, tuple[int, tuple[Span, ...]]] = {}
    for combo in product(*(found[i] for i in range(len(pattern.groups)))):
        ordered = tuple(sorted(combo))
        if pattern.ordered and ordered != combo:
            continue
        first, last = ordered[0], ordered[-1]
        if last.start - first.start > pattern.within:
            continue
        if any(a.end > b.start for a, b in pairwise(ordered)):
            continue
        if segments.sentence(first.start) != segments.sentence(last.start):
            continue
        width = max(s.end for s in ordered) - first.start
        if last.start not in by_anchor or width < by_anchor[last.start][0]:
            by_anchor[last.start] = (width, ordered)
    return [
        Signal(f"{pattern.id}:{'+'.join(s.word for s in spans)}", spans, pattern.acute)
        for _, (_, spans) in sorted(by_anchor.items())
    ]


@dataclass(frozen=True, slots=True)
class _Cues:
    """Where the words that date or defuse a signal stand in one text."""

    times: list[tuple[Span, bool]]  # (time word, whether it means now)
    resolved: list[Span]
    hypothetical: list[Span]
    inquiry: str | None
    urgency: bool


def _cues(scanned: Scanned, lexicon: Lexicon, urgent: bool, signals: list[Signal]) -> _Cues:
    """The cue words, except those inside a longer signal word (动不动 in 一动不动)."""
    taken = [w for signal in signals for w in signal.words]

    def found(*lists: tuple[str, ...]) -> list[Span]:
        spans = outermost([s for words in lists for s in scanned.find(words)])
        return sorted(s for s in set(spans) if not inside(s, taken))

    now = set(lexicon.live)
    inquiry = found(lexicon.inquiry)
    return _Cues(
        times=[(s, s.word in now) for s in found(lexicon.live, lexicon.past)],
        resolved=found(lexicon.resolved),
        hypothetical=found(lexicon.hypothetical),
        inquiry=inquiry[0].word if inquiry else None,
        urgency=urgent or bool(found(lexicon.urgency)),
    )


def _time_of(signal: Signal, cues: _Cues, seg: Segments) -> tuple[Span, bool] | None:
    """The time word that dates a signal: the nearest before it in its sentence, else the
    nearest after it in its clause (中风两年了); with whether it means now."""
    sentence_start, _ = seg.sentence(signal.anchor)
    before = [t for t in cues.times if sentence_start <= t[0].start and t[0].end <= signal.anchor]
    if before:
        return max(before, key=lambda t: (t[0].end, t[0].end - t[0].start))
    _, clause_end = seg.clause(signal.end - 1)
    after = [t for t in cues.times if signal.end <= t[0].start and t[0].end <= clause_end]
    return min(after, key=lambda t: t[0].start) if after else None


def _defused_by(signal: Signal, cues: _Cues, seg: Segments) -> str | None:
    """Why a signal does not report a danger now (the word that says so), or None."""
    for span in cues.resolved:
        if span.start >= signal.anchor:
            return span.word
    when = _time_of(signal, cues, seg)
    if when is not None and not when[1]:
        return when[0].word
    clause_start, _ = seg.clause(signal.start)
    _, clause_end = seg.clause(signal.end - 1)
    for span in cues.hypothetical:
        if clause_start <= span.start and span.end <= clause_end:
            return span.word
    if signal.acute or cues.urgency or when is not None:
        return None
    return cues.inquiry


def life_safety(
    scanned: Scanned,
    lexicon: Lexicon,
    urgent: bool = False,
    patterns: Sequence[Pattern] | None = None,
) -> LifeSafety:
    """The life-safety signals in a text that report a danger now, and those defused (why).

    ``patterns``: those of the lexicon that can match (``rules.Words.patterns_in``), else all.
    """
    segments = Segments(scanned.text)
    signals = word_signals(scanned, lexicon)
    for pattern in lexicon.patterns if patterns is None else patterns:
        signals += pattern_signals(scanned, pattern, segments)
    if not signals:
        return LifeSafety()
    cues = _cues(scanned, lexicon, urgent, signals)
    live: dict[str, str] = {}
    defused: dict[str, str] = {}
    for signal in signals:
        source = signal.label.partition(":")[0]
        reason = _defused_by(signal, cues, segments)
        if reason is None:
            live.setdefault(source, signal.label)
        else:
            defused.setdefault(source, f"defused:{signal.label}/{reason}")
    quiet = [note for source, note in defused.items() if source not in live]
    return LifeSafety(tuple(live.values()), tuple(quiet))
