"""--executor and --slurm.* flags: checked before anything is submitted, mapped to submitit's parameters."""

from __future__ import annotations

import pytest

from cmx.errors import UsageError
from cmx_slurm.options import SlurmOptions, executor_of
from cmx_slurm.script import cli_flags


def test_every_documented_option_reaches_submitit():
    opts = SlurmOptions.from_input({"slurm": {
        "partition": "gpu", "time": "2h", "gres": "gpu:1", "cpus_per_task": "4", "mem": "16g", "exclusive": True,
        "account": "mlperf", "requeue": True, "extra": "--qos=high --constraint=a100"}})
    assert opts.submitit_parameters("cmx-x") == {
        "name": "cmx-x", "timeout_min": 120, "slurm_partition": "gpu", "slurm_gres": "gpu:1", "cpus_per_task": 4,
        "slurm_mem": "16G", "slurm_account": "mlperf",
        "slurm_additional_parameters": {"qos": "high", "constraint": "a100", "exclusive": True, "requeue": True}}


@pytest.mark.parametrize("text, minutes", [("90", 90), ("30m", 30), ("2h", 120), ("1d", 1440), ("30s", 1),
                                           ("1:30:00", 90), ("5:00", 5), ("0:05", 1)])
def test_time_forms(text, minutes):
    assert SlurmOptions.from_input({"slurm": {"time": text}}).time_min == minutes


@pytest.mark.parametrize("slurm, flag", [
    ({"partition": "a b"}, "--slurm.partition"), ({"partition": "x;rm -rf /"}, "--slurm.partition"),
    ({"time": "soon"}, "--slurm.time"), ({"mem": "lots"}, "--slurm.mem"), ({"cpus_per_task": "0"}, "--slurm.cpus_per_task"),
    ({"exclusive": "maybe"}, "--slurm.exclusive"), ({"extra": "-q high"}, "--slurm.extra"),
    ({"extra": "'--qos"}, "--slurm.extra"), ({"nodes": "2"}, "--slurm.nodes"),
])
def test_bad_values_name_the_flag(slurm, flag):
    with pytest.raises(UsageError) as exc:
        SlurmOptions.from_input({"slurm": slurm})
    assert str(exc.value).startswith(flag)


def test_executor_choice():
    assert executor_of({}) == "local" and executor_of({"executor": "slurm"}) == "slurm"
    for bad, text in (({"executor": "k8s"}, "--executor=k8s"), ({"slurm": {"partition": "x"}}, "--slurm.*"),
                      ({"detach": True}, "--detach")):
        with pytest.raises(UsageError, match=text.replace("*", r"\*")):
            executor_of(bad)


def test_the_job_gets_the_same_request_as_argv():
    i = {"action": "run", "automation": "script", "tags": "print,hello-world", "name": "Ada Lovelace",
         "env": {"CMX_HELLO_GREETING": "Hi"}, "executor": "slurm", "slurm": {"time": "5"}, "j": True, "new": True}
    assert cli_flags(i) == ["--env.CMX_HELLO_GREETING=Hi", "--name=Ada Lovelace", "--new", "--tags=print,hello-world"]


def test_without_requeue_slurm_may_not_requeue_the_job():
    """Slurm re-queues jobs by default (JobRequeue=1): without --slurm.requeue cmx asks it not to, so that a
    preempted job is reported with its state rather than run again behind cmx's back."""
    assert SlurmOptions.from_input({"slurm": {}}).submitit_parameters("n")["slurm_additional_parameters"] == \
        {"no_requeue": True}
    assert SlurmOptions.from_input({"slurm": {"requeue": "no"}}).submitit_parameters("n")[
        "slurm_additional_parameters"] == {"no_requeue": True}
    given = SlurmOptions.from_input({"slurm": {"extra": "--requeue"}}).submitit_parameters("n")
    assert given["slurm_additional_parameters"] == {"requeue": True}


def test_a_search_cannot_detach(home):
    from tests.conftest import run_cmx

    res = run_cmx("run", "experiment", "--tags=print,hello-world", "--search.repeat=1:4", "--executor=slurm",
                  "--detach", home=home)
    assert res.code == 2 and "--search does not take --detach" in res.err and "Traceback" not in res.err
