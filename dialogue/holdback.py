"""The stream's hold-back: model text reaches the person only after the leak guard cleared it.

    gate = Holdback(guards.LeakGuard(system_prompt, canary))
    released = gate.feed(delta)     # text safe to send now ("" while held)
    rest = gate.finish()            # the held tail, once the reply is whole
    gate.leaked                     # the guard tripped: send nothing more

The guard needs a run of words to recognise a recited prompt, so the last few words are held
while they could be the start of such a run, and any words that already match the
instructions are held until the reply ends (they go out then only if the whole reply is no
leak). So the widget's stream, a messaging channel and the phone's speech never carry a
recited prompt, and what was sent is exactly what is stored. An ordinary answer, sharing no
words in a row with the instructions, is held back by at most the word being written.
"""

from __future__ import annotations

import re
import unicodedata

from dialogue.guards import SHINGLE, LeakGuard

_WORD = re.compile(r"[^\W_]+")
_TAIL = re.compile(r"[^\W_]+$")


class Holdback:
    def __init__(self, guard: LeakGuard):
        self.guard = guard
        self.text = ""
        self.released = 0  # characters of `text` already let through
        self.leaked = False
        self._words: list[str] = []
        self._starts: list[int] = []  # where each complete word starts in `text`
        self._scan = 0  # where the next (possibly incomplete) word may start
        self._covered: set[int] = set()

    def feed(self, delta: str) -> str:
        if self.leaked or not delta:
            return ""
        self.text += delta
        self._read(final=False)
        if self._tripped():
            return ""
        held = len(self.text)
        n = len(self._words)
        for k in range(min(SHINGLE - 1, n), 0, -1):  # the longest tail that may grow into a recital
            if tuple(self._words[n - k :]) in self.guard.openings:
                held = self._starts[n - k]
                break
        if self._covered:
            held = min(held, self._starts[min(self._covered)])
        tail = _TAIL.search(self.text, self._scan)  # a word still being written
        if tail is not None:
            held = min(held, tail.start())
        if "sb-" in self.text[self.released :]:
            held = min(held, self.text.index("sb-", self.released))  # a canary may be starting
        return self._release(held)

    def finish(self) -> str:
        if self.leaked:
            return ""
        self._read(final=True)
        if self._tripped():
            return ""
        return self._release(len(self.text))

    def _release(self, upto: int) -> str:
        if upto <= self.released:
            return ""
        out = self.text[self.released : upto]
        self.released = upto
        return out

    def _read(self, *, final: bool) -> None:
        for m in _WORD.finditer(self.text, self._scan):
            if m.end() == len(self.text) and not final:
                break  # the word may go on in the next delta
            self._words.append(unicodedata.normalize("NFKC", m.group()).lower())
            self._starts.append(m.start())
            self._scan = m.end()
            n = len(self._words)
            if n >= SHINGLE and tuple(self._words[-SHINGLE:]) in self.guard.shingles:
                self._covered.update(range(n - SHINGLE, n))

    def _tripped(self) -> bool:
        if self.leaked:
            return True
        canary = self.guard.canary
        if (canary and canary in self.text) or len(self._covered) >= self.guard.threshold:
            self.leaked = True
        return self.leaked
