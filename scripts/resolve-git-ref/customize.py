"""resolve-git-ref: ask a git remote, through `git ls-remote` (GitPython), which commit
a branch, a tag or its HEAD points at right now. Nothing is cloned."""

import os
import re

_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")

# git must fail rather than wait for a password on the terminal or in a dialog
NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}


def no_prompt_env():
    env = dict(NO_PROMPT)
    if not os.environ.get("GIT_SSH_COMMAND") and not os.environ.get("GIT_SSH"):
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env


def normalize_url(url):
    """A local path becomes absolute (relative to where cmx was started); URLs are kept."""
    url = url.strip()
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url) or re.match(r"^[^/]+@[^/:]+:", url):
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


def ls_remote(url, *patterns, symref=False):
    """{refname: sha} from `git ls-remote` (plus a 'symref:HEAD' entry when asked)."""
    import git

    g = git.cmd.Git()
    g.update_environment(**no_prompt_env())
    args = (["--symref"] if symref else []) + ["--", url] + list(patterns)
    out = g.ls_remote(*args, kill_after_timeout=300)
    refs = {}
    for line in out.splitlines():
        if line.startswith("ref: "):
            target, _, name = line[5:].partition("\t")
            refs["symref:" + name.strip()] = target.strip()
            continue
        sha, _, name = line.partition("\t")
        if sha and name:
            refs[name.strip()] = sha.strip()
    return refs


def resolve(url, branch="", tag="", sha=""):
    """(commit, ref) for what was asked; raises ValueError with a clear message."""
    import git

    if sha:
        if not _HEX.match(sha):
            raise ValueError(f"'{sha}' is not a commit sha (expected 4 to 64 hex digits)")
        return sha.lower(), ""
    if branch and tag:
        raise ValueError("give a branch or a tag, not both")
    if tag:
        patterns = [f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}"]
    elif branch:
        patterns = [f"refs/heads/{branch}"]
    else:
        patterns = ["HEAD"]
    try:
        refs = ls_remote(url, *patterns, symref=not (tag or branch))
    except git.GitCommandError as exc:
        raise ValueError(f"cannot read git repository {url}: {git_error(exc)}") from None
    except git.GitCommandNotFound:
        raise ValueError("git is not installed (looked for the `git` command on PATH)") from None
    if tag:
        commit = refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")
        if not commit:
            raise ValueError(f"tag '{tag}' not found in {url}")
        return commit, f"refs/tags/{tag}"
    if branch:
        commit = refs.get(f"refs/heads/{branch}")
        if not commit:
            raise ValueError(f"branch '{branch}' not found in {url}")
        return commit, f"refs/heads/{branch}"
    commit = refs.get("HEAD")
    if not commit:
        raise ValueError(f"{url} has no HEAD (an empty repository?); give a _branch. or _tag.")
    return commit, refs.get("symref:HEAD", "")


def _s(env, key):
    """An env value as a stripped string ('' when missing; an int 0 stays '0')."""
    value = env.get(key)
    return "" if value is None else str(value).strip()


def preprocess(i):
    env = i["env"]
    url = _s(env, "CMX_GIT_URL")
    if not url:
        return {"return": 1, "error": "no git repository URL: give --url=URL (or _repo.URL)"}
    url = normalize_url(url)
    branch = _s(env, "CMX_GIT_BRANCH")
    tag = _s(env, "CMX_GIT_TAG")
    sha = _s(env, "CMX_GIT_SHA")
    try:
        commit, ref = resolve(url, branch, tag, sha)
    except ValueError as exc:
        return {"return": 1, "error": str(exc)}
    i["logger"].info("resolved %s %s to %s", url, ref or sha or "HEAD", commit)
    env["CMX_GIT_RESOLVED_COMMIT"] = commit
    env["CMX_GIT_RESOLVED_REF"] = ref
    env["CMX_GIT_RESOLVED_URL"] = url
    return {"return": 0}
