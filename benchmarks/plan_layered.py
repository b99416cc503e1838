"""Planning a random layered DAG of 10,000 recipes: ``cmx run script --tags=layered-root --dry-run -j``.

The shape (issue 11, "Plans"): 50 layers of 200 recipes; each recipe of a layer
depends on 3 distinct recipes chosen at random (fixed seed) in the next layer,
so 30,000 edges between layers. Every edge is a different tag request: a
recipe's dependents ask for it with different spellings (subsets and orders of
its tags ``get,layered,lLL,nLL-JJJ``), so no request is answered from the
planner's memo of an identical request; each one is selected and resolved, and
only then recognised as an existing node. Each recipe is shaped like plan_10k's
libraries (default env, env, an input, exported keys; every third one a
variation group with a default). One more recipe, ``layered-root``,
depends on the 200 recipes of layer 0 (10,001 recipes, 30,200 edges).

Snakemake gets the same DAG (one rule with a wildcard per layer and recipe, its
inputs read from ``deps.json``: 10,001 jobs). The timing is plan_10k's: cold
index, first dry run, then interleaved rounds of the warm dry run, ``cmx find``,
``python -c pass`` and ``snakemake -n``.

Run: ``python benchmarks/plan_layered.py [--runs 5] [--json] [--no-snakemake]``.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import plan_10k  # noqa: E402

LAYERS, WIDTH, FANOUT, SEED = 50, 200, 3, 20261205


def edges(layers: int = LAYERS, width: int = WIDTH, fanout: int = FANOUT, seed: int = SEED
          ) -> dict[tuple[int, int], list[int]]:
    """(layer, j) -> the indexes of its dependencies in layer + 1 (fixed seed)."""
    rng = random.Random(seed)
    return {(layer, j): sorted(rng.sample(range(width), fanout)) if layer + 1 < layers else []
            for layer in range(layers) for j in range(width)}


def _spellings(layer: int, j: int) -> list[str]:
    """Every way to ask for recipe (layer, j) by tags: its unique tag plus any subset of the others, any order."""
    unique, others = f"n{layer:02d}-{j:03d}", ["get", "layered", f"l{layer:02d}"]
    out = []
    for k in range(len(others) + 1):
        for subset in itertools.combinations(others, k):
            for order in itertools.permutations((unique, *subset)):
                out.append(",".join(order))
    return out  # 49 spellings: more than any recipe's dependents


# every third recipe has a variation group with a default, as real recipes often do (plan_10k's libraries)
_PRECISION = """variations:
  fp32:
    group: precision
    default: true
    env: {LAYERED_PRECISION: fp32}
  fp16:
    group: precision
    env: {LAYERED_PRECISION: fp16}
"""


def generate(root: Path, layers: int = LAYERS, width: int = WIDTH) -> int:
    """Write the repository under ``root/scripts``; return the number of recipes."""
    scripts = root / "scripts"
    graph = edges(layers, width)
    asked: dict[tuple[int, int], int] = {}  # how many dependents already asked for a recipe

    def write(name: str, uid: str, tags: list[str], deps: list[str], variations: bool = False) -> None:
        d = scripts / name
        d.mkdir(parents=True)
        dep_text = "".join(f"  - tags: {t}\n" for t in deps)
        (d / "meta.yaml").write_text(
            f"schema_version: 1\nalias: {name}\nuid: {uid}\ntags: [{', '.join(tags)}]\ncache: true\n"
            + (f"deps:\n{dep_text}" if deps else "")
            + f"default_env:\n  LAYERED_OPT: \"-O2\"\nenv:\n  LAYERED_ID: \"{name}\"\n"
            + "input_mapping:\n  opt: LAYERED_OPT\n"
            + f"new_env_keys: [LAYERED_{name.replace('-', '_').upper()}_*]\n"
            + (_PRECISION if variations else ""))
        (d / "run.sh").write_text(f"#!/bin/bash\necho \"LAYERED_{name.replace('-', '_').upper()}=yes\" > tmp-run-env.out\n")

    def ask(layer: int, j: int) -> str:
        n = asked.get((layer, j), 0)
        asked[(layer, j)] = n + 1
        return _spellings(layer, j)[n]

    write("layered-root", "d0000001", ["layered-root"], [ask(0, j) for j in range(width)])
    for (layer, j), children in graph.items():
        write(f"layered-{layer:02d}-{j:03d}", f"{0xD1000000 + layer * 1000 + j:x}",
              ["get", "layered", f"l{layer:02d}", f"n{layer:02d}-{j:03d}"],
              [ask(layer + 1, c) for c in children], variations=j % 3 == 0)
    return 1 + layers * width


SNAKEFILE = """import json

DEPS = json.load(open("deps.json"))

rule all:
    input: expand("n/0/{{j}}.txt", j=range({width}))

rule node:
    input: lambda w: ["n/" + d + ".txt" for d in DEPS[w.layer + "/" + w.j]]
    output: "n/{{layer}}/{{j}}.txt"
    shell: "echo {{wildcards.layer}} {{wildcards.j}} > {{output}}"
"""


def snakefile(folder: Path) -> str:
    graph = edges()
    (folder / "deps.json").write_text(json.dumps(
        {f"{layer}/{j}": [f"{layer + 1}/{c}" for c in children] for (layer, j), children in graph.items()}))
    return SNAKEFILE.format(width=WIDTH)


LAYERED = plan_10k.Shape("layered", generate, "layered-root", snakefile)


def main(argv: list[str] | None = None) -> int:
    return plan_10k.main(argv, shape=LAYERED, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
