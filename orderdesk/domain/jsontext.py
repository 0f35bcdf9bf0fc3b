"""JSON text checks the order reader needs beyond pydantic's parser.

pydantic's parser (jiter) stops at 200 levels of nesting, accepts NaN and Infinity
anywhere, and words a lone surrogate as "unexpected end of hex escape". Go's
encoding/json, which the original system reads orders with, accepts 10,000 levels and
rejects NaN and Infinity (they are not JSON). This module closes those gaps without
slowing the common case: it is only consulted when the fast parser failed, or when the
text holds the letters "NaN" or "Infinity".
"""

from __future__ import annotations

import re

from pydantic_core import from_json

#: Go's encoding/json refuses documents nested deeper than this (scanner.maxNestingDepth).
MAX_DEPTH = 10_000

_WS = r"[ \t\n\r]*"
_TOKEN = re.compile(
    _WS
    + r"""(?:
        (?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")
      | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
      | (?P<literal>true|false|null)
      | (?P<punct>[{}\[\]:,])
    )""",
    re.VERBOSE,
)
_TRAILING_WS = re.compile(_WS + r"\Z")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)")


class JsonTextError(ValueError):
    """The text is not JSON the order reader accepts; the message says why and where."""


def utf8_problem(raw: bytes) -> str | None:
    """Why `raw` is not UTF-8 text, or None when it is."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        return f"not UTF-8 text: invalid byte 0x{bad} at offset {exc.start}"
    return None


def lone_surrogate(text: str) -> str | None:
    """The first `\\uXXXX` escape in `text` that is half of a surrogate pair, or None."""
    if not _SURROGATE_ESCAPE.search(text):
        return None
    high: str | None = None
    high_end = -1
    for match in _ESCAPE.finditer(text):
        code = match.group(1)
        value = int(code, 16) if code else -1
        if high is not None:
            if match.start() == high_end and 0xDC00 <= value <= 0xDFFF:
                high = None
                continue
            return high
        if 0xD800 <= value <= 0xDBFF:
            high, high_end = match.group(0), match.end()
        elif 0xDC00 <= value <= 0xDFFF:
            return match.group(0)
    return high


def non_finite_problem(raw: bytes) -> str | None:
    """Why `raw` is not JSON when it has a NaN or Infinity outside strings, else None."""
    if b"NaN" not in raw and b"Infinity" not in raw:
        return None
    try:
        from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        return f"NaN and Infinity are not JSON numbers ({exc})"
    return None


def describe_invalid(raw: bytes, parser_message: str) -> str:
    """The reason to give for a payload the parser refused with `parser_message`."""
    problem = utf8_problem(raw)
    if problem:
        return problem
    text = raw.decode("utf-8")
    escape = lone_surrogate(text)
    if escape:
        return f"lone surrogate {escape} in a string: not Unicode text"
    return non_finite_problem(raw) or parser_message


def flatten_deep_values(raw: bytes, keep_depth: int) -> bytes:
    """Check `raw` as Go's encoding/json would, then cut what is nested too deep to matter.

    Every array or object that opens deeper than `keep_depth` becomes `null`. With
    `keep_depth` beyond the deepest place the order model looks at, what is cut lies inside
    a field that is ignored or has the wrong type anyway, so the verdict does not change,
    and pydantic's parser can read the rest. Raises `JsonTextError` for text that is not
    JSON, nested deeper than `MAX_DEPTH`, not UTF-8, or holding a lone surrogate.
    """
    problem = utf8_problem(raw)
    if problem:
        raise JsonTextError(problem)
    text = raw.decode("utf-8")
    escape = lone_surrogate(text)
    if escape:
        raise JsonTextError(f"lone surrogate {escape} in a string: not Unicode text")
    return _Scanner(text, keep_depth).run().encode("utf-8")


class _Scanner:
    """An iterative JSON grammar check (no recursion, so any depth) that rewrites deep values."""

    def __init__(self, text: str, keep_depth: int) -> None:
        self.text = text
        self.keep_depth = keep_depth

    def _fail(self, pos: int, what: str) -> JsonTextError:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return JsonTextError(f"{what} at line {line} column {column}")

    def run(self) -> str:
        text = self.text
        stack: list[str] = []  # "{" or "[" for each open container
        pieces: list[str] = []
        copied = 0  # text[:copied] is already in pieces
        cut_from = -1  # where the container being cut opened
        # What may come next: "value", "value_or_end" (after "["), "key", "key_or_end"
        # (after "{"), "colon", "comma_or_end".
        expect = "value"
        pos = 0
        while True:
            if not stack and expect == "comma_or_end":
                if _TRAILING_WS.match(text, pos):
                    break
                raise self._fail(pos, "trailing characters after the document")
            match = _TOKEN.match(text, pos)
            if match is None:
                at = pos + len(text[pos:]) - len(text[pos:].lstrip(" \t\n\r"))
                if at >= len(text):
                    raise self._fail(at, "unexpected end of the document")
                raise self._fail(at, f"unexpected character {text[at]!r}")
            kind = match.lastgroup
            token = match.group(kind or 0)
            start = match.start(kind or 0)
            pos = match.end()
            if kind == "punct":
                if token in "{[":
                    if expect not in ("value", "value_or_end"):
                        raise self._fail(start, f"unexpected {token!r}")
                    stack.append(token)
                    if len(stack) > MAX_DEPTH:
                        raise self._fail(start, f"nested deeper than {MAX_DEPTH} levels")
                    if len(stack) == self.keep_depth + 1:
                        cut_from = start
                    expect = "key_or_end" if token == "{" else "value_or_end"
                elif token in "}]":
                    opener = "{" if token == "}" else "["
                    ends_ok = expect == "comma_or_end" or (
                        expect == ("key_or_end" if token == "}" else "value_or_end")
                    )
                    if not stack or stack[-1] != opener or not ends_ok:
                        raise self._fail(start, f"unexpected {token!r}")
                    if len(stack) == self.keep_depth + 1:
                        pieces.append(text[copied:cut_from])
                        pieces.append("null")
                        copied = pos
                    stack.pop()
                    expect = "comma_or_end"
                elif token == ":":
                    if expect != "colon":
                        raise self._fail(start, "unexpected ':'")
                    expect = "value"
                else:  # ","
                    if expect != "comma_or_end":
                        raise self._fail(start, "unexpected ','")
                    expect = "key" if stack[-1] == "{" else "value"
            elif expect in ("key", "key_or_end"):
                if kind != "string":
                    raise self._fail(start, "expected a string key")
                expect = "colon"
            elif expect in ("value", "value_or_end"):
                expect = "comma_or_end"
            else:
                raise self._fail(start, f"unexpected {token[:20]!r}")
        pieces.append(text[copied:])
        return "".join(pieces)
