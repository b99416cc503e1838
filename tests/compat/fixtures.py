"""Small recipe repositories in MLCommons CM's (cm4mlops: ``_cm.yaml``/``_cm.json``, ``CM_*`` env,
``from cmind import utils``) and MLC's (mlperf-automations: ``meta.yaml``, ``MLC_*`` env, ``mlc``
utils) formats, written for these tests from the formats (docs/compat.md)."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(body).lstrip("\n"))
        if name.endswith(".sh"):
            p.chmod(0o755)
    return root


# CM: loose typing that cm4mlops relies on, in YAML and in JSON
CM_FORMATS = {
    "cmr.yaml": "alias: cmloose\ngit: true\n",
    "script/loose-yaml/_cm.yaml": """
        alias: loose-yaml
        uid: 7a1b2c3d4e5f6a01
        automation_alias: script
        automation_uid: 5b4e0237da074764
        tags: [loose, yaml]
        cache: 'yes'
        sort: '500'
        category_sort: 3
        print_env_at_the_end_disabled: {CM_X: x}
        default_env:
          CM_LOOSE_NUMBER: 8
          CM_LOOSE_FLAG: True
        new_env_keys: CM_LOOSE_*
        variations:
          fast:
            group: speed
            default: 'true'
            env:
              CM_LOOSE_SPEED: fast
              + CXXFLAGS: [-O3, -g]
          slow:
            group: speed
            env:
              CM_LOOSE_SPEED: slow
        tests:
          run_inputs:
            - docker_os: rhel
        """,
    "script/loose-yaml/run.sh": 'echo "CM_LOOSE_OUT=generic:$CM_LOOSE_SPEED:$CM_LOOSE_NUMBER:$CM_LOOSE_FLAG" > tmp-run-env.out\n',
    "script/loose-yaml/run-linux.sh": 'echo "CM_LOOSE_OUT=linux:$CM_LOOSE_SPEED:$CM_LOOSE_NUMBER:$CM_LOOSE_FLAG:$CXXFLAGS" > tmp-run-env.out\n',
    "script/loose-json/_cm.json": """
        {
          "alias": "loose-json",
          "uid": "7a1b2c3d4e5f6a02",
          "automation_alias": "script",
          "tags": "loose,json",
          "cache": "False",
          "docker_input_mapping": {"x": "CM_X"},
          "new_env_keys": ["CM_JSON_*"],
          "deps": [{"tags": "loose,yaml,_slow", "force_cache": "yes", "inherit_variation_tags": "False"}]
        }
        """,
    "script/loose-json/run.sh": 'echo "CM_JSON_SAW=$CM_LOOSE_OUT" > tmp-run-env.out\n',
}

# MLC: meta.yaml with MLC_* env
MLC_FORMATS = {
    "meta.yaml": "alias: mlcloose\ngit: true\n",
    "script/mlc-loose/meta.yaml": """
        alias: mlc-loose
        uid: 8b1b2c3d4e5f6a01
        automation_alias: script
        tags: [mlc, loose]
        cache: true
        can_force_cache: 'yes'
        new_env_keys: [MLC_LOOSE_*]
        default_env:
          MLC_LOOSE_N: 3
        """,
    "script/mlc-loose/run.sh": 'echo "MLC_LOOSE_OUT=n$MLC_LOOSE_N" > tmp-run-env.out\n',
}
