"""What an answer's growing scale is, and in which limit the answer is judged: decided here, once.

Question 1 asks for queries that average "approximately": the answers use a large scale, and
students name it with any letter (``\\beta``, ``\\lambda``, ``t``, ``A``, ``C``, ``c``, ``s``,
``\\infty``) or build it from the keys' vanishing noise variance (``\\alpha^{-1/4}``, large
because α → 0). Every checker asks `find_scale` which symbols of an answer grow, and judges
the answer as they grow (``β → ∞``); with no growing symbol the answer has a fixed scale and is
judged exactly, number by number. The evidence quotes `Scale.note`.

The reading follows ANSWER-FILE.md ("Notation people write"): β when the answer has it; else
every free scalar that is not a quantity the question fixes (n, d, m, p, L, ℓ, η, and t where t
is a weight) is a scale; α (and σ²), the keys' noise variance, is a scale through its negative
powers, as α → 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .result import show
from .symbols import beta, iso_var

# Quantities Question 1 fixes, never a scale: the number of keys, the dimension, η. (L, ℓ, m, p
# belong to other parts: in a query their only reading is a scale, as "q = L(k_a + k_b)" means.)
FIXED = frozenset({"n", "d", "eta"})
# The keys' noise variance, as students write it (QUESTIONS.md (c): Σ_i = αI).
NOISE_NAMES = frozenset({"alpha", "sigma^2", "sigma", "epsilon", "varepsilon"})
INFINITY = sp.Symbol("infty", positive=True)  # \infty written as the scale: "q = ∞(k_a + k_b)"


@dataclass(frozen=True)
class Scale:
    """The growing scale of one answer (or one head of an answer).

    ``symbols`` are the answer's growing symbols, replaced by β in `as_beta` (``substitution``);
    empty for a fixed (numeric) scale. ``noise`` is True when the scale is built from the keys'
    noise variance α (then α = 1/β, and the caller must check that the logits' noise, of
    standard deviation sqrt(α)·‖q‖, still vanishes). ``note`` says the reading taken.
    """

    symbols: tuple = ()
    substitution: dict = field(default_factory=dict)
    noise: bool = False
    note: str = ""
    noise_std: sp.Expr = sp.Integer(0)  # the keys' noise standard deviation, in β, when ``noise``

    @property
    def grows(self) -> bool:
        return bool(self.symbols)

    def as_beta(self, exprs):
        """The expressions with the growing symbols written in β (a fixed scale leaves them)."""
        return [sp.sympify(e).subs(self.substitution) if self.substitution else sp.sympify(e) for e in exprs]


def _positive(sym: sp.Symbol) -> sp.Symbol:
    return sp.Symbol(sym.name, positive=True)


def find_scale(exprs, free: list, reserved: frozenset = frozenset(), noise_is_scale: bool = False) -> Scale:
    """The growing scale of an answer whose relevant quantities (logits, a weight, a threshold) are ``exprs``.

    ``free`` lists the answer's free scalars in the order they appear; ``reserved`` names more
    symbols that are not a scale in this part (``t`` in a weight). With ``noise_is_scale`` (the
    queries of (c) and (d)), a symbol α or σ² is the keys' noise variance and grows the scale
    through its negative powers as α → 0. Raises nothing.
    """
    exprs = [sp.sympify(e) for e in exprs]
    present = set().union(*[e.free_symbols for e in exprs]) if exprs else set()
    if beta in present:
        others = [s for s in free if s in present and s != beta and s.name not in FIXED | reserved]
        note = f"{', '.join(show(s) for s in others)} held fixed" if others else ""
        return Scale((beta,), {s: _positive(s) for s in others}, note=note)
    noise = [s for s in present if s.name in NOISE_NAMES or s == iso_var]
    if noise and noise_is_scale:
        a = noise[0]
        std = 1 / beta if a.name == "sigma" else 1 / sp.sqrt(beta)  # σ is a standard deviation, α a variance
        return Scale((a,), {a: 1 / beta}, noise=True, noise_std=std,
                     note=f"{show(a)} is the keys' noise variance, vanishingly small: judged as {show(a)} → 0 "
                          f"(written {show(a)} = 1/β, β → ∞)")
    candidates = [s for s in free if s in present and s.name not in FIXED | reserved | NOISE_NAMES]
    if not candidates:
        return Scale()
    first, rest = candidates[0], candidates[1:]
    substitution = {first: beta, **{s: _positive(s) for s in rest}}
    if first == INFINITY:
        note = "∞ read as a scale that grows without bound (β → ∞)"
    else:
        note = f"took {show(first)} as the scale β (correct under the substitution {show(first)} = β)"
    if rest:
        note += f", with {', '.join(show(s) for s in rest)} held fixed (positive)"
    return Scale((first,), substitution, note=note)


def find_head_scales(heads: list, free: list, noise_is_scale: bool = True) -> tuple[list, Scale]:
    """The scales of several heads judged together ((d) i, (d) ii): each head's logits in β.

    A head's growing symbols all become β. Heads with separate scales (``t_1 μ_a``, ``t_2 μ_b``)
    grow together; when every head depends on one scale only, the limit of the mean of their
    weights is the mean of each head's limit, so no relation between the scales is needed, and
    the note says so. Returns (the heads written in β, the scale they share, with that note).
    """
    shared = find_scale([x for h in heads for x in h], free, noise_is_scale=noise_is_scale)
    per_head = [find_scale(list(h), free, noise_is_scale=noise_is_scale) for h in heads]
    symbols = [s.symbols for s in per_head if s.grows]
    distinct = {sym for syms in symbols for sym in syms}
    if len(distinct) <= 1 or not all(s.grows for s in per_head):
        return [tuple(shared.as_beta(h)) for h in heads], shared
    out = [tuple(scale.as_beta(h)) for scale, h in zip(per_head, heads)]
    names = ", ".join(show(s) for s in sorted(distinct, key=str))
    mixed = [h for h in heads if len(set().union(*[sp.sympify(x).free_symbols for x in h]) & distinct) > 1]
    if mixed:
        note = (f"the heads' scales {names} all grow (each written β); a head mixes them, so the verdict "
                "is for scales growing at the same rate")
    else:
        note = (f"each head has its own scale ({names}), all growing: each head's weights depend on its own "
                "scale only, so the limit needs no relation between them")
    noisy = [s for s in per_head if s.noise]
    return out, Scale(tuple(sorted(distinct, key=str)), {}, noise=bool(noisy),
                      noise_std=noisy[0].noise_std if noisy else sp.Integer(0), note=note)


def fixed_scale_of_exponent(expr: sp.Expr, variable: sp.Symbol) -> sp.Expr | None:
    """The size of a numeric scale read from an exponent in ``variable``: e^{10(η−1)} and
    e^{10(1−η)} both give 10 (the sign says which weight it is, not the scale). None if none."""
    for power in sp.sympify(expr).atoms(sp.exp):
        k = sp.expand(power.args[0]).coeff(variable)
        if k != 0 and not k.free_symbols:
            return abs(k)
    return None
