"""``--executor=slurm``: run cmx plans and experiments on a Slurm cluster through submitit.

A layer above cmx/ (docs/slurm.md). The submitting machine plans once and ships the plan to the
jobs as data (carrier.py); each job runs that plan on a compute node (node.py), without planning,
sharing the store (``CMX_HOME``) on a shared filesystem. submitit is imported only here.
"""

from cmx_slurm.options import FLAGS, SlurmOptions, executor_of

__all__ = ["FLAGS", "SlurmOptions", "executor_of"]
