"""resolve-git-ref: ask a git remote, through `git ls-remote` (GitPython), which commit
a branch, a tag or its HEAD points at right now. Nothing is cloned."""

import os
import re

from cmx.execute.customize import load_source

_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")


# the git helpers shared with get-git-repo (scripts/resolve-git-ref/gitutil.py)
_git = load_source(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gitutil.py"))
no_prompt_env, normalize_url, git_error = _git.no_prompt_env, _git.normalize_url, _git.git_error


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


def preprocess(i):
    env = i["env"]
    try:
        url, branch, tag, sha = _git.requested(env)
        commit, ref = resolve(url, branch, tag, sha)
    except ValueError as exc:
        return {"return": 1, "error": str(exc)}
    i["logger"].info("resolved %s %s to %s", url, ref or sha or "HEAD", commit)
    env["CMX_GIT_RESOLVED_COMMIT"] = commit
    env["CMX_GIT_RESOLVED_REF"] = ref
    env["CMX_GIT_RESOLVED_URL"] = url
    return {"return": 0}
