"""``certify(plant, controller)``: closed-loop certificates for an lc plant with a LeakyMLP.

Oracles are independent of the code under test: eigenvalues of ``A - B K`` (numpy), python-
control's zero-order-hold ``c2d``, :func:`global_certificate` called directly on the matrices
written here, the analytic region of attraction of a saturated scalar loop, scipy's ``least
squares``-free closed forms of the equilibria, and ``lc.simulate`` of the true nonlinear loop.

Gain network used throughout (exact, for any leak ``a``): for a gain row ``k`` and ``c >= 0``,
``phi_a(k.dx + c) - phi_a(-k.dx + c) = 2 k.dx`` while ``|k.dx| <= c`` and ``(1 + a) k.dx`` beyond
(the two units' slopes add), so with ``c = 0`` and output weight ``-1/(1 + a)`` the network is
``u = -K dx`` everywhere; with ``c > 0`` and output weight ``-1/2`` it is ``-K dx`` near the
equilibrium and ``-(1 + a)/2 K dx`` far from it (the ReLU network halves its gain there).
"""

from __future__ import annotations

import math

import control as ct
import numpy as np
import pytest
import scipy.linalg as sla
from numpy.typing import NDArray

import leaky_control as lc
from leaky_control.analysis.certify import LoopCertificate, certify
from leaky_control.analysis.nn_loop import global_certificate

FloatArray = NDArray[np.float64]


def gain_network(K: FloatArray, a: float, x_ref: FloatArray, u0: FloatArray | None = None,
                 c: float = 0.0) -> tuple[list[FloatArray], list[FloatArray]]:
    """``u = u0 - K (x - x_ref)`` as a one-hidden-layer leaky network of +/- pairs (see the
    module docstring); ``c > 0`` makes it saturate its gain to ``(1 + a)/2 K`` far out."""
    K = np.atleast_2d(K)
    m, _ = K.shape
    W1 = np.vstack([K, -K])
    b1 = np.concatenate([c - K @ x_ref, c + K @ x_ref])
    w_out = 1.0 / (1.0 + a) if c == 0.0 else 0.5
    W2 = -w_out * np.hstack([np.eye(m), -np.eye(m)])
    return [W1, W2], [b1, np.zeros(m) if u0 is None else np.asarray(u0, dtype=float)]


# ---------------------------------------------------------------------------- linear plant

A2 = np.array([[0.0, 1.0], [0.0, 0.0]])  # double integrator
B2 = np.array([[0.0], [1.0]])
K2 = np.array([[2.0, 3.0]])  # A - B K has eigenvalues -1, -2


@pytest.mark.parametrize("a", [1.0, 0.2])
def test_linear_plant_matches_direct_certificate_and_eigenvalues(a: float) -> None:
    """With a bias the loop's equilibrium moves to x* = (u0/k1, 0); certify finds it (closed
    form), and its global rate equals global_certificate on (A, B) and the same weights; at
    a = 1 the rate approaches the eigenvalue rate -max Re eig(A - B K) = 1 from below (the
    bisection stops within rate_tol = 1e-3 and the metric's condition bound costs < 2 %)."""
    plant = lc.LinearPlant(A2, B2, np.eye(2)[:1])
    W, b = gain_network(K2, a, np.zeros(2), u0=[0.5])
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=a)
    res = certify(plant, ctrl)
    assert isinstance(res, LoopCertificate)
    assert res.status == "global", res.summary()
    assert res.certified
    assert res.roa_radius == math.inf
    np.testing.assert_allclose(res.equilibrium, [0.25, 0.0], atol=1e-12)  # 0.5 - 2 x1 = 0
    np.testing.assert_allclose(res.equilibrium_input, [0.0], atol=1e-12)
    direct = global_certificate(A2, B2, W, b, a)
    assert direct.status == "certified"
    assert res.global_certificate is not None
    assert res.global_certificate.rate == pytest.approx(direct.rate, rel=1e-12)
    eig_rate = -float(np.max(np.linalg.eigvals(A2 - B2 @ K2).real))
    assert eig_rate == pytest.approx(1.0)
    assert res.global_certificate.rate <= eig_rate * (1.0 + 1e-9)
    if a == 1.0:
        assert res.global_certificate.rate == pytest.approx(eig_rate, rel=2e-2)
        # a python-control system is accepted as the same linear plant
        res_ct = certify(ct.ss(A2, B2, [[1.0, 0.0]], 0.0), ctrl)
        assert res_ct.global_certificate is not None
        assert res_ct.global_certificate.rate == pytest.approx(res.global_certificate.rate)
    assert any("x* = [0.25" in s for s in res.assumptions)
    assert "global" in str(res)
    assert "assumptions" in str(res)
    assert np.all(res.contains(np.random.default_rng(0).normal(size=(5, 2)) * 1e3))


def test_linear_plant_discrete_zoh_matches_python_control() -> None:
    """A sampled network (dt = 0.1) in time='discrete': the contraction factor is at least, and
    within 2 % of, the spectral radius of the zero-order-hold loop Ad - Bd K (python-control's
    c2d as the oracle for the discretisation)."""
    dt = 0.1
    plant = lc.LinearPlant(A2, B2, np.eye(2)[:1])
    W, b = gain_network(K2, 1.0, np.zeros(2))
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=1.0, dt=dt)
    res = certify(plant, ctrl, time="discrete")
    sysd = ct.c2d(ct.ss(A2, B2, np.eye(2), 0), dt, "zoh")
    rho = float(np.max(np.abs(np.linalg.eigvals(sysd.A - sysd.B @ K2))))
    assert res.status == "global", res.summary()
    assert res.global_certificate is not None
    assert res.global_certificate.rate >= rho * (1.0 - 1e-9)
    assert res.global_certificate.rate == pytest.approx(rho, rel=2e-2)
    np.testing.assert_allclose(res.A, sysd.A, atol=1e-12)
    assert any("zero-order hold" in s for s in res.assumptions)


def test_asymmetric_saturation_uses_the_smaller_side() -> None:
    """x' = x + sat(u), u = -3 x, limits [-1, 3] (controller u_min, plant's upper limit 3).
    Analytically the true region is x in (-3, 1): for x > 0 the restoring push is at most 1, for
    x < 0 at most 3. The global certificate must fail (slope-0 saturation leaves
    the unstable plant open) and the region must stay inside the smaller side: radius <= 1.
    Simulated starts at +/- 0.999 radius converge."""
    plant = lc.LinearPlant([[1.0]], [[1.0]], [[1.0]], input_limits=(-10.0, 3.0))
    # c > 0: at the equilibrium both units sit strictly on their slope-1 side (with c = 0 both
    # sit on the kink, and the per-unit sectors [a, 1] of the relaxation lose their coupling)
    W, b = gain_network(np.array([[3.0]]), 0.1, np.zeros(1), c=1.5)
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=0.1, u_min=-1.0)
    res = certify(plant, ctrl, box=[5.0])
    assert res.global_certificate is not None
    assert not res.global_certificate.certified
    assert res.status == "region", res.summary()
    assert res.u_limit is not None
    np.testing.assert_allclose(res.u_limit, [1.0])
    assert 0.3 < res.roa_radius <= 1.0
    assert any("smaller side" in s for s in res.assumptions)
    for x0 in (0.999 * res.roa_radius, -0.999 * res.roa_radius):
        r = lc.simulate(plant, ctrl, np.linspace(0.0, 20.0, 401), initial_state=[x0])
        assert abs(r.states[0, -1]) < 1e-6


def test_reference_input_is_folded_at_the_given_reference() -> None:
    """A network reading [x, r]: u = -K x + 2 r (a linear output unit pair on r). At r = 1.5
    the equilibrium is x* = (3/2, 0) (2 r = 2 x1); the contraction rate does not depend on r."""
    plant = lc.LinearPlant(A2, B2, np.eye(2)[:1])
    W, b = gain_network(np.hstack([K2, [[-2.0]]]), 0.5, np.zeros(3))
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=0.5, reference_input=True)
    r0, r1 = certify(plant, ctrl), certify(plant, ctrl, reference=1.5)
    np.testing.assert_allclose(r0.equilibrium, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(r1.equilibrium, [1.5, 0.0], atol=1e-12)
    assert r0.status == r1.status == "global"
    assert r0.global_certificate is not None
    assert r1.global_certificate is not None
    assert r1.global_certificate.rate == pytest.approx(r0.global_certificate.rate, rel=1e-12)
    assert any("r = 1.5" in s for s in r1.assumptions)


def test_no_equilibrium_is_reported() -> None:
    """An integrator x' = u driven by a network whose output is the constant 1 never rests."""
    plant = lc.LinearPlant([[0.0]], [[1.0]], [[1.0]])
    ctrl = lc.LeakyMLP(weights=[np.zeros((2, 1)), np.zeros((1, 2))],
                       biases=[np.zeros(2), np.ones(1)], negative_slope=0.1)
    res = certify(plant, ctrl)
    assert res.status == "no_equilibrium"
    assert not res.certified
    assert res.roa_radius == 0.0
    assert res.equilibrium is None
    assert "no equilibrium" in res.message


def test_equilibrium_outside_the_given_box_is_refused() -> None:
    """u = 0.5 - K x puts x* at (0.25, 0): inside a box of half-width 0.3 about the origin,
    outside one of 0.2."""
    plant = lc.LinearPlant(A2, B2, np.eye(2)[:1])
    W, b = gain_network(K2, 1.0, np.zeros(2), u0=[0.5])
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=1.0)
    assert certify(plant, ctrl, box=[0.3, 0.3]).status == "global"
    res = certify(plant, ctrl, box=[0.2, 0.2])
    assert res.status == "no_equilibrium"
    assert "x* = [0.25, 0.0]" in res.message
    assert "outside the box" in res.message


# ---------------------------------------------------------------------------- pendulum

PEND = lc.Pendulum()  # m = l = 1, b = 0.1, g = 9.81
U_MAX = 6.0  # below m g l = 9.81: the upright pendulum cannot be caught from everywhere
X_UP = np.array([math.pi, 0.0])


def _lqr_gain() -> FloatArray:
    """LQR of the linearisation about th = pi: th'' = g/l dth - b/(m l^2) w + u/(m l^2)."""
    ml2 = PEND.m * PEND.l**2
    A = np.array([[0.0, 1.0], [PEND.g / PEND.l, -PEND.b / ml2]])
    B = np.array([[0.0], [1.0 / ml2]])
    X = sla.solve_continuous_are(A, B, np.diag([1.0, 0.1]), np.eye(1))
    return (B.T @ X)[0]


def _pendulum_controller(a: float) -> lc.LeakyMLP:
    """A 2-4-1 leaky network: one +/- pair per state (gains K_th, K_w of the LQR, c = 2), so
    u = -K dx near the upright and -(1 + a)/2 K dx far out, then saturated at +/- 6."""
    K = _lqr_gain()
    Wa, ba = gain_network(np.array([[K[0], 0.0]]), a, X_UP, c=2.0)
    Wb, bb = gain_network(np.array([[0.0, K[1]]]), a, X_UP, c=2.0)
    W = [np.vstack([Wa[0], Wb[0]]), np.hstack([Wa[1], Wb[1]])]
    b = [np.concatenate([ba[0], bb[0]]), np.zeros(1)]
    return lc.LeakyMLP(weights=W, biases=b, negative_slope=a, u_min=-U_MAX, u_max=U_MAX)


@pytest.fixture(scope="module")
def pendulum_results() -> dict[float, tuple[LoopCertificate, lc.LeakyMLP]]:
    out = {}
    for a in (0.0, 0.1):
        ctrl = _pendulum_controller(a)
        out[a] = (certify(PEND, ctrl, operating_point=X_UP, box=[1.0, 4.0]), ctrl)
    return out


def test_pendulum_region_certified_relu_and_leaky(pendulum_results: dict) -> None:
    """Both networks get a region about the upright (found numerically: sin(th*) = 0 within
    rounding); the global certificate is not attempted (the plant is nonlinear). Reported:
    the ReLU and the leaky radii."""
    for a, (res, _) in pendulum_results.items():
        assert res.status == "region", res.summary()
        assert res.roa_radius > 0.0
        assert res.global_certificate is None
        assert res.region is not None
        assert abs(res.equilibrium[0] - math.pi) < 1e-9
        assert abs(res.equilibrium[1]) < 1e-9
        assert res.u_limit is not None
        assert res.u_limit[0] == pytest.approx(U_MAX)
        # the ball can never reach the angle where the torque limit stops holding the
        # pendulum: m g l sin(dth) = u_max
        assert res.roa_radius < math.asin(U_MAX / (PEND.m * PEND.g * PEND.l))
        print(f"a = {a}: {res.status}, certified radius {res.roa_radius:.4f}, box "
              f"{np.round(res.region.box, 4).tolist()}")


def test_pendulum_trajectories_from_the_ellipsoid_converge(pendulum_results: dict) -> None:
    """300 states in the certified ellipsoid (half on its boundary, seeded), run through
    lc.simulate of the true loop (sin, saturation, RK4): convergence means |x(20) - x*| <
    1e-6 and V = (x - x*)' P (x - x*) <= 1 + 1e-6 at every output sample (the ellipsoid is
    invariant)."""
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 20.0, 2001)
    for a, (res, ctrl) in pendulum_results.items():
        P = res.region.P
        Lc = np.linalg.cholesky(P)
        U = rng.standard_normal((300, 2))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        U[150:] *= np.sqrt(rng.uniform(0.0, 1.0, (150, 1)))
        X0 = res.equilibrium + np.linalg.solve(Lc.T, U.T).T * (1.0 - 1e-9)
        assert np.all(res.contains(X0))
        worst_v, worst_end = 0.0, 0.0
        for x0 in X0:
            r = lc.simulate(PEND, ctrl, t, initial_state=x0)
            D = r.states.T - res.equilibrium
            worst_v = max(worst_v, float(np.max(np.einsum("ti,ij,tj->t", D, P, D))))
            worst_end = max(worst_end, float(np.linalg.norm(D[-1])))
        print(f"a = {a}: max V along 300 runs {worst_v:.6f}, max |x(20) - x*| {worst_end:.2e}")
        assert worst_v <= 1.0 + 1e-6
        assert worst_end < 1e-6


# ---------------------------------------------------------------------------- other plants


def test_cruise_control_is_linearisation_only() -> None:
    """CruiseControl is nonlinear (drag, torque curve): the result is marked, never claimed.
    The equilibrium is v* = 20 m/s, where the network outputs the trim throttle (oracle:
    CruiseControl.equilibrium_throttle, Astrom & Murray's force balance)."""
    car = lc.CruiseControl()
    u_eq = car.equilibrium_throttle(20.0)
    W, b = gain_network(np.array([[0.5]]), 0.1, np.array([20.0]), u0=[u_eq])
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=0.1)
    res = certify(car, ctrl, operating_point=[19.0], box=[5.0])
    assert res.status == "linearisation_only"
    assert not res.certified
    assert res.roa_radius == 0.0
    assert not np.any(res.contains([[20.0], [20.1]]))
    np.testing.assert_allclose(res.equilibrium, [20.0], atol=1e-8)
    np.testing.assert_allclose(res.equilibrium_input, [u_eq], atol=1e-9)
    assert "not a certificate" in res.message
    assert any("NOT a certificate" in s for s in res.assumptions)
    assert "linearisation_only" in res.summary()


@pytest.mark.skipif("input_scale" not in getattr(lc.LeakyMLP, "__dataclass_fields__", {}),
                    reason="LeakyMLP has no input/output scaling fields yet")
def test_scaling_is_folded_exactly() -> None:
    """A network with input/output scaling certifies exactly as the same function written
    with plain weights (scaling folded by hand here: z = (x - o) * s, u = s_o N + o_o)."""
    plant = lc.LinearPlant(A2, B2, np.eye(2)[:1])
    W, b = gain_network(K2, 0.3, np.zeros(2))
    o_in, s_in, s_out, o_out = np.array([0.5, -1.0]), np.array([2.0, 0.25]), 3.0, 0.7
    scaled = lc.LeakyMLP(weights=W, biases=b, negative_slope=0.3, input_offset=o_in,
                         input_scale=s_in, output_scale=[s_out], output_offset=[o_out])
    W1 = W[0] * s_in
    plain = lc.LeakyMLP(weights=[W1, s_out * W[1]],
                        biases=[b[0] - W1 @ o_in, s_out * b[1] + o_out], negative_slope=0.3)
    r1, r2 = certify(plant, scaled), certify(plant, plain)
    assert r1.status == r2.status
    assert r1.status in ("global", "region", "none")
    assert r1.recheck["fold_gap"] < 1e-12
    np.testing.assert_allclose(r1.equilibrium, r2.equilibrium, atol=1e-12)
    # oracle for x*: u = s_o (-(K1 s1 (x1 - o1) + K2 s2 (x2 - o2))) + o_o = 0 and x2 = 0
    x1 = o_in[0] + (o_out / s_out + K2[0, 1] * s_in[1] * o_in[1]) / (K2[0, 0] * s_in[0])
    np.testing.assert_allclose(r1.equilibrium, [x1, 0.0], atol=1e-12)
    assert r1.global_certificate is not None
    assert r2.global_certificate is not None
    assert r1.global_certificate.rate == pytest.approx(r2.global_certificate.rate, rel=1e-9,
                                                       nan_ok=True)
    assert r1.roa_radius == pytest.approx(r2.roa_radius, rel=1e-9)


# ---------------------------------------------------------------------------- bad input


def test_bad_inputs_name_parameter_value_and_allowed() -> None:
    plant = lc.LinearPlant(A2, B2, np.eye(2)[:1])
    W, b = gain_network(K2, 0.2, np.zeros(2))
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=0.2)
    with pytest.raises(TypeError, match=r"controller must be a leaky_control\.LeakyMLP.*LeakyP"):
        certify(plant, lc.LeakyP(kp=1.0, negative_slope=0.1))
    two_in = lc.LinearPlant(A2, np.eye(2), np.eye(2)[:1])
    with pytest.raises(ValueError, match=r"controller must .* drive its 2 input\(s\).*1 output"):
        certify(two_in, ctrl)
    three = lc.LinearPlant(np.eye(3), np.ones((3, 1)), np.eye(3)[:1])
    with pytest.raises(ValueError, match=r"controller must read the plant's 3 state.*2 state"):
        certify(three, ctrl)
    with pytest.raises(ValueError, match=r"box must hold 2 positive half-widths.*\[1\.0, 2\.0, 3"):
        certify(plant, ctrl, box=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"box must hold 2 positive.*-1"):
        certify(plant, ctrl, box=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"operating_point must be .* 2 numbers"):
        certify(plant, ctrl, operating_point=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"time must be one of"):
        certify(plant, ctrl, time="hybrid")
    with pytest.raises(ValueError, match=r"time='discrete' needs a sample time"):
        certify(plant, ctrl, time="discrete")
    sampled = lc.LeakyMLP(weights=W, biases=b, negative_slope=0.2, dt=0.1)
    with pytest.raises(ValueError, match=r"controller\.dt = 0\.1.*time='discrete'"):
        certify(plant, sampled)
    with pytest.raises(ValueError, match=r"dt must equal controller\.dt.*dt=0\.2"):
        certify(plant, sampled, time="discrete", dt=0.2)
    with pytest.raises(ValueError, match=r"Pendulum.*allowed: time='continuous'"):
        certify(PEND, lc.LeakyMLP(weights=W, biases=b, negative_slope=0.2, dt=0.1),
                time="discrete")
    with pytest.raises(TypeError, match=r"plant must be a leaky_control plant.*str"):
        certify("pendulum", ctrl)


# ---------------------------------------------------------------------------- guards


def test_folding_guard_and_recheck_withdrawal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A folded network that is not the controller's function is refused (RuntimeError), and
    a certificate whose re-check on the true loop fails is withdrawn, never reported."""
    import leaky_control.analysis.certify as cm

    plant = lc.LinearPlant(A2, B2, np.eye(2)[:1])
    W, b = gain_network(K2, 0.5, np.zeros(2))
    ctrl = lc.LeakyMLP(weights=W, biases=b, negative_slope=0.5)
    real_fold = cm._fold_network

    def wrong_fold(*args: object) -> tuple[list[FloatArray], list[FloatArray], float]:
        ws, bs, a = real_fold(*args)  # type: ignore[arg-type]
        return [ws[0], -ws[1]], bs, a

    with monkeypatch.context() as mp:
        mp.setattr(cm, "_fold_network", wrong_fold)
        with pytest.raises(RuntimeError, match=r"differs from controller\.forward"):
            certify(plant, ctrl)
    monkeypatch.setattr(cm, "_recheck_pairs", lambda *args: (False, 1.0))
    monkeypatch.setattr(cm, "_recheck_region", lambda *args: (False, 1.0))
    res = certify(plant, ctrl, scales=[1.0])
    assert res.status == "none"
    assert res.roa_radius == 0.0
    assert "withdrawn" in res.message
    assert res.global_certificate is not None
    assert res.global_certificate.certified  # nn_loop's own verdict, kept for inspection
