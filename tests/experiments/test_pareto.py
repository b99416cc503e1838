"""The Pareto front of (tokens/s per user, system tokens/s)."""

from experiments.pareto import annotate, optimal


def row(tps, tpot, status="ok"):
    return {"status": status, "tokens_per_second": tps, "tpot_p90_ms": tpot}


def test_front_keeps_the_undominated_points():
    rows = [row(100, 10), row(180, 20), row(170, 25), row(300, 50), row(290, 40), row(400, 100, "failed")]
    # per user: 100, 50, 40, 20, 25; (170, 40/s) is dominated by (180, 50/s), (300, 20/s) by (290, 25/s)? no:
    # 300 > 290, so both stay; the failed point never counts
    assert optimal(rows) == [True, True, False, True, True, False]
    out = annotate(rows)
    assert out[0]["tokens_per_second_per_user"] == 100.0 and out[2]["pareto"] is False


def test_equal_points_do_not_dominate_each_other():
    assert optimal([row(100, 10), row(100, 10)]) == [True, True]
    assert optimal([row(None, 10), row(100, None)]) == [False, False]


def test_a_plot_without_matplotlib_is_a_clear_error(tmp_path):
    # a Python whose matplotlib cannot be imported (shadowed by a package that fails to import)
    import subprocess
    import sys
    from pathlib import Path

    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    root = Path(__file__).resolve().parents[2]
    code = ("import sys; from pathlib import Path\n"
            "from cmx.errors import CmxError\n"
            "from experiments.pareto import annotate, plot\n"
            "rows = annotate([{'status': 'ok', 'tokens_per_second': 10.0, 'tpot_p90_ms': 5.0}])\n"
            "try:\n    plot(rows, Path(sys.argv[1]))\n"
            "except CmxError as e:\n    print('CMXERROR', e); sys.exit(3)\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{shadow.parent}:{root}"}
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.png")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 3, res.stderr
    assert "plots need matplotlib" in res.stdout and "hint: pip install matplotlib" in res.stdout
    assert not (tmp_path / "p.png").exists()
