"""Meaning for parsed answers: scalars, vectors and matrices with shapes, in the bases of the questions.

An answer's tree (`derivations.answer_grammar`) is evaluated in a `Space`: the named
vectors and matrices of one question part, their shapes, and the inner products the
question fixes (orthonormal keys, AᵀA = I, AᵀB = 0, ...). A value is a sum of terms
``coefficient · word``, a word being a product of named factors (``A Aᵀ``, ``k_a``);
adjacent factors reduce by the space's rules, and a 1×1 product such as ``k_bᵀk_b`` is a
scalar at once, as students use it. Shapes are checked on every sum and product:
``Aᵀ(A x + B y) − A x`` is an m-vector minus a d-vector, and raises `ShapeMismatch`
naming both. Names are looked up in tables, never evaluated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from .answer_grammar import Node, parse
from .greek import GREEK, GREEK_LETTER  # noqa: F401 - GREEK_LETTER also read from here
from .symbols import beta, eta, n

TRANSPOSE_MARKS = {"T", "top", "intercal", "mathsf{T}"}

# The scalars every part knows (ANSWER-FILE.md, "Symbols"); any other letter is a free scalar.
d, m, p = sp.symbols("d m p", integer=True, positive=True)
L, ell = sp.symbols("L ell", integer=True, positive=True)
t = sp.Symbol("t", real=True)
VAR_T = sp.Symbol("Var[t]", nonnegative=True)
KNOWN_SCALARS = {"beta": beta, "eta": eta, "n": n, "d": d, "m": m, "p": p, "L": L, "ell": ell, "l": ell, "t": t,
                 "e": sp.E, "pi": sp.pi}


_FUNCTIONS = {"exp": sp.exp, "ln": sp.log, "log": sp.log, "sqrt": sp.sqrt, "norm": sp.Abs, "abs": sp.Abs}
# Var[h_j] of head j's weight on v_a in (d) ii; `q1d_multi_head` says what each is for the file's heads.
VAR_HEAD = {1: sp.Symbol("Var[h_1]", nonnegative=True), 2: sp.Symbol("Var[h_2]", nonnegative=True)}
# Spellings of the weight whose variance is Var[t] (for two keys α_b = 1 − α_a: the same variance).
_WEIGHT_NAMES = frozenset({"t", "1-t", "-t+1", "alpha_a", "alpha_b", "1-alpha_a", "1-alpha_b", "a_a", "a_b", "h", "h_a"})

MAX_EXPONENT = 10_000  # 9^{9^9} would take SymPy hours: a numeric power beyond this is refused
MAX_MATRIX_POWER = 8  # (AᵀA)^{-1}, A^2: integer powers of a square matrix up to this size


class AnswerMeaningError(ValueError):
    """The answer parses but names something this part does not have, or uses an unsupported form."""


class NotReducible(AnswerMeaningError):
    """The answer is well-formed, but a step of it (the inverse of a singular-looking matrix) is
    beyond what the question's relations reduce: the answer is `not-checkable`, with this reason."""


class ForeignVectors(AnswerMeaningError):
    """A well-formed answer built from another part's vectors (the random keys k_a in (c), where q
    must be designed from the known means): a wrong answer, decided `fails` with this reason."""


class ShapeMismatch(ValueError):
    """Two objects of incompatible shapes were added or multiplied; the message names both shapes."""


def describe(rows: str, cols: str) -> str:
    """Words for a shape: 'a scalar', 'a d-vector', 'a row vector (1×d)', 'a d×m matrix'."""
    if (rows, cols) == ("1", "1"):
        return "a scalar"
    if cols == "1":
        return f"{'an' if rows == 'm' else 'a'} {rows}-vector"
    if rows == "1":
        return f"a row vector (1×{cols})"
    return f"{'an' if rows == 'm' else 'a'} {rows}×{cols} matrix"


@dataclass(frozen=True)
class Factor:
    """A named vector or matrix, possibly transposed."""

    name: str
    rows: str
    cols: str
    transposed: bool = False

    @property
    def shape(self) -> tuple[str, str]:
        return (self.cols, self.rows) if self.transposed else (self.rows, self.cols)

    def T(self) -> "Factor":
        return Factor(self.name, self.rows, self.cols, not self.transposed)

    def text(self) -> str:
        base, _, sub = self.name.partition("_")
        base = GREEK_LETTER.get(base, base)
        return (f"{base}_{sub}" if sub else base) + ("ᵀ" if self.transposed else "")


Word = tuple  # tuple[Factor, ...]; () is the scalar 1


def word_text(word: Word) -> str:
    return " ".join(f.text() for f in word)


@dataclass
class Space:
    """The objects of one question part and the products the question fixes.

    ``objects`` maps a name to its shape; ``rules`` maps an adjacent pair
    ``(left factor, right factor)`` (by name and transposition) to ``(coefficient, word)``;
    ``identities`` names the identity factors, which vanish beside any other factor;
    ``aliases`` maps other spellings (``K_a``) to a name; ``columns`` maps a column name
    used in sums (``a``) to its matrix (``A``) and the sum's range; ``foreign`` names vectors of
    another part that an answer here must not be built from, with the reason (`ForeignVectors`).
    """

    title: str
    objects: dict[str, tuple[str, str]]
    rules: dict[tuple[str, bool, str, bool], tuple[sp.Expr, Word]] = field(default_factory=dict)
    identities: frozenset = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    hint: str = ""
    foreign: dict[str, str] = field(default_factory=dict)  # another part's vector -> why an answer here cannot use it

    def factor(self, name: str) -> Factor:
        rows, cols = self.objects[name]
        return Factor(name, rows, cols)


def orthonormal_rules(names: list[str]) -> dict:
    """u_iᵀu_j = δ_ij for the given column vectors."""
    return {(u, True, w, False): (sp.Integer(1 if u == w else 0), ()) for u in names for w in names}


@dataclass(frozen=True)
class Value:
    """Σ coefficient·word with a shape; scalars have the single word ()."""

    terms: tuple  # tuple[tuple[Word, sp.Expr], ...]
    rows: str
    cols: str

    @property
    def shape(self) -> tuple[str, str]:
        return (self.rows, self.cols)

    @property
    def is_scalar(self) -> bool:
        return self.shape == ("1", "1")

    def as_dict(self) -> dict:
        return dict(self.terms)

    def scalar(self) -> sp.Expr:
        """The SymPy expression of a scalar value."""
        if not self.is_scalar:
            raise ShapeMismatch(f"expected a scalar, got {describe(*self.shape)}")
        return sp.Add(*[c for _, c in self.terms])

    def simplified(self) -> "Value":
        out = {}
        for w, c in self.terms:
            c = sp.simplify(c)
            if c != 0:
                out[w] = c
        return Value(tuple(out.items()), self.rows, self.cols)

    def is_zero(self) -> bool:
        return not self.simplified().terms

    def text(self) -> str:
        """The value for evidence lines: 2·A Aᵀ − A x."""
        from .result import show

        if not self.terms:
            return "0"
        parts = []
        for w, c in self.terms:
            sign = ""
            if sp.sympify(c).could_extract_minus_sign():
                sign, c = "−", -c
            if not w:
                body = show(c)
            elif c == 1:
                body = word_text(w)
            else:
                coef = show(c)
                body = f"({coef})·{word_text(w)}" if isinstance(sp.simplify(c), sp.Add) else f"{coef}·{word_text(w)}"
            parts.append((sign, body))
        out = ("−" if parts[0][0] else "") + parts[0][1]
        for sign, body in parts[1:]:
            out += f" {'−' if sign else '+'} {body}"
        return out


def scalar_value(expr: sp.Expr) -> Value:
    return Value((((), sp.sympify(expr)),), "1", "1")


def _collect(pairs, rows: str, cols: str) -> Value:
    out: dict = {}
    for w, c in pairs:
        out[w] = out.get(w, 0) + c
    return Value(tuple((w, c) for w, c in out.items() if c != 0), rows, cols)


# The scalar symbols standing for unreduced inner products (v_aᵀv_b), with their words.
INNER_PRODUCTS: dict = {}


def _reduce_word(space: Space, coef: sp.Expr, word: Word) -> tuple[sp.Expr, Word]:
    word = list(word)
    changed = True
    while changed and coef != 0:
        changed = False
        for i in range(len(word) - 1):
            a, b = word[i], word[i + 1]
            rule = space.rules.get((a.name, a.transposed, b.name, b.transposed))
            if rule is not None:
                k, repl = rule
                coef = coef * k
                word[i:i + 2] = list(repl)
                changed = True
                break
            if len(word) > 1 and (a.name in space.identities or b.name in space.identities):
                word.pop(i if a.name in space.identities else i + 1)
                changed = True
                break
    if coef == 0:
        return sp.Integer(0), ()
    # A 1×1 product that no rule reduces (v_aᵀv_b) is a scalar: a symbol named by it.
    if word and word[0].shape[0] == "1" and word[-1].shape[1] == "1":
        sym = sp.Symbol(f"({word_text(tuple(word))})", real=True)
        INNER_PRODUCTS[sym] = tuple(word)
        return coef * sym, ()
    return coef, tuple(word)


def add(x: Value, y: Value) -> Value:
    if x.shape != y.shape:
        if x.is_scalar and x.is_zero():
            return y
        if y.is_scalar and y.is_zero():
            return x
        raise ShapeMismatch(f"{describe(*x.shape)} plus {describe(*y.shape)}")
    return _collect(list(x.terms) + list(y.terms), x.rows, x.cols)


def scale(x: Value, k: sp.Expr) -> Value:
    return _collect([(w, c * k) for w, c in x.terms], x.rows, x.cols)


def mul(space: Space, x: Value, y: Value) -> Value:
    if x.is_scalar:
        return scale(y, x.scalar())
    if y.is_scalar:
        return scale(x, y.scalar())
    if x.cols != y.rows:
        raise ShapeMismatch(f"{describe(*x.shape)} times {describe(*y.shape)}")
    rows, cols = x.rows, y.cols
    pairs = []
    for wx, cx in x.terms:
        for wy, cy in y.terms:
            c, w = _reduce_word(space, cx * cy, tuple(wx) + tuple(wy))
            if c != 0:
                pairs.append((w, c))
    return _collect(pairs, rows, cols)


def transpose(x: Value) -> Value:
    return Value(tuple((tuple(f.T() for f in reversed(w)), c) for w, c in x.terms), x.cols, x.rows)


def matrix_value(space: Space, name: str) -> Value:
    f = space.factor(name)
    return Value((((f,), sp.Integer(1)),), *f.shape)


# ---------------------------------------------------------------------------- names


def _text(node: Node) -> str:
    """A name node (or a subscript of letters/digits) as a string; raises `AnswerMeaningError` otherwise."""
    text = _flat(node)
    if not text.replace("_", "").isalnum():
        raise AnswerMeaningError("a subscript must be letters or digits")
    return text


def _flat(node: Node) -> str:
    """A small expression as compact text for matching spellings: t, 1-t, alpha_a, c_1, mu_ab."""
    kind = node[0]
    if kind in ("name", "cmd", "num"):
        return node[1]
    if kind == "subscript":
        return f"{_flat(node[1])}_{_flat(node[2])}"
    if kind == "mul":  # \mu_{ab} comes as a product of letters
        return _flat(node[1]) + _flat(node[2])
    if kind == "add":
        right = _flat(node[2])
        return f"{_flat(node[1])}{right if right.startswith('-') else '+' + right}"
    if kind == "neg":
        return "-" + _flat(node[1])
    return "?"


def _subscripted(node: Node, bound: frozenset = frozenset()):
    """Every (base, subscript) name in a tree, outside sums over that subscript."""
    if not isinstance(node, tuple) or not node:
        return
    if node[0] == "subscript" and node[1][0] in ("name", "cmd") and node[2][0] in ("name", "num"):
        if node[2][1] not in bound:
            yield node[1][1], node[2][1]
        return
    if node[0] == "sum":
        index = node[1][1]
        index = index[1] if isinstance(index, tuple) and index[0] in ("name", "range", "except") else index
        bound = bound | {index}
    for child in node[1:]:
        if isinstance(child, tuple):
            yield from _subscripted(child, bound)


def readings(tree: Node, space: "Space") -> tuple[dict, list]:
    """Names outside the format with one sensible reading in this space, and the note saying so.

    The question's vectors are ``k_a``, ``k_b`` (``μ_a``, ``μ_b``) and ``k_i`` (``μ_i``), any other
    key. An answer that calls the two keys ``k_i``, ``k_j`` (no a, b) is read with them as k_a, k_b;
    one that has k_a, k_b and another letter (``k_j``) reads it as any other key; ``u_a`` where
    the space has μ_a (and no μ is written) is μ_a. A name with no single reading raises
    `AnswerMeaningError` naming it and what it likely means, instead of being taken for a scalar.
    """
    bases = {name.partition("_")[0] for name in space.objects if name.endswith("_a") and name.partition("_")[0] + "_i" in space.objects}
    if not bases:
        return {}, []
    (base,) = sorted(bases)[:1]
    letter = GREEK_LETTER.get(base, base)
    spellings = {base, base.upper(), base.capitalize()} | {b for b, t in space.aliases.items() if t.startswith(base + "_")
                                                           for b in [b.partition("_")[0]]}
    used = list(dict.fromkeys((b, sub) for b, sub in _subscripted(tree) if b in spellings))
    out, notes = {}, []
    if not used and base == "mu":
        typed = list(dict.fromkeys((b, sub) for b, sub in _subscripted(tree) if b == "u" and sub in "abi"))
        if typed:
            out = {f"u_{sub}": f"mu_{sub}" for _, sub in typed}
            notes.append(f"read {', '.join(f'u_{sub}' for _, sub in typed)} as {', '.join(f'μ_{sub}' for _, sub in typed)}")
            return out, notes
    subs = list(dict.fromkeys(sub for _, sub in used))
    other = [x for x in subs if x not in ("a", "b", "i")]
    if not other:
        return {}, []
    spelled = {sub: b for b, sub in used}
    if "a" not in subs and "b" not in subs and len(subs) == 2:
        first, second = subs
        out = {f"{spelled[first]}_{first}": f"{base}_a", f"{spelled[second]}_{second}": f"{base}_b"}
        notes.append(f"read {letter}_{first}, {letter}_{second} as the two {letter}'s to average, {letter}_a and {letter}_b")
        return out, notes
    if "a" in subs and "b" in subs:
        out = {f"{spelled[x]}_{x}": f"{base}_i" for x in other}
        notes.append(f"read {', '.join(f'{letter}_{x}' for x in other)} as any other {letter} ({letter}_i, i ≠ a, b)")
        return out, notes
    x = other[0]
    raise AnswerMeaningError(f"{letter}_{x}: this part's vectors are {letter}_a and {letter}_b (the two to average) and "
                             f"{letter}_i (any other); {letter}_{x} has no single reading here")


@dataclass
class Evaluator:
    """Evaluates a parsed answer in a space; records the free scalars it met (in order) and the
    readings it took (``notes``: "read k_i, k_j as the two keys k_a, k_b")."""

    space: Space
    all_object_names: frozenset = frozenset()
    free: list = field(default_factory=list)
    index: str | None = None  # the summation index while inside a sum
    readings: dict = field(default_factory=dict)  # a name as written -> the name it is read as
    notes: list = field(default_factory=list)

    def _free(self, sym: sp.Symbol) -> Value:
        if sym not in self.free:
            self.free.append(sym)
        return scalar_value(sym)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def name(self, raw: str, command: bool = False) -> Value:
        raw = self.readings.get(raw, raw)
        canonical = self.space.aliases.get(raw, raw)
        if canonical in self.space.objects:
            return matrix_value(self.space, canonical)
        base, _, sub = raw.partition("_")
        if self.index and sub == self.index and base in self.space.columns:
            matrix, _ = self.space.columns[base]
            rows = self.space.objects[matrix][0]
            return Value((((Factor(raw, rows, "1"),), sp.Integer(1)),), rows, "1")
        if raw == "infty":
            from .answer_scale import INFINITY

            return self._free(INFINITY)
        if raw in KNOWN_SCALARS:  # recorded: t or L may be the scale where that is their only reading
            sym = KNOWN_SCALARS[raw]
            return self._free(sym) if isinstance(sym, sp.Symbol) else scalar_value(sym)
        if self.space.foreign and canonical in self.space.foreign:
            raise ForeignVectors(f"{raw} {self.space.foreign[canonical]}")
        if canonical in self.all_object_names or raw in self.all_object_names:
            if len(raw) == 1 and raw.isalpha():
                # A (the matrix of (b) i) in a query can only be a number: "A(k_a + k_b)"
                self._note(f"read {raw} as a scalar ({raw} is not an object of {self.space.title})")
                return self._free(sp.Symbol(raw, real=True))
            raise AnswerMeaningError(f"{raw} is not an object of {self.space.title}{self.space.hint}")
        if not command and not sub and len(raw) > 1 and raw.isalpha() and raw not in GREEK:
            # LaTeX juxtaposes letters: 2lm is 2·l·m, AA is A·A (a known word such as beta stays whole)
            out = self.name(raw[0])
            for ch in raw[1:]:
                out = mul(self.space, out, self.name(ch))
            return out
        if base in GREEK or (len(base) == 1 and base.isalpha()):
            return self._free(sp.Symbol(raw, real=True))
        raise AnswerMeaningError(f"unknown name {raw!r}{self.space.hint}")

    def __call__(self, node: Node) -> Value:
        kind = node[0]
        if kind == "num":
            f = Fraction(node[1])
            return scalar_value(sp.Rational(f.numerator, f.denominator))
        if kind in ("name", "cmd"):
            if node[1] in TRANSPOSE_MARKS and kind == "cmd":
                raise AnswerMeaningError(f"\\{node[1]} outside an exponent")
            return self.name(node[1], command=kind == "cmd")
        if kind == "subscript":
            if node[1][0] == "pow":  # σ^2_t is (σ_t)^2: TeX puts both scripts on the base
                return self.power(("subscript", node[1][1], node[2]), node[1][2])
            return self.name(_text(node))
        if kind == "add":
            return add(self(node[1]), self(node[2]))
        if kind == "neg":
            return scale(self(node[1]), -1)
        if kind == "mul":
            return mul(self.space, self(node[1]), self(node[2]))
        if kind == "div":
            num, den = self(node[1]), self(node[2])
            if not den.is_scalar:
                raise ShapeMismatch(f"{describe(*num.shape)} divided by {describe(*den.shape)}")
            if den.scalar() == 0:
                raise AnswerMeaningError("division by zero")
            return scale(num, 1 / den.scalar())
        if kind == "transpose":
            inner = node[1]
            if inner[0] == "name" and self._juxtaposed(inner[1]):  # AA': the mark belongs to the last letter
                return mul(self.space, self(("name", inner[1][:-1])), transpose(self(("name", inner[1][-1]))))
            return transpose(self(inner))
        if kind == "outer":  # x ⊗ y = x yᵀ for column vectors
            x, y = self(node[1]), self(node[2])
            if x.is_scalar or y.is_scalar:
                return mul(self.space, x, y)
            if x.cols == "1" and y.rows == "1":  # a_i ⊗ a_iᵀ: the transpose written out, the same outer product
                return mul(self.space, x, y)
            if x.cols != "1" or y.cols != "1":
                raise ShapeMismatch(f"an outer product ⊗ of {describe(*x.shape)} and {describe(*y.shape)}")
            return mul(self.space, x, transpose(y))
        if kind == "pow":
            return self.power(node[1], node[2])
        if kind == "func":
            return self.func(node[1], node[2])
        if kind == "sum":
            return self.sum(node[1], node[2])
        raise AnswerMeaningError(f"unsupported form {kind!r}")

    def _juxtaposed(self, raw: str) -> bool:
        """A run of letters that is a product (AA, lm), not one name (beta, ell, Id)."""
        return len(raw) > 1 and raw.isalpha() and raw not in GREEK and raw not in KNOWN_SCALARS \
            and raw not in self.space.objects and raw not in self.space.aliases and raw != "infty"

    def power(self, base_node: Node, exp_node: Node) -> Value:
        if base_node[0] == "name" and self._juxtaposed(base_node[1]):
            # LaTeX: in AA^T the exponent belongs to the last letter only
            head = ("name", base_node[1][:-1])
            return mul(self.space, self(head), self.power(("name", base_node[1][-1]), exp_node))
        if exp_node[0] in ("name", "cmd") and exp_node[1] in TRANSPOSE_MARKS:
            return transpose(self(base_node))
        if exp_node == ("num", "2") and _flat(base_node) in ("sigma_t", "s_t") and "v_a" in self.space.objects:
            return scalar_value(VAR_T)  # σ_t² in a covariance: the variance of t
        base, exponent = self(base_node), self(exp_node)
        if not exponent.is_scalar:
            raise ShapeMismatch(f"an exponent that is {describe(*exponent.shape)}")
        return self.power_value(base, exponent.scalar())

    def power_value(self, base: Value, k: sp.Expr) -> Value:
        """base^k: any power of a scalar (numeric exponents up to MAX_EXPONENT), integer powers of a
        square matrix (the inverse of c·I); raises `ShapeMismatch` for a non-square matrix."""
        if base.is_scalar:
            b = base.scalar()
            if b.is_Number and k.is_Number and abs(k) > MAX_EXPONENT:
                raise AnswerMeaningError(f"a number raised to {k} is too large to work with (exponents up to {MAX_EXPONENT})")
            return scalar_value(sp.Pow(b, k))
        if base.rows == base.cols and k.is_Integer and abs(k) <= MAX_MATRIX_POWER:
            if k < 0:
                base = self.inverse(base)
            out = base
            for _ in range(abs(int(k)) - 1):
                out = mul(self.space, out, base)
            if k == 0:
                raise AnswerMeaningError(f"the zeroth power of {describe(*base.shape)}: write the identity I")
            return out
        if base.rows == base.cols and k.is_Integer:
            raise AnswerMeaningError(f"a power {k} of a matrix is beyond the format (powers up to ±{MAX_MATRIX_POWER})")
        raise ShapeMismatch(f"a power {k} of {describe(*base.shape)}")

    def inverse(self, value: Value) -> Value:
        """The inverse of a square matrix that reduces to c·I (AᵀA = I_m gives (AᵀA)^{-1} = I_m).

        Raises `AnswerMeaningError` for any other matrix: its inverse is not something the
        question's relations reduce (A Aᵀ is singular when m < d)."""
        simplified = value.simplified()
        terms = simplified.terms
        if len(terms) == 1:
            word, coef = terms[0]
            if word and all(f.name in self.space.identities for f in word):
                return Value(((word, 1 / coef),), value.rows, value.cols)
        raise NotReducible(f"the inverse of {simplified.text()}: only a multiple of the identity (such as AᵀA = I) "
                                 "is inverted; this one is singular or not reduced by the question's relations")

    def func(self, name: str, arg_node: Node) -> Value:
        if name in ("Var", "Cov", "V"):
            return self.variance(arg_node)
        if name in ("transpose",):
            return transpose(self(arg_node))
        if name in ("inv", "inverse"):
            return self.power_value(self(arg_node), sp.Integer(-1))
        if name not in _FUNCTIONS and name not in ("sigma", "sigmoid", "O", "norm", "abs"):
            raise AnswerMeaningError(f"unknown function {name}(…): the format has exp, ln, log, sqrt, σ/sigmoid, "
                                     "Var, transpose and inv")
        if name == "O":
            raise NotReducible("a big-O bound states no constants, and this field compares exact counts: write the "
                               "counted costs' ratio itself")
        arg = self(arg_node)
        if name in ("norm", "abs") and arg.cols == "1" and not arg.is_scalar:  # ‖x‖ = sqrt(xᵀx)
            return scalar_value(sp.sqrt(mul(self.space, transpose(arg), arg).scalar()))
        if name == "sigma" and not arg.is_scalar:  # σ(μ_a + μ_b): a scalar σ times a vector
            return mul(self.space, self._free(sp.Symbol("sigma", real=True)), arg)
        if not arg.is_scalar:
            raise ShapeMismatch(f"{name} of {describe(*arg.shape)}")
        x = arg.scalar()
        if name in ("sigma", "sigmoid"):  # the logistic function 1/(1 + e^{-x})
            return scalar_value(1 / (1 + sp.exp(-x)))
        return scalar_value({"exp": sp.exp, "ln": sp.log, "log": sp.log, "sqrt": sp.sqrt}[name](x))

    def _key_base(self) -> str | None:
        """'k' in the keys' space, 'mu' in the means' space: where a sum runs over keys."""
        for name in self.space.objects:
            base = name.partition("_")[0]
            if name.endswith("_a") and f"{base}_b" in self.space.objects and f"{base}_i" in self.space.objects:
                return base
        return None

    def key_sum(self, base: str, index: str, excluded: tuple, body_node: Node) -> Value:
        """Σ_{i ∉ excluded} (scalar)·k_i over all n keys: the terms on k_a and k_b that the sum
        includes, and the generic other key k_i once (it stands for each other key alike)."""
        inner = Evaluator(self.space, self.all_object_names, self.free, None,
                          {**self.readings, **{f"{b}_{index}": f"{base}_i" for b in (base, base.upper(), base.capitalize())}},
                          self.notes)
        body = inner(body_node)
        other = matrix_value(self.space, f"{base}_i")
        terms = body.as_dict()
        if body.shape != other.shape or set(terms) != {(other.terms[0][0])}:
            raise AnswerMeaningError(f"a sum over {index} must add c·{GREEK_LETTER.get(base, base)}_{index} (the keys, or means, themselves)")
        coef = terms[other.terms[0][0]]
        if any(s.name.endswith("_" + index) for s in sp.sympify(coef).free_symbols):
            raise AnswerMeaningError(f"a coefficient that depends on {index} is beyond the format")
        unknown = [x for x in excluded if x not in ("a", "b", "other")]
        if unknown:
            raise AnswerMeaningError(f"a sum over {index} ≠ {', '.join(unknown)}: only a and b can be left out")
        out = scale(other, 0 if "other" in excluded else coef)
        for x in ("a", "b"):
            if x not in excluded:
                out = add(out, scale(matrix_value(self.space, f"{base}_{x}"), coef))
        return out

    def variance(self, arg_node: Node) -> Value:
        """Var[t], Var(α_a), Var[1 − t] (all Var[t] for two keys), and in a covariance of (d) ii
        Var(c_1), Var(c_2): head j's output varies along v_a − v_b with its weight h_j,
        Cov[c_j] = Var[h_j](v_a − v_b)(v_a − v_b)ᵀ."""
        text = _flat(arg_node)
        if text in _WEIGHT_NAMES:
            return scalar_value(VAR_T)
        if text in ("c_1", "c_2", "c1", "c2") and "v_a" in self.space.objects:
            head = VAR_HEAD[int(text[-1])]
            va, vb = matrix_value(self.space, "v_a"), matrix_value(self.space, "v_b")
            diff = add(va, scale(vb, -1))
            return scale(mul(self.space, diff, transpose(diff)), head)
        raise AnswerMeaningError(f"Var[{text}] is not understood: Var[t] (t = α_a, the weight that varies with η), "
                                 "and in (d) ii Var(c_1), Var(c_2) are")

    def sum(self, spec: Node, body_node: Node) -> Value:
        _, index_node, upper_node = spec
        excluded: tuple = ()
        if index_node[0] == "range":
            index = index_node[1]
            if index_node[2] != ("num", "1"):
                raise AnswerMeaningError("a sum must start at 1")
        elif index_node[0] == "except":
            index, excluded = index_node[1], tuple(index_node[2])
        else:
            index = _text(index_node) if not isinstance(index_node, str) else index_node
        index = str(index)
        key_base = self._key_base()
        if key_base is not None:
            return self.key_sum(key_base, index, excluded, body_node)
        if excluded:
            raise AnswerMeaningError(f"a sum over {index} ≠ {', '.join(excluded)} is understood over the keys or means only")
        body = Evaluator(self.space, self.all_object_names, self.free, index, self.readings, self.notes)(body_node)
        upper = None if upper_node is None else _text(upper_node)
        pairs = []
        for w, c in body.terms:
            cols = {f.name.partition("_")[0] for f in w if f.name.endswith("_" + index)}
            indexed = {s for s in c.free_symbols if s.name.endswith("_" + index)}
            if not cols and not w:
                raise AnswerMeaningError("a sum of scalars is not supported; sum over the basis vectors")
            if len(cols) != 1 or len(w) != 2 or not (w[0].name == w[1].name and not w[0].transposed and w[1].transposed):
                raise AnswerMeaningError(f"a sum over {index} must add terms c·a_{index} a_{index}ᵀ")
            col = cols.pop()
            matrix, count = self.space.columns[col]
            if upper is not None and upper != count:
                raise AnswerMeaningError(f"there are {count} vectors {col}_{index}, the sum runs to {upper}")
            f = self.space.factor(matrix)
            if indexed:
                dim = self.space.objects[matrix][1]
                diag = Factor(f"diag({', '.join(sorted(s.name for s in indexed))})", dim, dim)
                pairs.append(((f, diag, f.T()), sp.Integer(1) if len(c.free_symbols) == len(indexed) and c.is_Symbol else c))
                if not (c.is_Symbol):
                    raise AnswerMeaningError(f"an index-dependent coefficient must be a single symbol like λ_{index}")
            else:
                pairs.append(((f, f.T()), c))
        return _collect(pairs, body.rows, body.cols)


def evaluate(text: str, space: Space, all_object_names=frozenset()) -> tuple[Value, list]:
    """Parse and evaluate an answer text in a space: (value, free scalars in order of appearance).

    Raises `answer_grammar.AnswerSyntaxError`, `AnswerMeaningError` or `ShapeMismatch`.
    """
    value, free, _ = evaluate_with_notes(text, space, all_object_names)
    return value, free


def evaluate_with_notes(text: str, space: Space, all_object_names=frozenset()) -> tuple[Value, list, list]:
    """`evaluate`, and the readings it took of names outside the format (`readings`), as notes."""
    tree = parse(text)
    aliases, notes = readings(tree, space)
    ev = Evaluator(space, frozenset(all_object_names), readings=aliases, notes=list(notes))
    value = ev(tree)
    return value, list(ev.free), list(ev.notes)


def numeric(value: Value, arrays: dict, scalars: dict):
    """The value in numbers: ``arrays`` maps factor names to NumPy arrays (column vectors as
    (d, 1)), ``scalars`` maps SymPy symbols to floats. Used for counterexamples."""
    import numpy as np

    def word_array(word):
        out = None
        for f in word:
            a = arrays[f.name]
            a = a.T if f.transposed else a
            out = a if out is None else out @ a
        return out

    env = dict(scalars)
    total = None
    for word, coef in value.terms:
        coef = sp.sympify(coef)
        for sym in coef.free_symbols:
            if sym in INNER_PRODUCTS and sym not in env:
                env[sym] = float(word_array(INNER_PRODUCTS[sym])[0, 0])
        c = float(coef.subs(env))
        term = c * (word_array(word) if word else np.ones((1, 1)))
        total = term if total is None else total + term
    return total
