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

from .greek import GREEK

MAX_LENGTH = 2000  # an answer longer than this is not a formula someone typed

GRAMMAR = r"""
?start: expr

?expr: term
     | expr "+" term                    -> add
     | expr "-" term                    -> sub

?term: "-" term                         -> neg
     | "+" term
     | sumterm
     | product
     | product sumterm                  -> mul

sumterm: SUM sumspec product            -> sum

?product: postfix
        | product "*" postfix           -> mul
        | product TIMES postfix         -> mul_op
        | product OTIMES postfix        -> outer
        | product "/" postfix           -> div
        | product "@" postfix           -> mul
        | product postfix_nosign        -> mul

?postfix_nosign: postfix

?postfix: primary
        | postfix POW sup               -> pow
        | postfix ".T"                  -> transpose
        | postfix "'"                   -> transpose
        | postfix "_" sub               -> subscript

// TeX: without braces a sub- or superscript is one character (a_ia_i is a_i a_i); plain text
// may write a Greek name (e^beta) or parentheses (e^(x), A^-1).
?sup: "{" expr "}"
    | "(" expr ")"
    | "-" sup_atom                      -> neg
    | sup_atom

?sup_atom: NUMBER_DIGIT                 -> number
         | GREEK_WORD                   -> name
         | LETTER                       -> name
         | CMD                          -> command

?sub: "{" expr "}"
    | sup_atom

sumspec: "_" sumindex ("^" sup)?
?sumindex: LETTER                                   -> sumindex
         | "{" NAME "}"                             -> sumindex
         | "{" NAME "=" expr "}"                    -> sumrange
         | "{" NAME NEQ exclusions "}"              -> sumexcept
         | "{" NAME NEQ "\\{" exclusions "\\}" "}"  -> sumexcept
         | "{" NAME IN "\\{" exclusions "\\}" "}"   -> sumonly
exclusions: exclusion ("," exclusion)*
?exclusion: NAME                                    -> excluded
          | NAME NEQ NAME                           -> excluded_pair

?primary: NUMBER                        -> number
        | NAME                          -> name
        | CMD                           -> command
        | FUNC "(" expr ")"             -> func
        | FUNC "[" expr "]"             -> func
        | FUNC "{" expr "}"             -> func
        | FUNC postfix                  -> func
        | SIGMA_FUNC "(" expr ")"       -> func
        | WORD_FUNC "(" expr ")"        -> func
        | FRAC fracarg fracarg          -> frac
        | SQRT fracarg                  -> sqrt
        | NORM expr NORM                -> norm
        | "|" expr "|"                  -> absolute
        | "(" expr ")"
        | "[" expr "]"
        | "{" expr "}"

?fracarg: "{" expr "}"
        | NUMBER_DIGIT                  -> number
        | LETTER                        -> name
        | CMD                           -> command

SUM.2: /\\sum(?![A-Za-z])|sum(?=\s*_)/
NORM.3: /\\\||\\[lr]Vert(?![A-Za-z])|\|\|/
TIMES.3: /\\(cdot|times)(?![A-Za-z])/
OTIMES.3: /\\otimes(?![A-Za-z])/
NEQ.3: /\\(neq|ne|notin)(?![A-Za-z])/
IN.3: /\\in(?![A-Za-z])/
POW: "^" | "**"
FRAC.2: /\\[dt]?frac(?![A-Za-z])/
SQRT.2: /\\sqrt(?![A-Za-z])/
FUNC.2: /\\?(exp|ln|log|Var|Cov)(?![A-Za-z])|(V|O)(?=\s*[\[(])/
SIGMA_FUNC.3: /\\sigma(?=\s*\()/
CMD: /\\(?!(exp|ln|log|Var|Cov|sum|frac|dfrac|tfrac|sqrt|cdot|times|otimes|neq|ne|notin|in)(?![A-Za-z]))[A-Za-z]+/
NAME: /(?!(exp|ln|log|Var|Cov|sqrt)(?![A-Za-z]))[A-Za-z]+/
// plain text calls a function by a word: transpose(A), inv(A^T A), sigmoid(x); an unknown word before
// a bracket is a function the format does not have (never a product of letters such as i·n·v)
WORD_FUNC.3: /(?!(alpha|beta|gamma|delta|epsilon|eta|theta|kappa|lambda|sigma|omega|infty|exp|log|Var|Cov|sqrt|sum)\()[A-Za-z]{3,}(?=\()/
GREEK_WORD.2: /({GREEK_WORDS})(?![A-Za-z])/
LETTER: /[A-Za-z]/
NUMBER.1: /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+(?![A-Za-z0-9]))?/
NUMBER_DIGIT.2: /[0-9]/

%import common.WS
%ignore WS
"""

# Spacing and sizing commands with no meaning, and wrappers whose content is a name.
_NOISE = re.compile(r"\\(left|right|big|Big|bigg|Bigg|displaystyle|textstyle|limits|quad|qquad)(?![A-Za-z])|\\[,;:! ]|~|&")
_WRAPPERS = re.compile(r"\\(mathrm|operatorname|text|textbf|textit|mathbf|mathbb|mathcal|boldsymbol|mathit|mathsf|vec|bm|mbox|hat|bar|tilde|overline|underline)\s*\{\s*([^{}]*?)\s*\}")
_DELIMITERS = re.compile(r"^\s*(\$+|\\\[|\\\()|(\$+|\\\]|\\\))\s*$")
# Words that open a trailing clause (", where β ≫ 1", "for large λ"): the clause is not the answer.
_CLAUSE = re.compile(r"\\text\s*\{\s*(where|for|with|as|if|when|s\.t\.|such|and|large|small|since|because|,)[^{}]*\}"
                     r"|\\(forall|quad|qquad|text|mbox|textrm)(?![A-Za-z])"
                     r"|(?<![A-Za-z\\])(where|for|with|as|if|when|such that|quad|qquad)(?![A-Za-z])")
# Relations: an answer written as a chain (M = A A^T = Σ a_i a_iᵀ, η ≥ 1.46) is split at them.
_RELATION = re.compile(r"\\(approx|simeq|geq|ge|gt|leq|le|lt|equiv|coloneqq|triangleq|to|rightarrow|gg|ll)(?![A-Za-z])"
                       r"|:=|>=|<=|>>|<<|=|>|<")
# "M", "q_1", "\alpha_a", "\mathrm{Var}(c)", "\text{Cov}[c_1]": a segment that only names the quantity.
_LABEL = re.compile(r"^\s*\\?[A-Za-z]+\s*(_\s*(\{[^{}=]*\}|[A-Za-z0-9]))?\s*(\^\s*(\{[^{}=]*\}|[A-Za-z0-9]))?"
                    r"\s*([(\[][^()\[\]=+\-]*[)\]])?\s*$")
_UNICODE = {
    "α": r"\alpha ", "β": r"\beta ", "γ": r"\gamma ", "δ": r"\delta ", "ε": r"\epsilon ", "η": r"\eta ", "θ": r"\theta ",
    "κ": r"\kappa ", "λ": r"\lambda ", "μ": r"\mu ", "µ": r"\mu ", "ν": r"\nu ", "ξ": r"\xi ", "π": r"\pi ", "ρ": r"\rho ",
    "σ": r"\sigma ", "τ": r"\tau ", "φ": r"\phi ", "ϕ": r"\phi ", "χ": r"\chi ", "ψ": r"\psi ", "ω": r"\omega ",
    "ℓ": r"\ell ", "Σ": r"\sum ", "∑": r"\sum ", "Δ": r"\Delta ", "ᵀ": "^T", "⊤": "^T", "⊗": r"\otimes ", "∞": r"\infty ",
    "≠": r"\neq ", "≪": r"\ll ", "≫": r"\gg ", "·": r"\cdot ", "⋅": r"\cdot ", "∙": r"\cdot ", "×": r"\times ", "−": "-",
    "–": "-", "√": r"\sqrt ", "≈": r"\approx ", "≥": r"\geq ", "≤": r"\leq ", "→": r"\to ", "²": "^2", "³": "^3",
    "⁻¹": "^{-1}", "½": r"\frac12 ", "¼": r"\frac14 ", "ₐ": "_a", "ᵦ": "_b", "ᵢ": "_i", "ⱼ": "_j", "₁": "_1", "₂": "_2",
    "′": "'", "∈": r"\in ", r"\micro": r"\mu ", "∉": r"\notin ", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}
# A matrix written as its columns, [a_1, \dots, a_m] or \begin{bmatrix} a_1 & \cdots & a_m \end{bmatrix}, is A
# (B for b_1..b_p); written as its rows a_1^T \\ \vdots \\ a_m^T it is Aᵀ.
_OPEN = r"(?:\\left\s*[\[(]\s*|[\[(]\s*)?\\begin\{(?:[bpvB]?matrix|array)\}(?:\{[^{}]*\})?|\\left\s*[\[(]|[\[(]"
_CLOSE = r"\\end\{(?:[bpvB]?matrix|array)\}(?:\s*\\right\s*[\])]|\s*[\])])?|\\right\s*[\])]|[\])]"
_DOTS = r"(?:\\[lcv]?dots|\\cdots|\\vdots|\.\.\.|…)"
_SEP = r"(?:\s*(?:,|&|\\\\)\s*|\s+)"
_TOP = r"\^\s*\{?\s*(?:\\top|T|\\intercal)\s*\}?"
_ONE = r"([ab])_\{?1\}?"
_COLUMNS = re.compile(rf"(?:{_OPEN})\s*{_ONE}{_SEP}(?:\1_\{{?2\}}?{_SEP})?(?:{_DOTS}{_SEP})?\1_\{{?[mp]\}}?\s*(?:{_CLOSE})")
_ROWS = re.compile(rf"(?:{_OPEN})\s*{_ONE}\s*{_TOP}{_SEP}(?:\1_\{{?2\}}?\s*{_TOP}{_SEP})?(?:{_DOTS}{_SEP})?"
                   rf"\1_\{{?[mp]\}}?\s*{_TOP}\s*(?:{_CLOSE})")
# "\lim_{\beta \to \infty} \beta(k_a + k_b)": the limit the checker takes of a growing scale anyway.
_LIMIT = re.compile(r"\\lim(?![A-Za-z])\s*_\s*\{[^{}]*\}")
# "L.µ_a": a full stop between two factors is a product (A.T stays the transpose, 0.5 a number).
_DOT_PRODUCT = re.compile(r"(?<=[A-Za-z}\)])\s*\.(?!T(?![A-Za-z]))(?=\s*[\\A-Za-z(])")
_UNICODE_RE = re.compile("|".join(sorted(map(re.escape, _UNICODE), key=len, reverse=True)))


def _depth_zero(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    """Spans of ``pattern``'s matches outside every bracket ({}, (), [])."""
    depth, spans, i = 0, [], 0
    opening, closing = "{([", "})]"
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if ch in opening:
            depth += 1
        elif ch in closing:
            depth -= 1
        elif depth == 0:
            match = pattern.match(text, i)
            if match and match.end() > i:
                spans.append((i, match.end()))
                i = match.end()
                continue
        i += 1
    return spans


_SPACING = re.compile(r"(?<!\\)\\[,;:! ]")  # \, \; \: \! and "\ ": spacing, never a separator
_DOT_CALL = re.compile(r"\.dot\s*\(")  # NumPy's A.dot(B) is A @ (B)


def _answer_segment(text: str) -> str:
    """The answer in a line that may carry a name, a chain of relations and a trailing clause.

    ``q = \\beta(k_a + k_b), \\beta \\gg 1`` gives ``\\beta(k_a + k_b)``; ``M = A A^T = \\sum_i a_i a_i^T``
    gives ``A A^T`` (the first expression after the name); ``\\eta \\geq 1.46`` gives ``1.46``.
    """
    cut = [s for s, _ in _depth_zero(text, re.compile(r"[,;]|" + _CLAUSE.pattern))]
    if cut and cut[0] > 0:
        text = text[:cut[0]]
    # a trailing remark in brackets: "(\\beta \\to \\infty)", "(for large t)"
    text = re.sub(r"\s*[(\[][^()\[\]]*(\\to|\\gg|\\rightarrow|\\infty|large|>|=)[^()\[\]]*[)\]]\s*$", "", text)
    bounds = _depth_zero(text, _RELATION)
    if not bounds:
        return text
    pieces, start = [], 0
    for s, e in bounds:
        pieces.append(text[start:s])
        start = e
    pieces.append(text[start:])
    if _LABEL.match(pieces[0]):  # "M = ...": the name says which quantity; "q = " alone is an empty answer
        pieces = pieces[1:]
    pieces = [p for p in pieces if p.strip()]
    return pieces[0] if pieces else ""


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

    def pow(self, a, _op, b):
        return ("pow", a, b)

    def outer(self, a, _op, b):
        return ("outer", a, b)

    def sumindex(self, index: Token):
        return ("name", str(index))

    def sumexcept(self, index: Token, _neq, excluded):
        return ("except", str(index), excluded)

    def sumonly(self, index: Token, _in, included):
        return ("except", str(index), tuple(x for x in ("a", "b", "other") if x not in included))

    def exclusions(self, *names):
        return tuple(names)

    def excluded(self, name: Token):
        return str(name)

    def excluded_pair(self, _index: Token, _neq, name: Token):
        return str(name)

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

    def sqrt(self, _tok, arg):
        return ("func", "sqrt", arg)

    def norm(self, _open, arg, _close):
        return ("func", "norm", arg)

    def absolute(self, arg):
        return ("func", "abs", arg)


# A Greek letter written as a word without its backslash (beta(k_a + k_b)): every name of the table, and ell.
GRAMMAR = GRAMMAR.replace("{GREEK_WORDS}", "|".join(GREEK + ("ell",)))


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="earley", ambiguity="resolve", maybe_placeholders=False)


def clean(text: str) -> str:
    """The formula in an answer as typed: Unicode letters and signs written as LaTeX (μ → \\mu,
    ᵀ → ^T, ⊗ → \\otimes), math delimiters, spacing commands and wrappers (\\mathrm{Var},
    \\mathbf{k}) removed, and a leading name (``M =``), a chain of relations or a trailing
    clause (``, \\beta \\gg 1``) reduced to the answer itself (`_answer_segment`)."""
    text = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], text)
    text = _DELIMITERS.sub("", text)
    text = _ROWS.sub(lambda m: " " + m.group(1).upper() + "^T ", text)
    text = _COLUMNS.sub(lambda m: " " + m.group(1).upper() + " ", text)
    text = _SPACING.sub(" ", _DOT_CALL.sub(" @ (", text))
    text = _LIMIT.sub(" ", text)
    text = _DOT_PRODUCT.sub(" ", text)
    for _ in range(3):  # nested wrappers: \\mathbf{\\hat{k}}
        text = _WRAPPERS.sub(r" \2 ", text)
    text = _NOISE.sub(" ", _answer_segment(text)).strip()
    return re.sub(r"[.,;]+$", "", text)


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
