"""The leaky-control command line: exit codes, one-line errors on stderr (no traceback),
progress on stderr, results on stdout, and the studies listing that finds what is shipped."""

from __future__ import annotations

import csv
import importlib
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leaky_control.cli import main, shipped_studies

GOOD = """
reference = 1.0
[time]
final = 5.0
points = 51
[plant]
type = "FirstOrderLag"
tau = 2.0
[controller]
type = "LeakyPI"
kp = 1.0
ki = 0.5
negative_slopes = [0.0, 1.0]
[output]
plot = false
"""


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leaky_control", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


# --- errors: one line on stderr, exit status 2 --------------------------------------------------

def test_a_bad_key_prints_one_line_naming_it_and_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("negative_slopes = [0.0, 1.0]",
                                         "negative_slopes = [0.0, 1.5]"))
    proc = _cli("run", path, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0] == (f"leaky-control run: error: {path}: controller.negative_slopes[1] = "
                        "1.5: must be a leak in [0, 1] (0: ReLU, 1: linear)")
    assert proc.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (["run", "{dir}/missing.toml", "--out", "{dir}/o"], "scenario file '{dir}/missing.toml' "
                                                        "not found"),
    (["run", "{good}", "--out", "{dir}/o", "--set", "controller.kp"],
     "--set = 'controller.kp': must be key.path=value"),
    (["run", "{good}", "--out", "{dir}/o", "--set", "solver.type=\"Dopri6\""],
     "solver.type = 'Dopri6': unknown solver type (did you mean 'Dopri5'?)"),
    (["sweep", "{good}", "--out", "{dir}/o"], "sweep: missing; a sweep scenario needs a "
                                              "[sweep] table"),
    (["studies", "cruise_contrl"], "no shipped study 'cruise_contrl' (did you mean "
                                   "'cruise_control'?)"),
])
def test_refusals_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       args: list[str], message: str) -> None:
    good = _write(tmp_path, GOOD)
    argv = [a.format(dir=tmp_path, good=good) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert message.format(dir=tmp_path) in err[0], err[0]


def test_argparse_rejects_a_bad_final_time_with_status_2(tmp_path: Path) -> None:
    good = _write(tmp_path, GOOD)
    with pytest.raises(SystemExit) as exc:
        main(["run", good, "--out", str(tmp_path / "o"), "--final-time", "-3"])
    assert exc.value.code == 2


def test_version_and_module_entry_point() -> None:
    import leaky_control

    proc = _cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"leaky-control {leaky_control.__version__}"


# --- studies -------------------------------------------------------------------------------------

def test_studies_lists_every_python_study_and_every_shipped_scenario(
        capsys: pytest.CaptureFixture[str]) -> None:
    from leaky_control import studies
    from leaky_control.scenarios import shipped_scenarios

    # independent discovery: every studies module that defines main
    expected_py = set()
    for info in pkgutil.iter_modules(studies.__path__):
        mod = importlib.import_module(f"leaky_control.studies.{info.name}")
        if callable(getattr(mod, "main", None)):
            expected_py.add(info.name)
    assert main(["studies"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    listed = {line.split()[0]: line.split()[1] for line in out}
    assert {k for k, v in listed.items() if v == "python"} == expected_py
    assert {k for k, v in listed.items() if v != "python"} == set(shipped_scenarios())
    assert listed["cruise_sweep.toml"] == "sweep"
    assert all(len(line.split(None, 2)) == 3 for line in out)  # every entry has a summary
    assert [r[0] for r in shipped_studies()] == [line.split()[0] for line in out]


@pytest.mark.slow
def test_studies_runs_a_shipped_scenario_by_name(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "res"
    assert main(["studies", "cruise_control.toml", "--out", str(out), "--final-time",
                 "10"]) == 0
    std = capsys.readouterr()
    assert (out / "cruise_control.png").stat().st_size > 10_000
    assert len(_rows(out / "cruise_control_metrics.csv")) == 6  # 2 plants x 3 leaks
    assert f"wrote {out / 'cruise_control_metrics.csv'}" in std.out
    assert "simulating 6 runs" in std.err
    assert f"writing {out}" in std.err


@pytest.mark.slow
def test_studies_runs_a_python_study_by_name(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert main(["studies", "cruise_control", "--out", str(out), "--final-time", "20"]) == 0
    assert (out / "cruise_control.png").exists()
    assert (out / "cruise_control_metrics.csv").exists()


# --- run and sweep ------------------------------------------------------------------------------

@pytest.mark.slow
def test_run_writes_tables_reports_progress_and_accepts_overrides(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, GOOD)
    out = tmp_path / "o"
    assert main(["run", good, "--out", str(out), "--final-time", "4",
                 "--set", "controller.negative_slopes=[0.5]"]) == 0
    std = capsys.readouterr()
    rows = _rows(out / "scenario_metrics.csv")
    assert [r["negative_slope [-]"] for r in rows] == ["0.5"]
    resp = _rows(out / "scenario_response.csv")
    assert float(resp[-1]["time [s]"]) == 4.0
    assert len(resp) == 51
    assert not (out / "scenario.png").exists()  # output.plot = false
    assert "simulating 1 run " in std.err
    assert std.out.splitlines()[-1] == f"wrote {out / 'scenario_response.csv'}"


@pytest.mark.slow
def test_sweep_without_tqdm_prints_a_line_per_chunk(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from leaky_control.scenarios import runner

    monkeypatch.setattr(runner, "_have_tqdm", lambda: False)
    out = tmp_path / "sw"
    assert main(["sweep", "cruise_sweep.toml", "--out", str(out), "--final-time", "60",
                 "--set", "time.points=601", "--set", "sweep.grid.kp=[0.5]",
                 "--set", "sweep.chunk_size=5",
                 "--set", "sweep.grid.negative_slope={linspace = [0, 1, 12]}"]) == 0
    std = capsys.readouterr()
    chunk_lines = [line for line in std.err.splitlines() if "chunk" in line and "done" in line]
    assert [line.split()[1] for line in chunk_lines] == ["1", "2", "3"]  # 12 points / 5
    assert std.out.splitlines()[0] == "12 of 12 points ran"
    rows = _rows(out / "cruise_sweep_sweep.csv")
    assert len(rows) == 12
    assert {r["status [-]"] for r in rows} == {"ok"}
    # --no-progress: no chunk lines
    assert main(["sweep", "cruise_sweep.toml", "--out", str(out), "--no-progress",
                 "--set", "sweep.grid.kp=[0.5]", "--set", "sweep.grid.negative_slope=[0.5]",
                 "--final-time", "60", "--set", "time.points=601"]) == 0
    assert "chunk" not in capsys.readouterr().err


@pytest.mark.slow
def test_a_failed_point_is_reported_and_the_others_run(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # u_min above u_max at one point: the model refuses that point only
    path = _write(tmp_path, GOOD + textwrap.dedent("""
        [sweep.grid]
        u_min = [-1.0, 5.0]
        """))
    out = tmp_path / "o"
    assert main(["sweep", path, "--out", str(out), "--no-progress", "--set",
                 "controller.u_max=2.0"]) == 1
    std = capsys.readouterr()
    rows = _rows(out / "scenario_sweep.csv")
    # the leaks [0, 1] of the file are the grid's first axis, u_min the second
    assert [r["status [-]"] for r in rows] == ["ok", "invalid parameters"] * 2
    assert "2 of 4 points ran; failed points: 1, 3" in std.out
    assert "u_min" in rows[1]["message [-]"]


@pytest.mark.slow
def test_the_wheel_ships_the_scenarios_and_the_console_script(tmp_path: Path) -> None:
    import zipfile

    from leaky_control.scenarios import shipped_scenarios

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(root)], timeout=600, capture_output=True,
                          text=True)
    if proc.returncode != 0 and "hatchling" in proc.stderr and "find" in proc.stderr:
        pytest.skip("the build backend (hatchling) cannot be installed here (no index)")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("leaky_control-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = zf.read(entry).decode()
    for name in shipped_scenarios():
        assert f"leaky_control/scenarios/shipped/{name}" in names
    assert "leaky-control = leaky_control.cli:main" in scripts
