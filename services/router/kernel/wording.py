"""Where a policy's words occur in a request: spans, the longest-word rule, clauses.

Chinese has no spaces, so a word is a substring. Two rules make that honest: a word inside a
longer word found at the same place does not count (电梯 inside 电梯困人, 动不动 inside 一动不动),
and a text is scanned once against every word list of its policy (``Vocabulary``, one
Aho-Corasick automaton built per policy: pyahocorasick), so the cost of classifying grows with
the text, not with the number of keywords.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick

SENTENCE_ENDS = "。!?!?;;\n"
CLAUSE_ENDS = SENTENCE_ENDS + ",,、:: \t"
ALIASES_KEPT = 4096  # equal lists of other policy objects remembered (a few policies' worth)


@dataclass(frozen=True, slots=True, order=True)
class Span:
    start: int
    end: int
    word: str


def inside(span: Span, others: Iterable[Span]) -> bool:
    """Whether ``span`` lies inside a longer one of ``others``."""
    length = span.end - span.start
    return any(
        o.start <= span.start and span.end <= o.end and o.end - o.start > length for o in others
    )


def outermost(spans: list[Span]) -> list[Span]:
    """The spans not inside a longer one: in 电梯困人, 电梯困人 counts and the 电梯 in it not.

    Spans of the same extent (one word in several lists) stand or fall together; the order of
    ``spans`` is kept. A sweep by start (longest first): a span is inside another exactly when
    a span of another extent seen before it reaches as far.
    """
    if len(spans) < 2:
        return list(spans)
    kept: set[tuple[int, int]] = set()
    reach = pending = -1
    extent: tuple[int, int] | None = None
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if (span.start, span.end) != extent:
            reach = max(reach, pending)
            extent, pending = (span.start, span.end), span.end
            if span.end > reach:
                kept.add(extent)
    return [s for s in spans if (s.start, s.end) in kept]


def find(text: str, words: Iterable[str]) -> list[Span]:
    """Every occurrence of every word, in text order (the direct way, for a list not indexed)."""
    out: list[Span] = []
    for word in words:
        if not word or word not in text:
            continue
        at = text.find(word)
        while at >= 0:
            out.append(Span(at, at + len(word), word))
            at = text.find(word, at + 1)
    out.sort()
    return out


class Vocabulary:
    """Word lists indexed by word, so that one pass over a text finds the words of every list.

    Lists are known by identity (those of the policy object it was built from, which the
    vocabulary keeps alive), else by content: one policy version read twice (the router's own
    copy and the one on ``dispatch.policies``, the audit's and the bench's) is two objects with
    equal lists, and an equal list must find its words, not fall back to a scan of its own.
    """

    def __init__(self, lists: Iterable[tuple[str, ...]]) -> None:
        self._lists: list[tuple[str, ...]] = []
        self._index: dict[int, int] = {}
        self._by_content: dict[tuple[str, ...], int] = {}
        # Lists of other objects found by content, by id, kept alive so that no id is reused.
        self._aliases: dict[int, tuple[tuple[str, ...], int | None]] = {}
        owners: dict[str, list[int]] = {}
        for words in lists:
            if id(words) in self._index:
                continue
            self._index[id(words)] = len(self._lists)
            for word in dict.fromkeys(w for w in words if w):
                owners.setdefault(word, []).append(len(self._lists))
            self._by_content.setdefault(words, len(self._lists))
            self._lists.append(words)
        self._automaton = ahocorasick.Automaton()
        for word, k in owners.items():
            self._automaton.add_word(word, (len(word) - 1, word, tuple(k)))
        if owners:
            self._automaton.make_automaton()

    def scan(self, text: str) -> Scanned:
        """Every word of every list found in ``text``, by list, in text order (by start, then
        end)."""
        found: dict[int, list[Span]] = {}
        if self._automaton.kind != ahocorasick.AHOCORASICK:
            return Scanned(text, self, found)
        for last, (extra, word, lists) in self._automaton.iter(text):
            span = Span(last - extra, last + 1, word)
            for k in lists:
                found.setdefault(k, []).append(span)
        for spans in found.values():
            spans.sort()
        return Scanned(text, self, found)

    def key(self, words: tuple[str, ...]) -> int | None:
        """The index of a list given to this vocabulary (the very object, or an equal one),
        else None."""
        k = self._index.get(id(words))
        if k is not None and self._lists[k] is words:
            return k
        alias = self._aliases.get(id(words))
        if alias is not None and alias[0] is words:
            return alias[1]
        if len(self._aliases) >= ALIASES_KEPT:
            self._aliases.clear()
        found = self._by_content.get(words)
        self._aliases[id(words)] = (words, found)
        return found


@dataclass(frozen=True, slots=True)
class Scanned:
    """A text with the words of a vocabulary found in it."""

    text: str
    vocabulary: Vocabulary
    found: dict[int, list[Span]] = field(repr=False)

    def find(self, words: tuple[str, ...]) -> list[Span]:
        """Every occurrence of every word of ``words``, in text order."""
        k = self.vocabulary.key(words)
        if k is None:
            return find(self.text, words)
        return self.found.get(k, [])

    def hits(self) -> dict[int, list[Span]]:
        """The lists with a word in the text, by the index ``Vocabulary.key`` gives."""
        return self.found

    def words(self, words: tuple[str, ...]) -> list[str]:
        """The distinct words of ``words`` in the text, not counting those inside longer ones."""
        return list(dict.fromkeys(s.word for s in outermost(self.find(words))))


class Segments:
    """Sentence and clause boundaries of a text."""

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.sentences = [0] + [i + 1 for i, ch in enumerate(text) if ch in SENTENCE_ENDS]
        self.clauses = [0] + [i + 1 for i, ch in enumerate(text) if ch in CLAUSE_ENDS]

    def _around(self, starts: list[int], pos: int) -> tuple[int, int]:
        k = bisect_right(starts, pos) - 1
        return starts[k], starts[k + 1] if k + 1 < len(starts) else self.length

    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end of the sentence around ``pos``."""
        return self._around(self.sentences, pos)

    def clause(self, pos: int) -> tuple[int, int]:
        """Start and end of the clause (between commas) around ``pos``."""
        return self._around(self.clauses, pos)
