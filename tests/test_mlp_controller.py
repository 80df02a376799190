"""LeakyMLP: a Leaky-ReLU network as a state-feedback controller (issue 4's controller part).

Oracles: python-control's input_output_response on the same loop (1e-6 relative, RK4 with
h = 2e-5 s as in test_simulate.py), the linear state-feedback controller the network equals at
a = 1 with zero biases (same kernel, a different code path: agreement to 1e-12), and sampled
gradient norms for the Lipschitz bound.
"""

import numpy as np
import pytest

import leaky_control as lc
from leaky_control.controllers import LeakyMLP

FINE = lc.RK4(max_step=2e-5)


def _net(rng, sizes, scale=0.6, bias=True):
    ws = [rng.normal(scale=scale, size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(scale=0.3, size=o) if bias else np.zeros(o) for o in sizes[1:]]
    return ws, bs


def _ref(plant, ctrl, t, r, x0):
    import control as ct

    sys = lc.closed_loop_nlsys(plant, ctrl)
    U = np.vstack([np.broadcast_to(r, t.shape), np.zeros((plant.ndisturbances, t.size))])
    X0 = np.concatenate([x0, np.zeros(sys.nstates - len(x0))])
    return ct.input_output_response(sys, t, U, X0, solve_ivp_method="RK45",
                                    solve_ivp_kwargs={"rtol": 1e-10, "atol": 1e-12})


def test_network_controller_agrees_with_input_output_response():
    rng = np.random.default_rng(1)
    plant = lc.MassSpringDamper(m=1.0, c=0.5, k=2.0)
    ws, bs = _net(rng, [3, 8, 8, 1])
    ctrl = LeakyMLP(weights=ws, biases=bs, negative_slope=0.1, reference_input=True,
                    u_min=-3.0, u_max=3.0)
    t = np.linspace(0, 4, 201)
    r = np.where(t < 2, 1.0, -0.5)
    x0 = np.array([0.3, -0.2])
    ours = lc.simulate(plant, ctrl, t, reference=r, initial_state=x0, solver=FINE)
    ref = _ref(plant, ctrl, t, r, x0)
    for k, got in enumerate((ours.y[0], ours.signal("u"))):
        scale = max(1.0, float(np.max(np.abs(ref.outputs[k]))))
        assert np.max(np.abs(got - ref.outputs[k])) <= 1e-6 * scale + 1e-9


def test_linear_network_equals_state_feedback():
    rng = np.random.default_rng(2)
    plant = lc.DCMotor()
    ws, _ = _net(rng, [2, 5, 1], bias=False)
    mlp = LeakyMLP(weights=ws, biases=[np.zeros(5), np.zeros(1)], negative_slope=1.0)
    K = -(ws[1] @ ws[0])
    sf = lc.LeakyStateFeedback(K=K, negative_slope=1.0, kr=[0.0])
    t = np.linspace(0, 2, 101)
    a = lc.simulate(plant, mlp, t, initial_state=[1.0, -0.5], solver=lc.RK4(max_step=1e-3))
    b = lc.simulate(plant, sf, t, initial_state=[1.0, -0.5], solver=lc.RK4(max_step=1e-3))
    assert np.allclose(a.y, b.y, rtol=1e-12, atol=1e-12)
    assert np.allclose(a.loop.y[0], b.loop.y[0], rtol=1e-12, atol=1e-12)
    assert np.allclose(mlp.linear_gain(plant), K)


@pytest.mark.parametrize("a", [0.0, 0.3, 1.0])
def test_lipschitz_bound_dominates_sampled_gradients(a):
    pytest.importorskip("cvxpy")
    rng = np.random.default_rng(3)
    ws, bs = _net(rng, [3, 6, 1])
    ctrl = LeakyMLP(weights=ws, biases=bs, negative_slope=a, reference_input=True)
    bound = ctrl.lipschitz(method="lipsdp")
    assert bound.certified
    # central differences of the state -> command map at random points, reference fixed
    h, worst = 1e-6, 0.0
    for x in rng.normal(scale=2.0, size=(400, 2)):
        g = np.array([(ctrl.forward(x + h * e, 0.7) - ctrl.forward(x - h * e, 0.7))[0] / (2 * h)
                      for e in np.eye(2)])
        worst = max(worst, np.linalg.norm(g))
    assert worst <= bound.value * (1 + 1e-6)
    if a == 1.0:  # linear network: the bound is the norm of the weight product, exactly
        exact = np.linalg.norm(ws[1] @ ws[0][:, :2], 2)
        assert bound.value == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": [np.ones((3, 2))], "biases": [np.ones(2)]}, "biases\\[0\\] must have 3"),
        ({"weights": [np.ones((3, 2)), np.ones((1, 4))], "biases": [np.ones(3), np.ones(1)]},
         "weights\\[1\\] takes 4 inputs"),
        ({"weights": [np.ones((1, 2))], "biases": [np.ones(1)], "negative_slope": 2.0},
         "negative_slope"),
        ({"weights": [], "biases": []}, "non-empty"),
    ],
)
def test_bad_networks_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LeakyMLP(**{"negative_slope": 0.1, **kwargs})


def test_network_must_fit_the_plant():
    ctrl = LeakyMLP(weights=[np.ones((1, 3))], biases=[np.zeros(1)], negative_slope=0.1)
    with pytest.raises(ValueError, match="state input"):
        lc.simulate(lc.MassSpringDamper(), ctrl, 1.0)
