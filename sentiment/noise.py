"""Noise a chat adds to a customer's words, neutralised before the emotion model reads them.

Markup (HTML tags and comments a widget or a paste leaves), URLs and long repeats ("!!!!!!!!!!!!",
"nooooooooo", a word typed thirty times) take the model's attention away from the words that say how the
customer feels: an angry message wrapped in ``<div><p>`` scored 0.30 instead of 0.56. :func:`neutralise`
returns the text the model reads and a map back to the customer's own text, so an explanation's word
offsets still point into the text the agent is shown (the stored text, unchanged and escaped on display).

What changes, and what it becomes:
- an HTML tag (a known element name, so ``<EMAIL>`` and the other redaction placeholders stay), an HTML
  comment, a URL (``http(s)://`` or ``www.``): a space;
- an HTML character reference (``&amp;``, ``&#39;``): the character it stands for;
- a letter typed 3+ times in a row: twice ("nooooo" -> "noo": no English word has three in a row);
- a symbol typed 4+ times in a row: three times ("!!!!!!!!" -> "!!!");
- a word or a phrase of up to three words typed 4+ times in a row: three times.
Everything else is left as it is, byte for byte; digits are never touched (amounts, references).
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass

# HTML element names (WHATWG), so that a tag is told from a redaction placeholder or "<3"
HTML_ELEMENTS_TEXT = """
    a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption cite
    code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure
    font footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend
    li link main map mark menu meta meter nav noscript object ol optgroup option output p param picture pre
    progress q rp rt ruby s samp script section select slot small source span strike strong style sub
    summary sup table tbody td template textarea tfoot th thead time title tr track u ul var video wbr
    center marquee blink tt big"""
HTML_ELEMENTS = frozenset(HTML_ELEMENTS_TEXT.split())
_TAG = re.compile(r"<!--.*?-->|</?([A-Za-z][A-Za-z0-9]*)(?:\s[^<>]*)?/?>", re.DOTALL)
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILER = re.compile(r"[.,;:!?)\]}'\"]+$")
_LETTER_RUN = re.compile(r"([^\W\d_])\1{2,}")
_SYMBOL_RUN = re.compile(r"([^\w\s])\1{3,}")
# a unit of 1-3 words, then 3+ more copies of it (any case) separated by spaces or punctuation
_REPEATED_UNIT = re.compile(r"\b(\w+(?:\s+\w+){0,2}?)(?:[\s,.;:!?-]+\1\b){3,}", re.IGNORECASE)
_SEPARATED_UNIT = r"[\s,.;:!?-]+"
KEEP_LETTERS, KEEP_SYMBOLS, KEEP_UNITS = 2, 3, 3


@dataclass(frozen=True)
class _Piece:
    start: int  # in the original text
    end: int
    text: str  # what the model reads in its place (the original slice itself where nothing changed)
    literal: bool  # text is the original slice: offsets inside it map one to one
    trailing: bool = False  # a dropped tail of a repeat: a word that ends just before it extends over it


@dataclass(frozen=True)
class Neutralised:
    """The text the model reads, and where each of its characters came from in the original."""

    original: str
    text: str
    _pieces: tuple[_Piece, ...]
    _starts: tuple[int, ...]  # where each piece begins in ``text``

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` stands for (``start < end``): a part
        read as it was keeps its offsets; a replaced part stands for all it replaced; a word cut short
        by a dropped repeat ("noo" of "nooooo") reaches over the dropped letters."""
        first = self._piece_at(start)
        last = self._piece_at(end - 1)
        a, b = self._pieces[first], self._pieces[last]
        begin = a.start + (start - self._starts[first]) if a.literal else a.start
        finish = b.start + (end - self._starts[last]) if b.literal else b.end
        following = last + 1
        while (
            following < len(self._pieces)
            and self._pieces[following].trailing
            and self._pieces[following].start == finish
            and end - self._starts[last] == len(b.text)
        ):
            finish = self._pieces[following].end
            following += 1
        return begin, finish

    def _piece_at(self, position: int) -> int:
        index = bisect.bisect_right(self._starts, position) - 1
        while not self._pieces[index].text:  # empty pieces (dropped text) hold no character
            index -= 1
        return index


def _replacements(text: str) -> list[_Piece]:
    """The non-overlapping changes, in order (markup and URLs first, then repeats in what is left)."""
    changes: list[_Piece] = []
    for match in _TAG.finditer(text):
        name = match.group(1)
        if match.group().startswith("<!--") or (name and name.lower() in HTML_ELEMENTS):
            changes.append(_Piece(match.start(), match.end(), " ", False))
    for match in _ENTITY.finditer(text):
        changes.append(_Piece(match.start(), match.end(), html.unescape(match.group()), False))
    for match in _URL.finditer(text):
        trailer = _URL_TRAILER.search(match.group())
        end = match.end() - (len(trailer.group()) if trailer else 0)
        changes.append(_Piece(match.start(), end, " ", False))
    for match in _REPEATED_UNIT.finditer(text):
        unit = re.escape(match.group(1))
        copies = list(re.finditer(rf"{unit}(?={_SEPARATED_UNIT}|$)|{unit}\b", match.group(), re.IGNORECASE))
        if len(copies) > KEEP_UNITS:
            cut = match.start() + copies[KEEP_UNITS - 1].end()
            changes.append(_Piece(cut, match.end(), "", False, trailing=False))
    for pattern, keep in ((_LETTER_RUN, KEEP_LETTERS), (_SYMBOL_RUN, KEEP_SYMBOLS)):
        for match in pattern.finditer(text):
            changes.append(_Piece(match.start() + keep, match.end(), "", False, trailing=True))
    kept: list[_Piece] = []
    for change in sorted(changes, key=lambda p: (p.start, -(p.end - p.start))):
        if change.end > change.start and (not kept or change.start >= kept[-1].end):
            kept.append(change)
    return kept


def neutralise(text: str) -> Neutralised:
    """``text`` with its markup, URLs and long repeats neutralised (see the module docstring)."""
    pieces: list[_Piece] = []
    cursor = 0
    for change in _replacements(text):
        if change.start > cursor:
            pieces.append(_Piece(cursor, change.start, text[cursor : change.start], True))
        pieces.append(change)
        cursor = change.end
    if cursor < len(text) or not pieces:
        pieces.append(_Piece(cursor, len(text), text[cursor:], True))
    starts, position = [], 0
    for piece in pieces:
        starts.append(position)
        position += len(piece.text)
    return Neutralised(text, "".join(p.text for p in pieces), tuple(pieces), tuple(starts))


def as_written(text: str) -> Neutralised:
    """``text`` unchanged, in the same form."""
    return Neutralised(text, text, (_Piece(0, len(text), text, True),), (0,))


def for_model(text: str) -> Neutralised:
    """What the model reads for ``text``: the neutralised text, or the text as written when nothing would
    be left of it (a message that is only a link or only markup is read as it was written)."""
    read = neutralise(text)
    return read if read.text.strip() else as_written(text)
