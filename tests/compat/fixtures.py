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


# CM: customize.py with `from cmind import utils`, i['os_info'], the automation's helpers, the work
# folder, CM_TMP_CURRENT_SCRIPT_PATH, and <<<KEY>>> in new_env_keys
CM_HOOKS = {
    "cmr.yaml": "alias: cmhooks\ngit: true\n",
    "script/get-tool/_cm.yaml": """
        alias: get-tool
        uid: 9c1b2c3d4e5f6a01
        automation_alias: script
        tags: [get, tool]
        cache: false
        default_env:
          CM_TOOL_KEY: CM_TOOL_VERSION
        new_env_keys: [CM_TOOL_PATH, CM_TOOL_INFO, CM_TOOL_CWD_OK, <<<CM_TOOL_KEY>>>]
        """,
    "script/get-tool/customize.py": """
        from cmind import utils
        import os


        def preprocess(i):
            os_info = i['os_info']
            env = i['env']
            automation = i['automation']
            if os_info['platform'] == 'windows':
                return {'return': 1, 'error': 'not on this platform'}
            env['CM_TOOL_INFO'] = os_info['platform'] + '-' + os_info['bits'] + '-' + os_info['python_bits']
            r = automation.find_artifact({'file_name': 'fake-tool', 'env': env, 'os_info': os_info,
                                          'default_path_env_key': 'CM_TOOL_SEARCH',
                                          'env_path_key': 'CM_TOOL_PATH', 'detect_version': True,
                                          'run_script_input': i['run_script_input'],
                                          'recursion_spaces': i['recursion_spaces']})
            if r['return'] > 0:
                return r
            automation.logger.info('found ' + r['found_path'])
            return {'return': 0}


        def detect_version(i):
            r = i['automation'].run_native_script({'run_script_input': i['run_script_input'],
                                                    'env': i['env'], 'script_name': 'get-version'})
            if r['return'] > 0:
                return r
            r = i['automation'].parse_version({'match_text': r'tool\\s+v([\\d.]+)', 'group_number': 1,
                                               'env_key': 'CM_TOOL_VERSION', 'which_env': i['env']})
            if r['return'] > 0:
                return r
            return {'return': 0, 'version': r['version']}


        def postprocess(i):
            env = i['env']
            r = utils.load_txt(file_name='tmp-run.out', check_if_exists=True, split=True)
            if r['return'] > 0:
                return r
            here = os.getcwd()
            ok = r['list'][0] == 'ran in ' + here and env['CM_TMP_CURRENT_SCRIPT_PATH'] == os.path.dirname(
                os.path.abspath(__file__))
            env['CM_TOOL_CWD_OK'] = 'yes' if ok else 'no:' + here + ':' + r['list'][0]
            return {'return': 0}
        """,
    "script/get-tool/get-version.sh": 'echo "tool v$(cat "$CM_TOOL_PATH")" > tmp-ver.out\n',
    "script/get-tool/run.sh": 'echo "ran in $(pwd)" > tmp-run.out\ntest -n "$CM_TMP_CURRENT_SCRIPT_PATH"\n',
}

# MLC: `from mlc import utils` plus the repository's own utils module (automation/utils.py)
MLC_HOOKS = {
    "meta.yaml": "alias: mlchooks\ngit: true\n",
    "automation/utils.py": """
        def is_true(val):
            return str(val).lower() in ['1', 'true', 'yes', 'on']
        """,
    "script/say-mode/meta.yaml": """
        alias: say-mode
        uid: 9d1b2c3d4e5f6a01
        automation_alias: script
        tags: [say, mode]
        default_env:
          MLC_SAY_LOUD: 'yes'
        new_env_keys: [MLC_SAY_*]
        """,
    "script/say-mode/customize.py": """
        from mlc import utils
        from utils import is_true
        import os


        def preprocess(i):
            env = i['env']
            env['MLC_SAY_TEXT'] = 'LOUD' if is_true(env.get('MLC_SAY_LOUD', '')) else 'quiet'
            utils.save_json(file_name='tmp-said.json', meta={'text': env['MLC_SAY_TEXT']})
            env['MLC_SAY_SCRIPT_PATH_OK'] = str(env['MLC_TMP_CURRENT_SCRIPT_PATH'] == os.path.dirname(__file__))
            return {'return': 0}


        def postprocess(i):
            r = utils.load_json('tmp-said.json')
            if r['return'] > 0:
                return r
            i['env']['MLC_SAY_BACK'] = r['meta']['text']
            return {'return': 0}
        """,
}


# CM's detect-or-install pair: get-thing installs itself through a prehook dependency enabled by the
# env its preprocess sets, and the installer depends on get-thing again (a cycle only on paper)
CM_CONDITIONAL = {
    "cmr.yaml": "alias: cmcond\ngit: true\n",
    "script/get-thing/_cm.yaml": """
        alias: get-thing
        uid: 9e1b2c3d4e5f6a01
        automation_alias: script
        tags: [get, thing]
        new_env_keys: [CM_THING_*]
        prehook_deps:
          - tags: install,thing
            enable_if_env:
              CM_REQUIRE_INSTALL: ['yes']
        """,
    "script/get-thing/customize.py": """
        def preprocess(i):
            env = i['env']
            if env.get('CM_THING_MISSING', '') == 'yes':
                env['CM_REQUIRE_INSTALL'] = 'yes'
            return {'return': 0}
        """,
    "script/get-thing/run.sh": 'echo CM_THING_FOUND=yes > tmp-run-env.out\n',
    "script/install-thing/_cm.yaml": """
        alias: install-thing
        uid: 9e1b2c3d4e5f6a02
        automation_alias: script
        tags: [install, thing]
        post_deps:
          - tags: get,thing
        """,
}


# CM's install-on-demand with run-time facts: get-gadget's preprocess decides to install, and which
# flavour and part; the installer's tags read that env (update_tags_from_env_with_prefix), the part's
# tags cannot be selected before it is known (<<<CM_GADGET_PART>>>), and the installer has its own
# dependency and a post-dependency back on get-gadget that its env switches off
CM_LATE = {
    "cmr.yaml": "alias: cmlate\ngit: true\n",
    "script/get-gadget/_cm.yaml": """
        alias: get-gadget
        uid: 9f1b2c3d4e5f6a01
        automation_alias: script
        tags: [get, gadget]
        new_env_keys: [CM_GADGET_*]
        env:
          CM_GADGET_NEED_INSTALL: 'no'
        prehook_deps:
          - tags: install,gadget
            names: [gadget-installer]
            update_tags_from_env_with_prefix:
              _flavor.: [CM_GADGET_WANTED_FLAVOR]
            enable_if_env:
              CM_GADGET_NEED_INSTALL: ['yes']
          - tags: get,gadget-<<<CM_GADGET_PART>>>
            enable_if_env:
              CM_GADGET_NEED_INSTALL: ['yes']
        """,
    "script/get-gadget/customize.py": """
        def preprocess(i):
            env = i['env']
            if env.get('CM_GADGET_MISSING', '') == 'yes':
                env['CM_GADGET_NEED_INSTALL'] = 'yes'
                env['CM_GADGET_WANTED_FLAVOR'] = 'blue'
                env['CM_GADGET_PART'] = 'part'
            return {'return': 0}
        """,
    "script/get-gadget/run.sh": 'echo "CM_GADGET_SEEN=${CM_GADGET_INSTALLED_FLAVOR:-none}" > tmp-run-env.out\n',
    "script/install-gadget/_cm.yaml": """
        alias: install-gadget
        uid: 9f1b2c3d4e5f6a02
        automation_alias: script
        tags: [install, gadget]
        cache: true
        new_env_keys: [CM_GADGET_*]
        default_env:
          CM_GADGET_FLAVOR: plain
        env:
          CM_GADGET_INSTALLING: 'yes'
        deps:
          - tags: get,gadget-helper
        post_deps:
          - tags: get,gadget
            skip_if_env:
              CM_GADGET_INSTALLING: ['yes']
        variations:
          flavor.#:
            env:
              CM_GADGET_FLAVOR: '#'
        """,
    "script/install-gadget/run.sh": 'echo "CM_GADGET_INSTALLED_FLAVOR=$CM_GADGET_FLAVOR:$CM_GADGET_HELPER" > tmp-run-env.out\n',
    "script/get-gadget-helper/_cm.yaml": """
        alias: get-gadget-helper
        uid: 9f1b2c3d4e5f6a03
        automation_alias: script
        tags: [get, gadget-helper]
        new_env_keys: [CM_GADGET_HELPER]
        """,
    "script/get-gadget-helper/run.sh": 'echo CM_GADGET_HELPER=ok > tmp-run-env.out\n',
    "script/get-gadget-part/_cm.yaml": """
        alias: get-gadget-part
        uid: 9f1b2c3d4e5f6a04
        automation_alias: script
        tags: [get, gadget-part]
        new_env_keys: [CM_GADGET_PART_FOUND]
        """,
    "script/get-gadget-part/run.sh": 'echo CM_GADGET_PART_FOUND=yes > tmp-run-env.out\n',
}


# a probe (the built-in get-python3) behind a conditional dependency, asked for a version this machine
# does not have: it must not run to compute keys while the condition is false (cm4mlops' get-python3 ->
# install-python-src -> get,python3 --version=3.10.13)
CM_PROBE_BEHIND_CONDITION = {
    "cmr.yaml": "alias: cmprobe\ngit: true\n",
    "script/get-snake/_cm.yaml": """
        alias: get-snake
        uid: 9f2b2c3d4e5f6a01
        automation_alias: script
        tags: [get, snake]
        new_env_keys: [CM_SNAKE_*]
        prehook_deps:
          - tags: install,snake
            enable_if_env:
              CM_SNAKE_INSTALL: ['yes']
        """,
    "script/get-snake/run.sh": 'echo CM_SNAKE_FOUND=yes > tmp-run-env.out\n',
    "script/install-snake/_cm.yaml": """
        alias: install-snake
        uid: 9f2b2c3d4e5f6a02
        automation_alias: script
        tags: [install, snake]
        post_deps:
          - tags: get,python3
            version: 1.0.1
        """,
}


# MLC's predeps() (before the dependencies, on the env their conditions read; `predeps: false` turns
# it off) and CM's preprocess choosing the script to run (i['run_script_input']['script_name'])
MLC_PREDEPS = {
    "meta.yaml": "alias: mlcpre\ngit: true\n",
    "script/get-widget/meta.yaml": """
        alias: get-widget
        uid: 9f3b2c3d4e5f6a01
        automation_alias: script
        tags: [get, widget]
        new_env_keys: [MLC_WIDGET_*]
        input_mapping:
          mode: MLC_WIDGET_MODE
        deps:
          - tags: fetch,widget
            enable_if_env:
              MLC_WIDGET_FETCH: ['yes']
        """,
    "script/get-widget/customize.py": """
        import os


        def predeps(i):
            env = i['env']
            if env.get('MLC_WIDGET_MODE', '') in ('fetch', 'detect'):
                env['MLC_WIDGET_FETCH'] = 'yes'
            return {'return': 0}


        def preprocess(i):
            env = i['env']
            if env.get('MLC_WIDGET_MODE', '') == 'detect':
                i['run_script_input']['script_name'] = 'detect'
            if env.get('MLC_WIDGET_MODE', '') == 'nowhere':
                i['run_script_input']['script_name'] = 'nowhere'
            return {'return': 0}
        """,
    "script/get-widget/run.sh": 'echo "MLC_WIDGET_BY=run:${MLC_WIDGET_FETCHED:-no}" > tmp-run-env.out\n',
    "script/get-widget/detect.sh": 'echo "MLC_WIDGET_BY=detect:${MLC_WIDGET_FETCHED:-no}" > tmp-run-env.out\n',
    "script/fetch-widget/meta.yaml": """
        alias: fetch-widget
        uid: 9f3b2c3d4e5f6a02
        automation_alias: script
        tags: [fetch, widget]
        new_env_keys: [MLC_WIDGET_FETCHED]
        """,
    "script/fetch-widget/run.sh": 'echo MLC_WIDGET_FETCHED=yes > tmp-run-env.out\n',
    "script/no-predeps/meta.yaml": """
        alias: no-predeps
        uid: 9f3b2c3d4e5f6a03
        automation_alias: script
        tags: [no, predeps]
        predeps: false
        new_env_keys: [MLC_NOPRE_*]
        """,
    "script/no-predeps/customize.py": """
        def predeps(i):
            return {'return': 1, 'error': 'predeps ran although the meta says predeps: false'}


        def preprocess(i):
            i['env']['MLC_NOPRE_OK'] = 'yes'
            return {'return': 0}
        """,
}


# a hook dependency whose tags read env that preprocess sets, with no condition (cm4mlops'
# get-mlperf-inference-src: get,git,repo with _branch. from CM_GIT_CHECKOUT): the run uses the tags
# computed on that env, never the ones computed before preprocess ran
CM_HOOK_TAGS = {
    "cmr.yaml": "alias: cmhook\ngit: true\n",
    "script/get-src/_cm.yaml": """
        alias: get-src
        uid: 9f4b2c3d4e5f6a01
        automation_alias: script
        tags: [get, src]
        new_env_keys: [CM_CHECKOUT_*]
        versions:
          main:
            env:
              CM_SRC_WANT: main
          r4.1:
            env:
              CM_SRC_WANT: v4.1
        prehook_deps:
          - tags: get,checkout
            names: [src-checkout]
            update_tags_from_env_with_prefix:
              _branch.: [CM_SRC_BRANCH]
        """,
    "script/get-src/customize.py": """
        def preprocess(i):
            env = i['env']
            env['CM_SRC_BRANCH'] = env.get('CM_SRC_WANT', '') or 'master'
            return {'return': 0}
        """,
    "script/get-checkout/_cm.yaml": """
        alias: get-checkout
        uid: 9f4b2c3d4e5f6a02
        automation_alias: script
        tags: [get, checkout]
        cache: true
        new_env_keys: [CM_CHECKOUT_*]
        default_env:
          CM_CHECKOUT_BRANCH: none
        variations:
          branch.#:
            env:
              CM_CHECKOUT_BRANCH: '#'
        """,
    "script/get-checkout/run.sh": 'echo "CM_CHECKOUT_GOT=$CM_CHECKOUT_BRANCH" > tmp-run-env.out\n',
}


# CM: what cm reads without complaint and cmx reads with a note: a tag with a space (cm4mlops'
# `hello world`), a key given twice (the last one counts), `'true,'` for a boolean, a dependency entry
# without tags (cm skips it), and an `adr` entry that is a description rather than a dependency update
CM_LENIENT = {
    "cmr.yaml": "alias: cmlenient\ngit: true\n",
    "script/say-greeting/_cm.yaml": """
        alias: say-greeting
        uid: 9a5b2c3d4e5f6a01
        automation_alias: script
        tags:
        - say
        - good day
        - greeting
        env:
          CM_GREETING_WHO: first
        env:
          CM_GREETING_WHO: world
        new_env_keys: [CM_GREETING_*]
        post_deps:
        - enable_if_env:
            CM_GREETING_WHO: [world]
        - tags: say,farewell
        variations:
          loud:
            group: volume
            default: true,
            env:
              CM_GREETING_VOLUME: loud
            adr:
              loud-description: "says it loudly"
          soft:
            group: volume
            env:
              CM_GREETING_VOLUME: soft
        """,
    "script/say-greeting/run.sh": 'echo "CM_GREETING_TEXT=good day, $CM_GREETING_WHO ($CM_GREETING_VOLUME)" > tmp-run-env.out\n',
    "script/say-farewell/_cm.yaml": """
        alias: say-farewell
        uid: 9a5b2c3d4e5f6a02
        automation_alias: script
        tags: [say, farewell]
        new_env_keys: [CM_FAREWELL_*]
        """,
    "script/say-farewell/run.sh": 'echo "CM_FAREWELL_SAID=yes" > tmp-run-env.out\n',
    "script/say-nothing/_cm.yaml": """
        alias: say-nothing
        uid: 9a5b2c3d4e5f6a04
        automation_alias: script
        tags: [say, nothing]
        post_deps:
        - names: [first]
        - tags: say,nosuch
        """,
}

# CM: a repository with its own `detect,os`; its recipes' dependencies are chosen in it first, as cm
# chooses them (cm knows only the repositories pulled), while our commands keep the built-in recipe
CM_OWN_DEPS = {
    "cmr.yaml": "alias: cmown\ngit: true\n",
    "script/detect-os/_cm.yaml": """
        alias: detect-os
        uid: 9b5b2c3d4e5f6a01
        automation_alias: script
        tags: [detect-os, detect, os, info]
        new_env_keys: [CM_HOST_OS_*]
        """,
    "script/detect-os/run.sh": 'echo "CM_HOST_OS_TYPE=cmown-os" > tmp-run-env.out\n',
    "script/say-os-name/_cm.yaml": """
        alias: say-os-name
        uid: 9b5b2c3d4e5f6a02
        automation_alias: script
        tags: [say, os-name]
        deps:
        - tags: detect,os
        - tags: get,python3
        new_env_keys: [CM_SAID_*]
        """,
    "script/say-os-name/run.sh": 'echo "CM_SAID_OS=$CM_HOST_OS_TYPE" > tmp-run-env.out\n',
}

# CM: values read as bash reads `export KEY="VALUE"` (cm's tmp-run.sh): preprocess builds a command with
# `\${PIPESTATUS[0]}` for the run script to eval (cm4mlops' benchmark-program), a `$NAME` reference, and
# a `$(...)` that bash would run and cmx never does; the user's --env is not re-applied over preprocess
CM_QUOTING = {
    "cmr.yaml": "alias: cmquote\ngit: true\n",
    "script/wrap-cmd/_cm.yaml": """
        alias: wrap-cmd
        uid: 9c5b2c3d4e5f6a01
        automation_alias: script
        tags: [wrap, cmd]
        default_env:
          CM_WRAP_CMD: 'false'
        prehook_deps:
        - tags: get,wrap-base
        new_env_keys: [CM_WRAP_*]
        """,
    "script/wrap-cmd/customize.py": r'''
        def preprocess(i):
            env = i['env']
            env['CM_WRAP_CMD'] += r" | cat; echo \${PIPESTATUS[0]} > exitstatus"
            env['CM_WRAP_HOME'] = '$CM_WRAP_BASE/sub'
            env['CM_WRAP_SUBST'] = '$(touch ran-it)'
            return {'return': 0}
        ''',
    "script/wrap-cmd/run.sh": """
        eval "$CM_WRAP_CMD"
        echo "CM_WRAP_STATUS=$(cat exitstatus)" > tmp-run-env.out
        echo "CM_WRAP_SEEN=$CM_WRAP_HOME" >> tmp-run-env.out
        echo "CM_WRAP_LITERAL=$CM_WRAP_SUBST" >> tmp-run-env.out
        test ! -e ran-it && echo "CM_WRAP_RAN=no" >> tmp-run-env.out
        """,
    "script/get-wrap-base/_cm.yaml": """
        alias: get-wrap-base
        uid: 9c5b2c3d4e5f6a02
        automation_alias: script
        tags: [get, wrap-base]
        new_env_keys: [CM_WRAP_BASE]
        """,
    "script/get-wrap-base/run.sh": 'echo "CM_WRAP_BASE=fromdep" > tmp-run-env.out\n',
}
