"""The size budget of an answer: cheap checks on its parse tree, before any algebra.

A formula of a hundred characters can ask SymPy to expand (L + m + ℓ + d)^200 or mpmath to
write 1.46^(1.46^99) in digits, work that no time budget ends soon enough on a shared machine.
`check_size` walks the tree of `answer_grammar.parse` (plain tuples, no SymPy) and raises
`TooLarge`, naming what is over its bound:

- nesting deeper than `MAX_DEPTH`;
- a polynomial degree over `MAX_DEGREE` (a numeric power of anything holding a symbol
  multiplies its degree; a product adds them);
- a number of more than `MAX_DIGITS` digits, written or as a power of numbers;
- a tower of more than `MAX_TOWER` powers, or a number above `MAX_INNER_EXPONENT` in the
  exponent of an exponent.

Every answer of the course's questions and of the generated class is far inside these bounds
(degree ≤ 4, towers of 2, exponents ≤ 10).
"""
from __future__ import annotations

import math
from functools import lru_cache

from .answer_grammar import AnswerSyntaxError, Node, parse

MAX_DEPTH = 80
MAX_DEGREE = 64
MAX_DIGITS = 300
MAX_TOWER = 3
MAX_INNER_EXPONENT = 10


class TooLarge(ValueError):
    """An answer over the size budget; the message says what (``polynomial degree 800 (at most 64)``)."""


def _depth(tree: Node) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node[1:] if isinstance(child, tuple))
    return deepest


def _number(node: Node) -> float | None:
    """The value of a subtree made of numbers only (inf when it overflows), else None."""
    kind = node[0]
    try:
        if kind == "num":
            return float(node[1])
        if kind == "neg":
            x = _number(node[1])
            return None if x is None else -x
        if kind in ("add", "mul", "div", "pow"):
            a, b = _number(node[1]), _number(node[2])
            if a is None or b is None:
                return None
            if kind == "add":
                return a + b
            if kind == "mul":
                return a * b
            if kind == "div":
                return a / b if b else None
            if a == 0 or abs(b) * math.log10(abs(a) + 1e-300) > 4000:
                return math.inf if a else 0.0
            value = a ** b
            return value if isinstance(value, float) else None
    except (OverflowError, ValueError):
        return math.inf
    return None


class _Walk:
    """The walk of one tree: `degree` checks every node on the way."""

    def degree(self, node: Node, tower: int = 0) -> float:
        """An upper bound of the polynomial degree of ``node``; raises `TooLarge`."""
        kind = node[0]
        if kind == "num":
            digits = len(node[1].split(".")[0].lstrip("0"))
            if digits > MAX_DIGITS:
                raise TooLarge(f"a number of {digits} digits (at most {MAX_DIGITS})")
            return 0
        if kind in ("name", "cmd"):
            return 1
        if kind in ("neg", "transpose"):
            return self.degree(node[1], tower)
        if kind == "add":
            return max(self.degree(node[1], tower), self.degree(node[2], tower))
        if kind in ("mul", "div"):
            return self._bound(self.degree(node[1], tower) + self.degree(node[2], tower))
        if kind == "subscript":
            self.degree(node[2], tower)
            return 1
        if kind == "func":
            if node[1] == "exp":
                self._tower(tower + 1)
            self.degree(node[2], tower + (node[1] == "exp"))
            return 1
        if kind == "sum":
            for part in node[1][1:]:
                if isinstance(part, tuple):
                    self.degree(part, tower)
            return self.degree(node[2], tower)
        if kind == "range":
            return self.degree(node[2], tower)
        if kind == "pow":
            return self._power(node, tower)
        return 1

    def _power(self, node: Node, tower: int) -> float:
        self._tower(tower + 1)
        base = self.degree(node[1], tower)
        exponent = _number(node[2])
        if exponent is None or math.isnan(exponent):
            self.degree(node[2], tower + 1)
            return max(base, 1)
        if tower >= 1 and abs(exponent) > MAX_INNER_EXPONENT:
            raise TooLarge(f"the number {_shown(exponent)} in the exponent of an exponent (at most {MAX_INNER_EXPONENT})")
        base_number = _number(node[1])
        if base_number and exponent:
            digits = (abs(exponent) * abs(math.log10(abs(base_number))) + 1) if not math.isinf(base_number) else math.inf
            if digits > MAX_DIGITS:
                raise TooLarge(f"a power of numbers with about {_shown(digits)} digits (at most {MAX_DIGITS})")
        self.degree(node[2], tower + 1)
        return self._bound(base * abs(exponent) if base else 0)

    def _tower(self, height: int) -> None:
        if height > MAX_TOWER:
            raise TooLarge(f"a tower of {height} powers (at most {MAX_TOWER})")

    @staticmethod
    def _bound(degree: float) -> float:
        if degree > MAX_DEGREE:
            raise TooLarge(f"polynomial degree {_shown(degree)} (at most {MAX_DEGREE})")
        return degree


def _shown(x: float) -> str:
    return "too many to count" if math.isinf(x) else f"{x:.0f}" if abs(x) < 1e9 else f"{x:.2g}"


@lru_cache(maxsize=4096)
def check_size(text: str) -> None:
    """Raise `TooLarge` when the answer ``text`` is over the size budget; return None otherwise,
    also for a text that does not parse (its decision reports that)."""
    try:
        tree = parse(text)
    except AnswerSyntaxError:
        return None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise TooLarge(f"nesting {depth} deep (at most {MAX_DEPTH})")
    _Walk().degree(tree)
