"""Proofs as tests: each claim's decision, and for each proof a broken input that makes it fail."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from derivations import numeric, q1a_copying, q1b_average, q1b_projection, q1c_single_head, q1d_multi_head, q2g_complexity
from derivations.answer_checks import decide_field
from derivations.claims import CLAIMS_FILE, REGISTRY, audit, claim_ids_in, decide, output_claim
from derivations.result import VERDICTS, ProofError
from derivations.symbols import beta, eta, n


# --- (a) ------------------------------------------------------------------------------------------


def test_weights_form_a_distribution():
    assert q1a_copying.check_distribution().ok
    assert q1a_copying.prove_weights_distribution().verdict == "holds"


def test_unnormalised_weights_fail():
    check = q1a_copying.check_distribution(lambda logits, i: sp.exp(logits[i]))
    assert not check.ok and "not 0" in check.evidence


def test_copy_margin_guarantees_mass():
    assert q1a_copying.check_copy_margin().ok
    assert q1a_copying.prove_copy_condition().verdict == "holds-with-conditions"


def test_margin_ignoring_n_fails():
    check = q1a_copying.check_copy_margin(sp.log(1 / q1a_copying.eps))
    assert not check.ok and "< 1 − ε" in check.evidence


def test_margin_that_only_passes_the_grid_is_not_called_proved():
    # sin(n)² ≥ 0 makes this margin sufficient, but SymPy cannot sign the slack: a grid is all it gets.
    check = q1a_copying.check_copy_margin(sp.log((q1a_copying.n - 1) / q1a_copying.eps) + sp.sin(q1a_copying.n) ** 2)
    assert not check.ok and "not proved" in check.evidence and "checked numerically" in check.evidence


def test_copy_bound_holds_and_a_tighter_false_bound_fails():
    assert q1a_copying.check_copy_bound().ok
    half = lambda a, v, j: 0.5 * q1a_copying.copy_bound(a, v, j)  # noqa: E731
    check = q1a_copying.check_copy_bound(half)
    assert not check.ok and "counterexample" in check.evidence
    assert q1a_copying.prove_copy_output().verdict == "holds-with-conditions"


def test_resemblance_alone_does_not_copy_but_scale_does():
    assert q1a_copying.prove_copy_intuition().verdict == "fails"
    assert not q1a_copying.check_copies([sp.Integer(1)] + [sp.Integer(0)] * 9).ok
    assert q1a_copying.check_copies([sp.Integer(10)] + [sp.Integer(0)] * 9).ok
    # A fixed scale 10 copies only while n ≤ 1 + e^10/99 (= 223); a growing scale copies for every n.
    assert q1a_copying.prove_copy_intuition(scale=sp.Integer(10)).verdict == "holds-with-conditions"
    assert q1a_copying.prove_copy_intuition(scale=sp.Integer(10)).details["n_max"] == 223
    assert q1a_copying.prove_copy_intuition(scale=sp.Symbol("beta", positive=True)).verdict == "holds"


# --- (b) ------------------------------------------------------------------------------------------


def test_projection_for_general_sizes():
    assert q1b_projection.check_projection().ok
    assert q1b_projection.sheet_sum_equals_projection()
    assert q1b_projection.prove_projection().verdict == "pending"  # the correct answer only; the sheet's M:
    assert decide("Q1b.i").verdict == "holds"


@pytest.mark.parametrize("wrong", ["both", "identity", "transposed"])
def test_wrong_projection_fails(wrong):
    A, B, d = q1b_projection.A, q1b_projection.B, q1b_projection.d
    M = {"both": A * A.T + B * B.T, "identity": sp.Identity(d), "transposed": 2 * A * A.T}[wrong]
    assert not q1b_projection.check_projection(M).ok


def test_scaled_query_averages_with_bound():
    assert q1b_average.check_average_query(q1b_average.AVERAGE_QUERY).ok
    assert q1b_average.check_error_bound().ok
    # The bound is real: at n = 10, beta = 3 the exact error is below it.
    exact = float((2 * (1 - 2 * q1b_average.AVERAGE_WEIGHT)).subs({n: 10, beta: 3}))
    assert 0 < exact <= float(numeric.average_error_bound(3.0, 10))


def test_query_without_scale_factor_fails():
    check = q1b_average.check_average_query(q1b_average.SHEET_QUERY)
    assert not check.ok and "0.2023" in check.evidence
    # The sheet's q = (k_bᵀk_b)k_a + (k_aᵀk_a)k_b is k_a + k_b: α_a = e/(2e + 1) = 0.4223 already at n = 3.
    result = decide("Q1b.ii")
    assert result.verdict == "fails" and "0.422319" in result.evidence


def test_too_small_error_bound_fails():
    assert not q1b_average.check_error_bound(q1b_average.AVERAGE_ERROR_BOUND / 4).ok


# --- (c) ------------------------------------------------------------------------------------------


def test_average_with_random_keys_needs_few_keys_at_scale_ten():
    result = decide("Q1c.i")
    assert result.verdict == "holds-with-conditions"
    # e^10/(2e^10 + n − 2) ≥ 0.49 ⇔ n ≤ 2 + e^10(1/0.49 − 2) = 901.0...
    assert "n ≤ 901" in result.evidence and "n = 902" in result.evidence


def test_eta_variance_and_a_wrong_claim():
    assert decide("Q1c.ii.eta").verdict == "holds"
    assert decide_field("q1c_ii", "eta_var", "1").verdict == "fails"
    assert decide_field("q1c_ii", "eta_mean", "1/2").verdict == "fails"


def test_logits_and_a_wrong_claim():
    assert q1c_single_head.prove_logits().verdict == "holds"
    wrong = {"a": 10 * eta, "b": 10 * eta, "other": sp.Integer(0)}
    assert q1c_single_head.prove_logits(wrong).verdict == "fails"


def test_sheet_weights_fail_exact_weights_hold():
    result = decide("Q1c.ii.weights")
    assert result.verdict == "fails"
    # At η = 2, β = 10, n = 2: α_a = e^10/(e^10 + 1) = 0.999955 while the sheet's formula gives 4.54e-05.
    assert "0.999955" in result.evidence and "4.53979e-05" in result.evidence
    exact = r"\frac{e^{\beta\eta}}{e^{\beta\eta} + e^{\beta} + n - 2}"
    assert decide_field("q1c_ii", "weight_a", exact).verdict == "holds"


def test_output_holds_for_two_keys_and_swapped_coefficients_fail():
    assert decide("Q1c.ii.output").verdict == "holds-with-conditions"
    swapped = r"\frac{V_a + e^{10(\eta-1)} V_b}{1 + e^{10(\eta-1)}}"
    assert output_claim(claimed=swapped).verdict == "fails"


def test_threshold_too_low_but_fine_at_one_and_a_half():
    result = decide("Q1c.ii.threshold")
    assert result.verdict == "fails"
    assert f"{np.e / (1 + np.e):.4f}" in result.evidence  # α_a(1.1) = e/(1 + e) at β = 10
    scale10 = {"q1c_i": {"q": "10*(mu_a + mu_b)"}}
    assert decide_field("q1c_ii", "threshold", "1.5", scale10).verdict == "holds-with-conditions"


def test_sheet_variance_formula_fails_and_correct_covariance_holds():
    assert q1c_single_head.check_covariance_formula().ok
    check = q1c_single_head.check_covariance_formula(q1c_single_head.sheet_covariance)
    assert not check.ok and "not a d×d covariance" in check.evidence
    # Even reshaped into a matrix, the sheet's idea (sum instead of difference) is wrong.
    as_matrix = lambda va, vb, v: v * (va + vb) * (va + vb).T  # noqa: E731
    assert not q1c_single_head.check_covariance_formula(as_matrix).ok
    assert decide("Q1c.ii.variance").verdict == "fails"


def test_variance_bound_and_its_limit():
    result = q1c_single_head.prove_variance_bound()
    assert result.verdict == "holds"
    assert 0 < result.details["var_t_beta10"] < 0.25
    assert q1c_single_head.prove_variance_bound(sp.Rational(1, 10)).verdict == "fails"
    # Var[t] approaches the derived limit ¼ as beta grows (quadrature, independent of the sympy limit).
    assert abs(q1c_single_head.var_t(400.0) - 0.25) < 2e-3


# --- (d) ------------------------------------------------------------------------------------------


def test_two_heads_average_and_identical_heads_violate_requirement():
    assert q1d_multi_head.check_two_heads(q1d_multi_head.HEAD_1, q1d_multi_head.HEAD_2).ok
    same = q1d_multi_head.check_two_heads(*q1d_multi_head.SCALED_SHEET_HEADS)
    assert not same.ok and "different expressions" in same.evidence
    unscaled = q1d_multi_head.check_two_heads((sp.Integer(1), sp.Integer(0)), (sp.Integer(0), sp.Integer(1)))
    assert not unscaled.ok
    result = decide("Q1d.i")
    assert result.verdict == "fails" and "same expression" in result.evidence


def test_two_head_variance_limit():
    lim, check = q1d_multi_head.limit_var_head1()
    assert check.ok
    p = 0.5 * (1 + __import__("math").erf(-1 / np.sqrt(2 * 0.5)))  # P(eta < 0), eta ~ N(1, ½)
    assert abs(float(lim.subs(q1d_multi_head.eta_var, sp.Rational(1, 2))) - p * (1 - p)) < 1e-12
    assert not q1d_multi_head.check_two_head_limit(sp.Rational(1, 4)).ok
    assert q1d_multi_head.check_two_head_limit(lim).ok
    assert decide("Q1d.ii").verdict == "fails"
    multi = q1d_multi_head.prove_two_head_variance().details["trace_cov_multi_beta10"]
    single = 2 * q1c_single_head.var_t(10.0, 0.5)  # one head, n = 2, v_a = e_1, v_b = e_2: Var[t]·‖v_a − v_b‖²
    assert multi < 0.1 * single
    # Quadrature at large beta approaches the derived limit.
    assert abs(q1d_multi_head.var_head1(400.0) - p * (1 - p)) < 2e-3


# --- 2(g) ii --------------------------------------------------------------------------------------


def test_complexity_ratio_counted_from_shapes():
    assert q2g_complexity.check_ratio().ok
    L, ell, m = q2g_complexity.L, q2g_complexity.ell, q2g_complexity.m
    assert not q2g_complexity.check_ratio(((L - 2) * m**2 + ell * m) / (L * ell**2)).ok
    assert q2g_complexity.RATIO.subs({L: 4, ell: 128, m: 64}) == sp.Rational(3, 8)


# --- numeric exports ------------------------------------------------------------------------------


def test_quadrature_matches_two_key_identity():
    values = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0]])
    pred = numeric.predict("single", 7.0, 2, 0.3, values)
    vt = q1c_single_head.var_t(7.0, 0.3)
    assert pred["total_variance"] == pytest.approx(vt * np.sum((values[0] - values[1]) ** 2), rel=1e-8)
    seed = numeric.predict("seed-multi", 7.0, 2, 0.3, values)
    assert seed["total_variance"] == pytest.approx(pred["total_variance"], rel=1e-12)
    assert np.allclose(seed["mean_c"], pred["mean_c"])


def test_weights_stay_finite_at_huge_logits():
    w = numeric.single_head_weights(np.array([-50.0, 1.0, 40.0]), 60.0, 5)
    total = w[0] + w[1] + 3 * w[2]
    assert np.all(np.isfinite(np.stack(w))) and np.allclose(total, 1.0)


def test_predict_rejects_bad_parameters():
    with pytest.raises(ValueError):
        numeric.predict("triple", 1.0, 2, 0.5, np.eye(2))
    with pytest.raises(ValueError):
        numeric.predict("single", 1.0, 3, 0.5, np.eye(2))


# --- the audit ------------------------------------------------------------------------------------


def test_registry_covers_claims_file_exactly_once():
    ids = claim_ids_in(CLAIMS_FILE)
    assert len(ids) == 24 and len(set(ids)) == 24
    assert list(REGISTRY) == ids


@pytest.fixture(scope="module")
def full_audit():
    return audit()


def test_audit_verdicts_are_valid_and_fails_carry_evidence(full_audit):
    for result in full_audit:
        assert result.verdict in VERDICTS
        assert result.evidence
        if result.verdict == "fails":
            assert any(ch.isdigit() for ch in result.evidence) or "requir" in result.evidence
    pending = {r.claim_id for r in full_audit if r.verdict == "pending"}
    assert pending == {"Q2d", "Q2f", "Q2g.i"}


# The audit's verdict on every claim of the bundled sheet, each for the reason given (REPORT.md
# shows the evidence). A change of verdict is a change of result: it must be made here, on purpose.
PINNED_VERDICTS = {
    "Q1a.i": "holds",                      # softmax weights are positive and sum to 1
    "Q1a.ii": "holds-with-conditions",     # needs a logit margin log((n−1)(1−ε)/ε), not mere alikeness
    "Q1a.iii": "holds-with-conditions",    # ‖c − v_j‖ ≤ (1 − α_j)·max‖v_i − v_j‖: values must be bounded
    "Q1a.iv": "fails",                     # q = k_j with 10 orthonormal keys gives α_j = e/(e + 9)
    "Q1b.i": "holds",                      # Σ a_i a_iᵀ/(a_iᵀa_i) = A Aᵀ projects v_a + v_b onto v_a
    "Q1b.ii": "fails",                     # q = k_a + k_b has no growing scale: weights → e/(n − 2 + 2e)
    "Q1c.i": "holds-with-conditions",      # needs n − 2 ≪ e^10 and β·sqrt(iso_var) ≪ 1
    "Q1c.ii.eta": "holds",                 # η = μ_aᵀk_a ~ N(1, ½ + iso_var) → N(1, ½)
    "Q1c.ii.logits": "holds",              # 10η, 10 and 0 in the limit iso_var → 0
    "Q1c.ii.weights": "fails",             # α_a and α_b differ (e.g. η = 2)
    "Q1c.ii.output": "holds-with-conditions",  # exact for n = 2, otherwise needs n − 2 ≪ e^10
    "Q1c.ii.threshold": "fails",           # at η = 1.1, α_a = e/(1 + e) ≈ 0.73
    "Q1c.ii.variance": "fails",            # (V_a + V_b)·Var[t] is not a covariance
    "Q1c.ii.bound": "holds",               # Var[t] ∈ (0, ¼]
    "Q1d.i": "fails",                      # q_1 = q_2 violates the question's requirement
    "Q1d.ii": "fails",                     # k_b = η_b μ_a + Δ_b contradicts k_b ~ N(μ_b, αI)
    "Q2d": "pending", "Q2f": "pending", "Q2g.i": "pending",  # decided by the report from the records
    "Q2g.ii": "holds",                     # ((L−2)m² + 2ℓm)/(Lℓ²) counted from the shapes
    "Q3a": "not-checkable", "Q3b.i": "not-checkable", "Q3b.ii": "not-checkable", "Q3c": "not-checkable",
}


def test_every_claim_of_the_sheet_gets_its_pinned_verdict(full_audit):
    assert list(PINNED_VERDICTS) == claim_ids_in(CLAIMS_FILE)
    got = {r.claim_id: r.verdict for r in full_audit}
    wrong = {cid: (got.get(cid), v) for cid, v in PINNED_VERDICTS.items() if got.get(cid) != v}
    assert not wrong, f"(audit, pinned): {wrong}"


def test_broken_derivation_raises_instead_of_guessing(monkeypatch):
    monkeypatch.setattr(q1b_average, "AVERAGE_QUERY", q1b_average.SHEET_QUERY)
    with pytest.raises(ProofError):
        q1b_average.prove_average_query()


def _run(*args):
    return subprocess.run([sys.executable, "-m", "derivations", *args], capture_output=True, text=True, timeout=120)


def test_cli_json_covers_every_id():
    proc = _run("audit", "--json", "--claim", "Q2g.ii", "--claim", "Q3a")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert [c["id"] for c in data["claims"]] == ["Q2g.ii", "Q3a"]
    assert set(data["claims"][0]) >= {"id", "verdict", "evidence"}


@pytest.mark.parametrize("args", [("audit", "--claim", "Q9"), ("--bogus",), ("audit", "--nope")])
def test_cli_bad_input_is_one_line_exit_2(args, capsys):
    from derivations.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_cli_bad_flag_through_python_m():
    proc = _run("--bogus")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
