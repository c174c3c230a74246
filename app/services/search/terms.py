"""What a person typed, turned into search terms that cannot be query syntax.

Input is split into words (letters and digits; everything else separates, as the
FTS5 unicode61 tokenizer and the PostgreSQL tsvector in migration 0004 do). Each
word is quoted on its way into FTS5 and into to_tsquery, so quotes, NEAR, AND/OR,
``-``, ``:``, ``*``, parentheses and the like are never operators: they are
separators. The last word matches as a prefix (search as you type).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

WORD = re.compile(r"[^\W_]+")
MAX_QUERY = 200  # characters a query may have (longer: 422)
MAX_TERMS = 12  # words past this are ignored
MAX_WORD = 64
PREFIX_MIN = 2  # a one-letter last word matches exactly: "a*" would touch the whole vocabulary


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower case without diacritics: how the highlighter compares words."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Terms:
    words: tuple[str, ...]  # lower case, as typed otherwise
    prefix: bool  # the last word matches as a prefix

    def __bool__(self) -> bool:
        return bool(self.words)

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every word, quoted; the last one a prefix ("printer" "fi"*)."""
        parts = [f'"{w}"' for w in self.words]
        if self.prefix:
            parts[-1] += "*"
        return " ".join(parts)

    def tsquery(self) -> str:
        """A to_tsquery('simple', ...) expression: 'printer' & 'fi':*."""
        parts = [f"'{w}'" for w in self.words]
        if self.prefix:
            parts[-1] += ":*"
        return " & ".join(parts)

    def plain(self) -> str:
        """For engines that take plain words (Meilisearch)."""
        return " ".join(self.words)

    def matcher(self):
        """A function telling whether a word of a text is one of the terms (for highlighting)."""
        exact = {fold(w) for w in (self.words[:-1] if self.prefix else self.words)}
        last = fold(self.words[-1]) if self.prefix and self.words else None

        def matches(word: str) -> bool:
            folded = fold(word)
            return folded in exact or (last is not None and folded.startswith(last))

        return matches


def parse_terms(text: str | None) -> Terms:
    words = []
    for match in WORD.finditer((text or "")[:MAX_QUERY]):
        word = match.group(0).lower()[:MAX_WORD]
        if word not in words:
            words.append(word)
        if len(words) == MAX_TERMS:
            break
    prefix = bool(words) and len(words[-1]) >= PREFIX_MIN
    return Terms(tuple(words), prefix)
