"""Random tokens drawn on a turn's path: the lock's, the prompt's canary and fence, the LLM request's.

`secrets` and `uuid4` read `os.urandom`, and CPython lets go of the interpreter lock for that
system call. In a web process the database threads are usually waiting for the lock, so the
event loop then waits until one of them lets go again: 65 µs a token on average in a turn
(bench/turn.py), where the draw itself takes under a microsecond. `ssl.RAND_bytes` is OpenSSL's
generator (seeded from the operating system, reseeded after a fork): as unpredictable, and
drawn without letting go of the lock. (The session state's encryption still draws its IV from
`os.urandom`: `cryptography`'s Fernet takes no other.)
"""

from __future__ import annotations

import ssl


def token_hex(nbytes: int) -> str:
    """`secrets.token_hex(nbytes)`, from OpenSSL's generator."""
    return ssl.RAND_bytes(nbytes).hex()
