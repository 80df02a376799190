"""Closed-loop certificates for Leaky-ReLU network controllers (leaky_control.analysis.nn_loop).

Oracles are independent of the code under test: numpy eigenvalues of linear loops, the circle
criterion of leaky_control.analysis.sector (a frequency-domain test), hand-derived sector
arguments, brute-force grids, and simulations of the true nonlinear loop written here with
plain numpy / scipy (the network evaluated with np.maximum, not with the package).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.linalg as sla
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from leaky_control.analysis._ibp import chord_slopes_leaky, chord_slopes_sat, interval_bounds
from leaky_control.analysis.nn_loop import (
    PlantNonlinearity,
    center_network,
    global_certificate,
    region_of_attraction,
)
from leaky_control.analysis.sector import circle_criterion

FloatArray = NDArray[np.float64]


def _net(weights: list[FloatArray], biases: list[FloatArray], a: float, x: FloatArray,
         u_max: float | None = None) -> FloatArray:
    """The network written out independently: leaky ReLU as max(z, a z) (a <= 1)."""
    v = x
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        z = w @ v + b
        v = np.maximum(z, a * z)
    u = weights[-1] @ v + biases[-1]
    return u if u_max is None else np.clip(u, -u_max, u_max)


def _simulate(A: FloatArray, B: FloatArray, weights: list[FloatArray], a: float, x0: FloatArray,
              t_end: float, u_max: float | None = None) -> FloatArray:
    biases = [np.zeros(w.shape[0]) for w in weights]

    def rhs(_t: float, x: FloatArray) -> FloatArray:
        return A @ x + B @ _net(weights, biases, a, x, u_max)

    def blow_up(_t: float, x: FloatArray) -> float:
        return 1e6 - float(np.linalg.norm(x))

    blow_up.terminal = True  # type: ignore[attr-defined]
    sol = solve_ivp(rhs, (0.0, t_end), x0, rtol=1e-9, atol=1e-12, events=blow_up)
    return sol.y[:, -1]


# ---------------------------------------------------------------------------- (a) linear


def test_linear_network_continuous_rate_matches_eigenvalues() -> None:
    """a = 1: u = K x exactly; for a normal (here symmetric) A + B K the best quadratic
    contraction rate is -max Re eig, which the certificate must reach within 1%."""
    A = np.array([[0.0, 1.0], [1.0, 0.0]])
    B = np.eye(2)
    target = np.array([[-1.0, 0.3], [0.3, -2.5]])  # symmetric, eigenvalues -0.94, -2.56
    K = target - A
    cert = global_certificate(A, B, [K, np.eye(2)], None, 1.0)
    expected = -np.max(np.linalg.eigvals(A + B @ K).real)
    assert cert.status == "certified"
    assert cert.rate == pytest.approx(expected, rel=1e-2)
    assert cert.rate <= expected * (1 + 1e-9)  # no quadratic metric can beat the eigenvalue
    assert cert.recheck["passed"]
    assert cert.margin > 0


def test_linear_network_non_normal_rate_is_below_eigenvalue_bound() -> None:
    A = np.array([[0.0, 1.0], [2.0, -1.0]])
    B = np.array([[0.0], [1.0]])
    K = np.array([[-6.0, -4.0]])
    cert = global_certificate(A, B, [K, np.eye(1)], None, 1.0)
    ev = np.linalg.eigvals(A + B @ K)
    assert np.all(ev.real < 0)
    assert cert.status == "certified"
    assert 0.9 * -ev.real.max() <= cert.rate <= -ev.real.max() * (1 + 1e-9)


@pytest.mark.parametrize("shift", [0.5, 0.0])
def test_linear_network_not_hurwitz_not_certified(shift: float) -> None:
    A = np.array([[0.0, 1.0], [1.0, 0.0]])
    B = np.eye(2)
    K = np.diag([shift, -2.0]) - A  # A + B K has eigenvalue shift >= 0
    assert np.max(np.linalg.eigvals(A + B @ K).real) >= 0
    cert = global_certificate(A, B, [K, np.eye(2)], None, 1.0)
    assert cert.status == "not_certified"
    assert math.isnan(cert.rate)


def test_linear_network_discrete_factor_matches_spectral_radius() -> None:
    A = np.array([[1.0, 0.1], [0.1, 1.0]])
    B = np.eye(2)
    target = np.array([[0.5, 0.2], [0.2, -0.6]])  # symmetric, spectral radius 0.64
    cert = global_certificate(A, B, [target - A, np.eye(2)], None, 1.0, time="discrete")
    rho = np.max(np.abs(np.linalg.eigvals(target)))
    assert cert.status == "certified"
    # the decay 1 - rho within 3% (bisection width 0.1%, plus the barrier's stopping margin)
    assert cert.rate == pytest.approx(rho, abs=3e-2 * (1 - rho))
    assert cert.rate >= rho * (1 - 1e-9)


def test_linear_network_discrete_not_schur_not_certified() -> None:
    A = np.array([[1.0, 0.1], [0.1, 1.0]])
    target = np.array([[1.05, 0.0], [0.0, 0.3]])
    cert = global_certificate(A, np.eye(2), [target - A, np.eye(2)], None, 1.0, time="discrete")
    assert cert.status == "not_certified"


# ---------------------------------------------------------------------------- (b) circle


PLANTS = {
    # G(s) = 1/((s+1)(s+2)): stable, phase > -180 deg: circle holds for every sector
    "second_order": (np.array([[0.0, 1.0], [-2.0, -3.0]]), np.array([[0.0], [1.0]]),
                     np.array([[1.0, 0.0]])),
    # G(s) = 1/(s+1)^3: Nyquist crosses the negative real axis at -1/8
    "third_order": (np.array([[-1.0, 1.0, 0.0], [0.0, -1.0, 1.0], [0.0, 0.0, -1.0]]),
                    np.array([[0.0], [0.0], [1.0]]), np.array([[1.0, 0.0, 0.0]])),
    # open-loop unstable G(s) = 1/((s-1)(s+2))
    "unstable": (np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[0.0], [1.0]]),
                 np.array([[1.0, 0.0]])),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
@pytest.mark.parametrize(("k", "a"), [(2.0, 0.2), (6.0, 0.7), (6.0, 0.3), (12.0, 0.3), (20.0, 0.8),
                                      (6.0, 0.0)])
def test_one_unit_network_agrees_with_circle_criterion(plant: str, k: float, a: float) -> None:
    """u = phi_a(-k C x): one hidden unit. For one slope-restricted channel the incremental LMI
    is the KYP form of the circle criterion, so the verdicts agree wherever the criterion is
    not marginal (|margin| > 0.02)."""
    A, B, C = PLANTS[plant]
    circ = circle_criterion(A, B, C, k, a)
    # the cases are chosen away from the criterion's boundary (k = 6, a = 0.5 sits on it for
    # two plants, margin 0), where numerical tolerances, not the criterion, would decide
    assert abs(circ.margin) >= 0.02, f"marginal case (margin {circ.margin:.3g}): choose another"
    cert = global_certificate(A, B, [-k * C, np.eye(1)], None, a)
    assert cert.certified == circ.holds, (circ.message, cert.message)


# ---------------------------------------------------------------------------- (c) off region


def test_relu_off_region_diverges_and_is_not_certified() -> None:
    """x' = x + u, u = -5 relu(x): for x < 0 the unit is off, u = 0, x runs away."""
    A, B = np.array([[1.0]]), np.array([[1.0]])
    W = [np.array([[1.0]]), np.array([[-5.0]])]
    cert = global_certificate(A, B, W, None, 0.0)
    assert cert.status == "not_certified"
    assert abs(_simulate(A, B, W, 0.0, np.array([-0.1]), 20.0)[0]) > 1e3


def test_leak_removes_off_region_certified_with_hand_rate() -> None:
    """Same weights, a = 0.3: every slope s in [0.3, 1] gives x' = (1 - 5 s) x, so the
    contraction rate is min_s (5 s - 1) = 0.5 (hand-derived); trajectories converge."""
    A, B = np.array([[1.0]]), np.array([[1.0]])
    W = [np.array([[1.0]]), np.array([[-5.0]])]
    cert = global_certificate(A, B, W, None, 0.3)
    assert cert.status == "certified"
    assert cert.rate == pytest.approx(0.5, rel=1e-2)
    for x0 in (-50.0, -1.0, 3.0, 40.0):
        xf = _simulate(A, B, W, 0.3, np.array([x0]), 30.0)
        assert abs(xf[0]) <= abs(x0) * math.exp(-0.5 * 30.0) * 1.01 + 1e-9


def test_leak_too_small_does_not_help() -> None:
    """a = 0.1: on x < 0, x' = (1 - 0.5) x still grows; not certified and diverges."""
    A, B = np.array([[1.0]]), np.array([[1.0]])
    W = [np.array([[1.0]]), np.array([[-5.0]])]
    cert = global_certificate(A, B, W, None, 0.1)
    assert cert.status == "not_certified"
    assert abs(_simulate(A, B, W, 0.1, np.array([-0.1]), 30.0)[0]) > 1e3


@pytest.mark.parametrize("a", [0.0, 0.3, 1.0])
def test_leak_does_not_help_under_saturation(a: float) -> None:
    """u = sat(-5 phi_a(x)), |u| <= 1: the saturation has slope 0, the off state is back;
    for any leak no global certificate exists and from x0 = -3 (|x| > u_max) x runs away."""
    A, B = np.array([[1.0]]), np.array([[1.0]])
    W = [np.array([[1.0]]), np.array([[-5.0]])]
    cert = global_certificate(A, B, W, None, a, u_max=1.0)
    assert cert.status == "not_certified"
    assert abs(_simulate(A, B, W, a, np.array([-3.0]), 20.0, u_max=1.0)[0]) > 1e3


def test_two_state_relu_ray_diverges_leak_certifies() -> None:
    """x' = A x + B phi_a(K x) with A unstable along (1, 1) and K (1, 1) < 0: with ReLU the
    unit is off on that ray and the state grows like e^t; a = 0.5 puts both vertex loops
    A + B K and A + a B K in the left half-plane and is certified; a = 0.2 leaves
    A + 0.2 B K unstable (the leak does not help enough) and the ray still diverges."""
    A = np.array([[0.0, 1.0], [2.0, -1.0]])
    B = np.array([[0.0], [1.0]])
    W = [np.array([[-6.0, -4.0]]), np.eye(1)]
    x0 = np.array([0.1, 0.1])
    assert _simulate(A, B, W, 0.0, x0, 20.0)[0] > 1e3
    assert global_certificate(A, B, W, None, 0.0).status == "not_certified"
    cert = global_certificate(A, B, W, None, 0.5)
    assert cert.status == "certified"
    for x in ([0.1, 0.1], [-3.0, 2.0], [5.0, 5.0]):
        assert np.linalg.norm(_simulate(A, B, W, 0.5, np.array(x), 40.0)) < 1e-4
    assert global_certificate(A, B, W, None, 0.2).status == "not_certified"
    assert _simulate(A, B, W, 0.2, x0, 30.0)[0] > 1e3


def test_deep_network_certificate_rechecked_and_cross_checked() -> None:
    """A 2-32-32-1 controller on a stable plant: certified, re-checked, and a sampled pair of
    trajectories contracts at least at the certified rate in the metric P."""
    rng = np.random.default_rng(0)
    for _ in range(2):  # the second draw: its all-slope-1 and all-slope-a loops are Hurwitz
        W = [rng.standard_normal((32, 2)) / np.sqrt(2),
             rng.standard_normal((32, 32)) / np.sqrt(32),
             rng.standard_normal((1, 32)) / np.sqrt(32)]
    A = np.array([[-1.0, 1.0], [0.0, -2.0]])
    B = np.array([[0.0], [1.0]])
    cert = global_certificate(A, B, W, None, 0.6)
    assert cert.status == "certified"
    assert cert.recheck["passed"]
    assert 0 < cert.rate <= cert.rate_bound
    P = cert.P
    assert P is not None
    x1, x2 = np.array([2.0, -1.0]), np.array([-1.5, 0.5])
    t_end = 3.0
    y1, y2 = _simulate(A, B, W, 0.6, x1, t_end), _simulate(A, B, W, 0.6, x2, t_end)
    d0, d1 = x1 - x2, y1 - y2
    assert math.sqrt(d1 @ P @ d1) <= math.exp(-cert.rate * t_end) * math.sqrt(d0 @ P @ d0) * 1.001


def test_barrier_and_clarabel_agree() -> None:
    pytest.importorskip("cvxpy")
    A = np.array([[0.0, 1.0], [2.0, -1.0]])
    B = np.array([[0.0], [1.0]])
    W = [np.array([[-6.0, -4.0]]), np.eye(1)]
    ours = global_certificate(A, B, W, None, 0.5)
    ref = global_certificate(A, B, W, None, 0.5, solver="CLARABEL")
    assert ours.status == ref.status == "certified"
    assert ours.rate == pytest.approx(ref.rate, rel=2e-2)


def _random_net(seed: int, widths: tuple[int, ...], scale: float = 1.0) -> list[FloatArray]:
    """Kaiming-like random weights ``widths[0] -> ... -> widths[-1]``, last layer scaled."""
    rng = np.random.default_rng(seed)
    W = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in itertools.pairwise(widths)]
    W[-1] = scale * W[-1]
    return W


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_barrier_matches_clarabel_on_small_network(seed: int, time: str) -> None:
    """The default barrier solver and Clarabel (an independent interior-point code, via cvxpy)
    solve the same LMI (same metric bound), so their bisections must certify the same rate:
    within 2 % (the issue's requirement; the bisections stop at 0.1 % width)."""
    pytest.importorskip("cvxpy")
    B = np.array([[0.0], [1.0]])
    if time == "continuous":
        A, W = np.array([[-1.0, 1.0], [0.0, -2.0]]), _random_net(seed, (2, 8, 8, 1))
    else:
        A, W = np.array([[0.9, 0.1], [0.0, 0.8]]), _random_net(seed, (2, 8, 8, 1), 0.1)
    ours = global_certificate(A, B, W, None, 0.3, time=time)
    ref = global_certificate(A, B, W, None, 0.3, time=time, solver="CLARABEL")
    assert ours.status == ref.status == "certified"
    assert ours.rate == pytest.approx(ref.rate, rel=2e-2)


def test_barrier_reaches_clarabel_rate_on_deep_network() -> None:
    """The benchmark's 2-32-32-1 loop (benchmarks/bench_nn_certificate.py, a = 0.3): Clarabel
    and SCS both certify rate 0.2831 (benchmarks/RESULTS.md; 40 s and 140 s, too slow to rerun
    here). The barrier must reach it within 2 %; before issue 14 it stopped at 0.198 (its
    centerings were cut short at 50 Newton steps)."""
    rng = np.random.default_rng(0)
    for _ in range(2):  # the benchmark's second draw
        W = [rng.standard_normal((32, 2)) / np.sqrt(2),
             rng.standard_normal((32, 32)) / np.sqrt(32),
             rng.standard_normal((1, 32)) / np.sqrt(32)]
    A = np.array([[-1.0, 1.0], [0.0, -2.0]])
    B = np.array([[0.0], [1.0]])
    cert = global_certificate(A, B, W, None, 0.3)
    assert cert.status == "certified"
    assert cert.recheck["passed"]
    assert cert.rate == pytest.approx(0.2831, rel=2e-2)


# ---------------------------------------------------------------------------- IBP sectors


def test_chord_slopes_match_brute_force() -> None:
    """Local sectors against a dense grid of chord slopes (independent oracle)."""
    cases = [(-1.0, 2.0, 0.5, 0.0), (-1.0, 2.0, -0.5, 0.2), (0.5, 3.0, 1.0, 0.1),
             (-3.0, -0.1, -1.0, 0.3), (-2.0, 1.0, 0.0, 0.05)]
    for lo, hi, zs, a in cases:
        al, be = chord_slopes_leaky(np.array([lo]), np.array([hi]), np.array([zs]), a)
        z = np.linspace(lo, hi, 200001)
        z = z[np.abs(z - zs) > 1e-9]
        phi = np.maximum(z, a * z)
        chord = (phi - max(zs, a * zs)) / (z - zs)
        assert al[0] == pytest.approx(chord.min(), abs=1e-4)
        assert be[0] == pytest.approx(chord.max(), abs=1e-4)
    # a unit that keeps its sign on the box is exactly linear there (ReLU: slope 1 or 0)
    al, be = chord_slopes_leaky(np.array([0.2, -3.0]), np.array([1.0, -0.5]),
                                np.array([0.5, -1.0]), 0.0)
    assert al.tolist() == [1.0, 0.0]
    assert be.tolist() == [1.0, 0.0]
    al, be = chord_slopes_sat(np.array([-3.0]), np.array([0.5]), np.array([0.0]), np.array([1.0]))
    assert al[0] == pytest.approx(1.0 / 3.0)
    assert be[0] == 1.0


def test_interval_bounds_enclose_samples() -> None:
    rng = np.random.default_rng(1)
    W = [rng.standard_normal((8, 2)), rng.standard_normal((8, 8)), rng.standard_normal((1, 8))]
    b = [rng.standard_normal(8), rng.standard_normal(8), rng.standard_normal(1)]
    h = np.array([0.7, 1.3])
    z_lo, z_hi, u_lo, u_hi = interval_bounds(W, b, 0.2, -h, h)
    X = rng.uniform(-1, 1, (5000, 2)) * h
    for x in X[:500]:
        v = x
        for i in range(2):
            z = W[i] @ v + b[i]
            assert np.all(z >= z_lo[i] - 1e-12)
            assert np.all(z <= z_hi[i] + 1e-12)
            v = np.maximum(z, 0.2 * z)
        u = W[2] @ v + b[2]
        assert np.all(u >= u_lo - 1e-12)
        assert np.all(u <= u_hi + 1e-12)


# ---------------------------------------------------------------------------- (d) ROA


G_, L_, M_, MU_, DT = 9.81, 0.5, 0.15, 0.5, 0.02
U_MAX = 0.7


def _pendulum() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Inverted pendulum theta'' = g/l sin(theta) - mu/(m l^2) theta' + u/(m l^2), Euler dt."""
    Ac = np.array([[0.0, 1.0], [0.0, -MU_ / (M_ * L_**2)]])
    Bc = np.array([[0.0], [1.0 / (M_ * L_**2)]])
    Ec = np.array([0.0, G_ / L_])
    return np.eye(2) + DT * Ac, DT * Bc, DT * Ec, Ac + np.outer(Ec, [1.0, 0.0])


def _pendulum_controller(a: float, width: int = 16) -> tuple[list[FloatArray], list[FloatArray]]:
    """A leaky network fitted (least squares on random features) to an LQR gain, then
    bias-compensated so that pi(0) = 0."""
    _, _, _, Alin = _pendulum()
    Bc = np.array([[0.0], [1.0 / (M_ * L_**2)]])
    X = sla.solve_continuous_are(Alin, Bc, np.diag([1.0, 0.1]), np.eye(1))
    K = -Bc.T @ X
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((width, 2))
    b1 = rng.uniform(-1, 1, width)
    Xs = rng.uniform(-1, 1, (2000, 2)) * [1.5, 5.0]
    Z = Xs @ W1.T + b1
    H = np.maximum(Z, a * Z)
    w2, *_ = np.linalg.lstsq(np.c_[H, np.ones(len(H))], Xs @ K.T, rcond=None)
    W = [W1, w2[:-1].T]
    return W, center_network(W, [b1, w2[-1]], a)


def _pendulum_converges(W: list[FloatArray], b: list[FloatArray], a: float,
                        X0: FloatArray, steps: int = 4000) -> NDArray[np.bool_]:
    """Plain vectorised loop of the true nonlinear sampled pendulum with saturation."""
    X = X0.copy()
    for _ in range(steps):
        Z = X @ W[0].T + b[0]
        u = np.clip(np.maximum(Z, a * Z) @ W[1].T + b[1], -U_MAX, U_MAX)[:, 0]
        th, om = X[:, 0], X[:, 1]
        acc = G_ / L_ * np.sin(th) - MU_ / (M_ * L_**2) * om + u / (M_ * L_**2)
        X = np.c_[th + DT * om, om + DT * acc]
        X = np.where(np.isfinite(X), X, 1e6)
        X = np.clip(X, -1e6, 1e6)
    return np.linalg.norm(X, axis=1) < 1e-3


@pytest.fixture(scope="module")
def roa_results() -> dict[float, tuple[object, list[FloatArray], list[FloatArray]]]:
    Ad, Bd, Ed, _ = _pendulum()
    out = {}
    for a in (0.0, 0.1, 0.3):
        W, b = _pendulum_controller(a)
        roa = region_of_attraction(Ad, Bd, W, b, a, [2.0, 8.0], u_max=U_MAX,
                                   nonlinearity=PlantNonlinearity.sine(Ed, [1.0, 0.0]))
        out[a] = (roa, W, b)
    return out


def test_roa_trajectories_inside_converge(roa_results: dict) -> None:
    """300+ trajectories of the true loop (sin, saturation) from the certified ellipsoid,
    half on its boundary, converge to the origin; the ellipsoid lies in the box."""
    rng = np.random.default_rng(3)
    for a, (roa, W, b) in roa_results.items():
        assert roa.status == "certified", (a, roa.message)
        P = roa.P
        Lc = np.linalg.cholesky(P)
        U = rng.standard_normal((320, 2))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        U[160:] *= np.sqrt(rng.uniform(0, 1, (160, 1)))
        X0 = np.linalg.solve(Lc.T, U.T).T * (1 - 1e-9)
        assert np.all(np.einsum("ij,jk,ik->i", X0, P, X0) <= 1.0)
        assert np.all(np.abs(X0) <= roa.box)
        assert np.all(_pendulum_converges(W, b, a, X0))
        # the inscribed ball: radius 1/sqrt(max eig P), checked against the ellipsoid
        assert roa.roa_radius == pytest.approx(1 / np.sqrt(np.linalg.eigvalsh(P)[-1]))


def test_roa_radius_below_first_simulated_failure(roa_results: dict) -> None:
    """On circles of growing radius the true loop eventually fails to converge; the certified
    ball must lie inside the radius where that first happens."""
    ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    radii = np.geomspace(0.02, 20.0, 40)
    for a, (roa, W, b) in roa_results.items():
        r_fail = math.inf
        for r in radii:
            X0 = r * np.c_[np.cos(ang), np.sin(ang)]
            if not np.all(_pendulum_converges(W, b, a, X0, steps=3000)):
                r_fail = float(r)
                break
        print(f"a={a}: certified radius {roa.roa_radius:.4f}, first simulated failure at "
              f"radius {r_fail:.4f}, box {roa.box}")
        assert math.isfinite(r_fail)  # saturation: the unstable pendulum cannot always recover
        assert roa.roa_radius <= r_fail


# ---------------------------------------------------------------------------- input checks


def test_bad_inputs_name_the_parameter() -> None:
    A, B = np.eye(2) * -1, np.array([[0.0], [1.0]])
    W = [np.ones((3, 2)), np.ones((1, 3))]
    with pytest.raises(ValueError, match="negative_slope"):
        global_certificate(A, B, W, None, 1.5)
    with pytest.raises(ValueError, match="weights\\[0\\]"):
        global_certificate(A, B, [np.ones((3, 4)), np.ones((1, 3))], None, 0.1)
    with pytest.raises(ValueError, match="time"):
        global_certificate(A, B, W, None, 0.1, time="hybrid")
    with pytest.raises(ValueError, match="u_max"):
        global_certificate(A, B, W, None, 0.1, u_max=-1.0)
    with pytest.raises(ValueError, match="weights must hold at least 2 layers"):
        global_certificate(A, B, [np.ones((1, 2))], None, 0.1)
    with pytest.raises(ValueError, match="box"):
        region_of_attraction(A, B, W, None, 0.1, [1.0, -1.0])
    with pytest.raises(ValueError, match="control at the origin"):
        region_of_attraction(A, B, W, [np.ones(3), np.zeros(1)], 0.1, [1.0, 1.0])
    with pytest.raises(ValueError, match="biases"):
        global_certificate(A, B, W, [np.zeros(3)], 0.1)


def test_roa_continuous_time_pendulum() -> None:
    """Continuous-time variant: the certified ellipsoid's boundary points converge under
    solve_ivp of the true vector field (sin, saturation)."""
    Ac = np.array([[0.0, 1.0], [0.0, -MU_ / (M_ * L_**2)]])
    Bc = np.array([[0.0], [1.0 / (M_ * L_**2)]])
    Ec = np.array([0.0, G_ / L_])
    a = 0.3
    W, b = _pendulum_controller(a)
    roa = region_of_attraction(Ac, Bc, W, b, a, [2.0, 8.0], time="continuous", u_max=U_MAX,
                               nonlinearity=PlantNonlinearity.sine(Ec, [1.0, 0.0]))
    assert roa.status == "certified", roa.message
    assert roa.P is not None
    Lc = np.linalg.cholesky(roa.P)

    def rhs(_t: float, x: FloatArray) -> FloatArray:
        u = _net(W, b, a, x, U_MAX)
        return Ac @ x + Bc @ u + Ec * np.sin(x[0])

    for ang in np.linspace(0, 2 * np.pi, 24, endpoint=False):
        x0 = np.linalg.solve(Lc.T, np.array([np.cos(ang), np.sin(ang)])) * (1 - 1e-9)
        sol = solve_ivp(rhs, (0.0, 40.0), x0, rtol=1e-8, atol=1e-10, max_step=0.05)
        assert np.linalg.norm(sol.y[:, -1]) < 1e-3
        # V never increases along the trajectory (invariance of the ellipsoid)
        V = np.einsum("it,ij,jt->t", sol.y, roa.P, sol.y)
        assert np.all(V <= 1.0 + 1e-6)


def test_network_forward_matches_hand_evaluation() -> None:
    from leaky_control.analysis.nn_loop import network_forward

    rng = np.random.default_rng(4)
    W = [rng.standard_normal((5, 3)), rng.standard_normal((2, 5))]
    b = [rng.standard_normal(5), rng.standard_normal(2)]
    X = rng.standard_normal((7, 3))
    got = network_forward(W, b, 0.2, X, u_max=0.5)
    want = np.array([_net(W, b, 0.2, x, 0.5) for x in X])
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)
    b0 = center_network(W, b, 0.2)
    np.testing.assert_allclose(network_forward(W, b0, 0.2, np.zeros(3)), 0.0, atol=1e-14)


def test_recheck_rejects_a_tampered_certificate() -> None:
    """The numpy re-check can say no: the certified metric with its multipliers zeroed, or
    with a rate beyond the eigenvalue bound, must fail (the status would be demoted)."""
    from leaky_control.analysis import nn_loop as nl

    A = np.array([[0.0, 1.0], [2.0, -1.0]])
    B = np.array([[0.0], [1.0]])
    W = [np.array([[-6.0, -4.0]]), np.eye(1)]
    cert = global_certificate(A, B, W, None, 0.5)
    assert cert.certified
    assert cert.P is not None
    net = nl._network(W, None, 0.5, 2, 1, None)
    lay = nl._layout(2, net, nl=False)
    qcs = nl._global_qcs(net, lay)
    ok = nl._recheck_global(2, lay, qcs, cert.multipliers, cert.P, A, B, net, "continuous",
                            cert.rate)
    assert ok["passed"]
    zeroed = [np.zeros_like(m) for m in cert.multipliers]
    assert not nl._recheck_global(2, lay, qcs, zeroed, cert.P, A, B, net, "continuous",
                                  cert.rate)["passed"]
    assert not nl._recheck_global(2, lay, qcs, cert.multipliers, cert.P, A, B, net,
                                  "continuous", 1.01 * cert.rate_bound)["passed"]
