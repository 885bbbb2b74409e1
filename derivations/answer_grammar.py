"""Answer text (LaTeX or plain) to a syntax tree, by a Lark grammar: parsed, never evaluated.

SymPy's ``parse_expr`` and ``sympify`` call ``eval`` and never see answer text. The
grammar below accepts the notations of ``../shared/spec/ANSWER-FILE.md``:
``\\beta (k_a + k_b)``, ``A A^\\top``, ``\\frac{1}{2}``, ``\\mu_a``, ``\\sum_{i=1}^m a_i a_i^T``,
``beta*(k_a + k_b)``, ``A*A.T``, ``e^{10(\\eta-1)}``, ``\\exp(x)``, ``\\mathrm{Var}[t]``.
The result is a tree of plain tuples (``Node``); `derivations.answer_algebra` gives it a
meaning (shapes, symbols). A text the grammar does not accept raises `AnswerSyntaxError`
with the column where it stopped.
"""
from __future__ import annotations

import re
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

MAX_LENGTH = 2000  # an answer longer than this is not a formula someone typed

GRAMMAR = r"""
?start: expr

?expr: term
     | expr "+" term                    -> add
     | expr "-" term                    -> sub

?term: "-" term                         -> neg
     | "+" term
     | SUM sumspec term                 -> sum
     | product

?product: postfix
        | product "*" postfix           -> mul
        | product TIMES postfix         -> mul_op
        | product "/" postfix           -> div
        | product postfix_nosign        -> mul

?postfix_nosign: postfix

?postfix: primary
        | postfix "^" sup               -> pow
        | postfix ".T"                  -> transpose
        | postfix "_" sub               -> subscript

?sup: "{" expr "}"
    | atom_small

?sub: "{" expr "}"
    | atom_small

?atom_small: NUMBER_DIGIT               -> number
           | NAME                       -> name
           | CMD                        -> command

sumspec: "_" sumindex ("^" sup)?
?sumindex: atom_small
         | "{" NAME "=" expr "}"        -> sumrange
         | "{" NAME "}"

?primary: NUMBER                        -> number
        | NAME                          -> name
        | CMD                           -> command
        | FUNC "(" expr ")"             -> func
        | FUNC "[" expr "]"             -> func
        | FUNC "{" expr "}"             -> func
        | FUNC postfix                  -> func
        | FRAC "{" expr "}" "{" expr "}" -> frac
        | FRAC_DIGITS                   -> frac_digits
        | SQRT "{" expr "}"             -> sqrt
        | "(" expr ")"
        | "[" expr "]"
        | "{" expr "}"

SUM.2: "\\sum"
TIMES.3: /\\(cdot|times)(?![A-Za-z])/
FRAC_DIGITS.3: /\\[dt]?frac\s*[0-9][0-9]/
FRAC.2: /\\[dt]?frac/
SQRT.2: "\\sqrt"
FUNC.2: /\\?(exp|ln|log|Var|Cov)(?![A-Za-z])/
CMD: /\\(?!(exp|ln|log|Var|Cov|sum|frac|dfrac|tfrac|sqrt|cdot|times)(?![A-Za-z]))[A-Za-z]+/
NAME: /(?!(exp|ln|log|Var|Cov|sqrt)(?![A-Za-z]))[A-Za-z]+/
NUMBER.1: /[0-9]+(\.[0-9]+)?/
NUMBER_DIGIT.2: /[0-9]/

%import common.WS
%ignore WS
"""

# Spacing and sizing commands with no meaning, and wrappers whose content is a name.
_NOISE = re.compile(r"\\(left|right|big|Big|bigg|Bigg|displaystyle)(?![A-Za-z])|\\[,;:! ]|\\quad|\\qquad|~")
_WRAPPERS = re.compile(r"\\(mathrm|operatorname|text|mathbf|mathbb|boldsymbol|mathit|vec|bm)\s*\{\s*([A-Za-z]+)\s*\}")
_DOLLARS = re.compile(r"^\s*\$+|\$+\s*$")
# "M = A A^T", "q_1 \approx ...": a leading name and equals sign are dropped (the field names the quantity).
_LEADING_NAME = re.compile(r"^\s*\\?[A-Za-z]+(_(\{[A-Za-z0-9]+\}|[A-Za-z0-9]))?\s*(=|\\approx)(?!=)")


class AnswerSyntaxError(ValueError):
    """The answer text is not a formula in the accepted notations; ``column`` is 1-based where known."""

    def __init__(self, reason: str, column: int | None = None):
        super().__init__(reason if column is None else f"{reason} (column {column})")
        self.reason = reason
        self.column = column


Node = tuple  # ("op", *children); leaves: ("num", str), ("name", str), ("cmd", str)


@v_args(inline=True)
class _ToTuples(Transformer):
    """Lark's tree to nested tuples; strings stay strings, nothing is looked up or called."""

    def number(self, tok: Token):
        return ("num", str(tok))

    def name(self, tok: Token):
        return ("name", str(tok))

    def command(self, tok: Token):
        return ("cmd", str(tok)[1:])

    def sumrange(self, index: Token, low):
        return ("range", str(index), low)

    def add(self, a, b):
        return ("add", a, b)

    def sub(self, a, b):
        return ("add", a, ("neg", b))

    def neg(self, a):
        return ("neg", a)

    def mul(self, a, b):
        return ("mul", a, b)

    def mul_op(self, a, _op, b):
        return ("mul", a, b)

    def div(self, a, b):
        return ("div", a, b)

    def pow(self, a, b):
        return ("pow", a, b)

    def transpose(self, a):
        return ("transpose", a)

    def subscript(self, a, b):
        return ("subscript", a, b)

    def sumspec(self, sub, sup=None):
        return ("sumspec", sub, sup)

    def sum(self, _tok, spec, body):
        return ("sum", spec, body)

    def func(self, tok: Token, arg):
        return ("func", str(tok).lstrip("\\"), arg)

    def frac(self, _tok, num, den):
        return ("div", num, den)

    def frac_digits(self, tok: Token):
        digits = str(tok)[-2:]
        return ("div", ("num", digits[0]), ("num", digits[1]))

    def sqrt(self, _tok, arg):
        return ("func", "sqrt", arg)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="earley", ambiguity="resolve", maybe_placeholders=False)


def clean(text: str) -> str:
    """The text with `$`, spacing commands and `\\mathrm{Var}`-style wrappers removed."""
    text = _LEADING_NAME.sub("", _DOLLARS.sub("", text), count=1)
    text = _NOISE.sub(" ", text)
    return _WRAPPERS.sub(r"\2", text)


def parse(text: str) -> Node:
    """Parse one answer into a `Node` tree.

    Raises `AnswerSyntaxError` for an empty, overlong or ungrammatical text. Nothing in the
    text is evaluated: the Earley parser only matches it against `GRAMMAR`.
    """
    if not isinstance(text, str):
        raise AnswerSyntaxError(f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise AnswerSyntaxError(f"longer than {MAX_LENGTH} characters")
    body = clean(text)
    if not body.strip():
        raise AnswerSyntaxError("empty")
    try:
        tree = _parser().parse(body)
    except UnexpectedCharacters as exc:
        raise AnswerSyntaxError(f"unexpected {body[exc.pos_in_stream]!r}", exc.column) from None
    except UnexpectedEOF:
        raise AnswerSyntaxError("the formula ends too early (an open bracket or operator)") from None
    except UnexpectedInput as exc:
        raise AnswerSyntaxError("not a formula here", getattr(exc, "column", None)) from None
    except LarkError as exc:
        raise AnswerSyntaxError(f"not a formula ({type(exc).__name__})") from None
    return _ToTuples().transform(tree)
