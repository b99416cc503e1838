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
