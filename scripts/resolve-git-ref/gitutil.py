"""Git helpers shared by resolve-git-ref and get-git-repo (get-git-repo lists this file
in its code_paths, so a change here is part of both recipes' content)."""

import os
import re

URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
SCP = re.compile(r"^[^/]+@[^/:]+:")


def no_prompt_env():
    """git must fail rather than wait for a password on the terminal or in a dialog."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    if not os.environ.get("GIT_SSH_COMMAND") and not os.environ.get("GIT_SSH"):
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env


def normalize_url(url):
    """A local path becomes absolute (relative to where cmx was started); URLs are kept."""
    url = url.strip()
    if URL.match(url) or SCP.match(url):
        return url
    return os.path.abspath(os.path.expanduser(url))


def git_error(exc):
    """The useful lines of a GitCommandError (git's own 'fatal:' messages)."""
    text = str(getattr(exc, "stderr", "") or exc).strip()
    lines = []
    for ln in text.splitlines():
        ln = ln.strip()
        if ln.startswith("stderr:"):
            ln = ln[len("stderr:"):].strip()
        ln = ln.strip("'").strip()
        if ln:
            lines.append(ln)
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:", "ERROR:"))]
    return "; ".join(fatal[:2]) if fatal else (lines[-1] if lines else str(exc))


def env_str(env, key):
    """An env value as a stripped string ('' when missing; an int 0 stays '0')."""
    value = env.get(key)
    return "" if value is None else str(value).strip()


def requested(env):
    """(url, branch, tag, sha) a recipe is asked for, the URL normalised; ValueError without a URL."""
    url = env_str(env, "CMX_GIT_URL")
    if not url:
        raise ValueError("no git repository URL: give --url=URL (or _repo.URL)")
    return (normalize_url(url), env_str(env, "CMX_GIT_BRANCH"), env_str(env, "CMX_GIT_TAG"),
            env_str(env, "CMX_GIT_SHA"))
