"""Token arithmetic and deterministic reply text.

Input is counted like the rest of clawtop estimates it, ``ceil(chars / 4)`` (docs/design/pruning.md char
estimate), so figures from the simulator and from the gateway's own accounting agree. Output is a
list of *pieces*, one per token: pseudo-word syllables that read like text in the dashboard but
are obviously synthetic. The pieces come from a generator seeded with the model's seed and a
hash of the prompt, so the same request always gets the same reply (reproducible benches and
snapshots) while different prompts get different ones.
"""

from __future__ import annotations

import hashlib
import math
import random

__all__ = ["count_tokens", "pseudo_words", "reply_rng", "split_pieces"]

CHARS_PER_TOKEN = 4

_SYLLABLES = (
    "ka", "lo", "mi", "ren", "sa", "tu", "vo", "zen", "ba", "del", "fi", "gor", "ha", "jin", "ku", "lem",
    "na", "os", "pra", "qui", "ri", "sol", "ta", "un", "vel", "wo", "xa", "yor", "ze", "cla", "dro", "tem",
    "mar", "nis", "pel", "sto", "ven", "tri", "ul", "ark", "bo", "cen", "dal", "e", "fen", "gi", "hu", "is",
    "jo", "kel", "li", "mo", "nu", "o", "pi", "ras", "se", "to", "ur", "vi", "wen", "xo", "ya", "zu",
)
"""64 syllables, so one is picked with 6 random bits."""
_NEW_WORD_OF_16 = 9
"""A piece starts a new word when 4 random bits are below this (9/16 ≈ 56 %)."""


def count_tokens(text: str) -> int:
    """Estimated tokens of ``text``: ``ceil(chars / 4)``, 0 for an empty string."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def reply_rng(seed: int, prompt_digest: bytes) -> random.Random:
    """The generator for one reply: a function of the seed and the prompt only."""
    mixed = hashlib.sha256(seed.to_bytes(8, "big", signed=False) + prompt_digest).digest()
    return random.Random(int.from_bytes(mixed[:8], "big"))


def pseudo_words(rng: random.Random, count: int) -> list[str]:
    """``count`` pieces of pseudo-text: capitalised sentences, ending with a full stop.

    One 14-bit draw per piece (syllable, new word?, new sentence?) keeps this cheap: it runs for
    every request, before the first token is due.
    """
    pieces: list[str] = []
    for index in range(count):
        bits = rng.getrandbits(14)
        syllable = _SYLLABLES[bits & 63]
        if index == 0:
            pieces.append(syllable.capitalize())
        elif (bits >> 6) & 15 < _NEW_WORD_OF_16:
            if (bits >> 10) & 15 == 0:  # 1/16 of new words start a sentence
                pieces[-1] += "."
                pieces.append(" " + syllable.capitalize())
            else:
                pieces.append(" " + syllable)
        else:
            pieces.append(syllable)
    if pieces and not pieces[-1].endswith("."):
        pieces[-1] += "."
    return pieces


def split_pieces(text: str, size: int = CHARS_PER_TOKEN) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (how tool-call JSON is streamed and
    counted: one piece per estimated token). Empty text gives one empty piece."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
