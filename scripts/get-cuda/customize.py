"""get-cuda: find nvcc (_toolkit) or libcudart (_runtime) and export versions and paths."""

import os

from cmx.execute.customize import load_source

HERE = os.path.dirname(os.path.abspath(__file__))


def _helper(name):
    """A helper module next to this file, compiled from source (no __pycache__ in the recipe)."""
    return load_source(os.path.join(HERE, f"{name}.py"))


def _search_list(env, key):
    """A +KEY list exported by dependencies, then the value cmx itself was started with."""
    return [d for d in list(env.get(f"+{key}") or []) + os.environ.get(key, "").split(os.pathsep) if d]


def _cuda_home(env):
    """An explicit CUDA home (--cuda_home, --env.CUDA_HOME or CUDA_PATH, or the shell's), with where it came from."""
    for key in ("CUDA_HOME", "CUDA_PATH"):
        if env.get(key):
            return env[key], f"{key} (given to cmx)"
    for key in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(key):
            return os.environ[key], f"{key} (from your environment)"
    return None, None


def _not_found(what, home, origin, looked):
    if home:
        hint = (f" {origin} is set to {home}, so only that install was searched;"
                " fix it, or unset it to let cmx search the usual places.")
    else:
        hint = " Install the CUDA toolkit, or point --cuda_home / --env.CUDA_HOME at an install."
    return {"return": 1, "error": f"CUDA not found: looked for {what} in: {'; '.join(looked)}.{hint}"}


def _toolkit(env, find, home, origin, roots):
    nvcc, looked = find.find_nvcc(home, _search_list(env, "PATH"), roots)
    if not nvcc:
        return _not_found("nvcc", home, origin, looked)
    facts = find.nvcc_facts(nvcc)
    if not facts["version"]:
        return {"return": 1, "error": f"{nvcc} --version printed no CUDA release: {facts['nvcc_output'][:200]}"}
    cuda_home = facts["home"]
    lib, _ = find.find_cudart(cuda_home, [], [])
    env.update({
        "CMX_NVCC_BIN_WITH_PATH": nvcc,
        "CMX_CUDA_HOME": cuda_home,
        "CMX_CUDA_BIN_PATH": os.path.join(cuda_home, "bin"),
        "CMX_CUDA_INCLUDE_PATH": os.path.join(cuda_home, "include"),
        "CMX_CUDA_VERSION": facts["version"],
        "CMX_CUDA_VERSION_FULL": facts["version_full"],
        "CMX_CUDART_LIB_WITH_PATH": lib or "",
        "CMX_CUDA_LIB_PATH": os.path.dirname(lib) if lib else "",
        "+PATH": [os.path.join(cuda_home, "bin")],
    })
    return {"return": 0, "version": facts["version"]}


def _runtime(env, find, home, origin, roots):
    lib, looked = find.find_cudart(home, _search_list(env, "LD_LIBRARY_PATH"), roots)
    if not lib:
        return _not_found("the CUDA runtime library (libcudart.so*)", home, origin, looked)
    version = find.runtime_version(lib)
    env.update({
        "CMX_CUDART_LIB_WITH_PATH": lib,
        "CMX_CUDA_LIB_PATH": os.path.dirname(lib),
        "CMX_CUDA_VERSION": version,
        "+LD_LIBRARY_PATH": [os.path.dirname(lib)],
    })
    return {"return": 0, "version": version}


def preprocess(i):
    env = i["env"]
    home, origin = _cuda_home(env)
    roots = [r for r in env.get("CMX_CUDA_INSTALL_ROOTS", "").split(os.pathsep) if r]
    part = _runtime if env.get("CMX_CUDA_PART") == "runtime" else _toolkit
    out = part(env, _helper("cuda_find"), home, origin, roots)
    if out["return"] == 0:
        i["logger"].info("CUDA %s %s found", env["CMX_CUDA_PART"], out["version"])
    return out
