"""get-git-repo: clone a repository with GitPython and check out exactly one commit.

For a branch, a tag or the default branch, the commit comes from the
resolve-git-ref probe (CMX_GIT_RESOLVED_COMMIT), which also put it in this
entry's cache key. The checkout is made at that commit even if the branch moved
again while cloning, so the entry always holds what its key says.
"""

import os
import re
import time

from cmx.execute.customize import load_source

_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")


class Failed(Exception):
    pass


# the git helpers shared with resolve-git-ref (scripts/resolve-git-ref/gitutil.py)
_git = load_source(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../resolve-git-ref/gitutil.py"))
no_prompt_env, normalize_url, git_error = _git.no_prompt_env, _git.normalize_url, _git.git_error
_s = _git.env_str
_URL, _SCP = _git.URL, _git.SCP


def is_local(url):
    return url.startswith("file://") or not (_URL.match(url) or _SCP.match(url))


def _head(repo):
    return repo.git.rev_parse("HEAD").strip()


def _fetch_commit(repo, commit, depth, url, extra=None):
    """Fetch one commit by its sha (servers allow it for reachable commits)."""
    import git

    if not _FULL_SHA.match(commit):
        raise Failed(f"commit {commit} not found in {url} (an abbreviated sha is only looked up among its "
                     "branches and tags; give the full 40-character sha to fetch the commit directly)")
    kwargs = {"depth": depth} if depth else {}
    kwargs.update(extra or {})
    try:
        repo.git.fetch("origin", commit, **kwargs)
    except git.GitCommandError as exc:
        raise Failed(f"commit {commit} not found in {url}: {git_error(exc)}") from None


def set_sparse(repo, sparse, log):
    """Restrict the work tree to ``sparse`` folders (git's cone mode), before any checkout.

    Only those folders (and the files directly in their parent folders) are written,
    so blobs elsewhere are never read: a partial clone fetches only what it needs, and
    a mirror that lacks some large blobs can still be checked out."""
    import git

    if not sparse:
        return
    log.info("sparse checkout (cone): %s", ", ".join(sparse))
    try:
        repo.git.sparse_checkout("set", "--cone", *sparse)
    except git.GitCommandError as exc:
        raise Failed(f"cannot set up the sparse checkout of {', '.join(sparse)}: {git_error(exc)}") from None


# A local repository serves a filtered (blob-less) fetch only when its upload-pack allows it;
# this is our own constant command line, never user input.
_FILTER_UPLOAD_PACK = "git -c uploadpack.allowFilter=true -c uploadpack.allowAnySHA1InWant=true upload-pack"


def _clone_kwargs(clone_url, sparse):
    """A sparse checkout needs no blobs outside its folders: clone without blobs, which
    git then fetches lazily for the checked-out files only. A plain local path is copied
    (no filter possible, no need: nothing is transferred); a server without partial-clone
    support just sends everything."""
    if not sparse or not (_URL.match(clone_url) or _SCP.match(clone_url)):
        return {}
    kwargs = {"filter": "blob:none"}
    if clone_url.startswith("file://"):
        kwargs["upload_pack"] = _FILTER_UPLOAD_PACK
        kwargs["allow_unsafe_options"] = True  # GitPython guards --upload-pack; ours is a constant
    return kwargs


def _promisor(repo, clone_url, sparse):
    """The same for an init + fetch (a _depth._sha checkout)."""
    if not _clone_kwargs(clone_url, sparse):
        return {}
    repo.git.config("remote.origin.promisor", "true")
    repo.git.config("remote.origin.partialclonefilter", "blob:none")
    if clone_url.startswith("file://"):
        repo.git.config("remote.origin.uploadpack", _FILTER_UPLOAD_PACK)
    return {"filter": "blob:none"}


def checkout_sha(url, clone_url, dest, sha, depth, log, sparse=()):
    import git

    env = no_prompt_env()
    if depth:
        if not _FULL_SHA.match(sha):
            raise Failed(f"_depth.{depth} needs the full 40-character sha, not '{sha}' "
                         "(an abbreviated sha can only be found in a full clone)")
        repo = git.Repo.init(dest)
        repo.git.update_environment(**env)
        repo.create_remote("origin", clone_url)
        extra = _promisor(repo, clone_url, sparse)
        set_sparse(repo, sparse, log)
        log.info("fetching commit %s from %s (depth %s)", sha, url, depth)
        _fetch_commit(repo, sha, depth, url, extra)
        repo.git.checkout("--detach", "FETCH_HEAD")
        return repo
    log.info("cloning %s (full history) to check out %s", url, sha)
    repo = git.Repo.clone_from(clone_url, dest, env=env, no_checkout=True, **_clone_kwargs(clone_url, sparse))
    repo.git.update_environment(**env)
    set_sparse(repo, sparse, log)
    try:
        repo.git.checkout("--detach", sha)
    except git.GitCommandError:
        # not on a branch or tag (e.g. a pull request's commit): ask for it by sha
        _fetch_commit(repo, sha, None, url)
        repo.git.checkout("--detach", "FETCH_HEAD")
    got = _head(repo)
    if not got.startswith(sha.lower()):
        raise Failed(f"'{sha}' names {got} in {url}, not a commit starting with it")
    return repo


def checkout_ref(url, clone_url, dest, commit, branch, tag, depth, log, sparse=()):
    import git

    env = no_prompt_env()
    name = branch or tag or None
    kwargs = {"depth": depth} if depth else {}
    if name:
        kwargs["branch"] = name
    log.info("cloning %s (%s%s)", url, f"{'branch' if branch else 'tag'} {name}" if name else "default branch",
             f", depth {depth}" if depth else "")
    if sparse:
        # clone without a work tree, restrict it, then check out only the sparse folders
        repo = git.Repo.clone_from(clone_url, dest, env=env, no_checkout=True, **kwargs,
                                   **_clone_kwargs(clone_url, sparse))
        repo.git.update_environment(**env)
        set_sparse(repo, sparse, log)
        repo.git.checkout()  # HEAD is the branch or the tag's commit; fill the sparse work tree
    else:
        repo = git.Repo.clone_from(clone_url, dest, env=env, **kwargs)
        repo.git.update_environment(**env)
    got = _head(repo)
    if got != commit:
        # it moved between the resolution (which keyed this entry) and the clone
        log.info("%s is now at %s, not the resolved %s; checking out %s", name or "HEAD", got, commit, commit)
        try:
            repo.git.cat_file("-e", f"{commit}^{{commit}}")
        except git.GitCommandError:
            _fetch_commit(repo, commit, depth, url)
        if branch:
            repo.git.checkout("-B", branch, commit)
        else:
            repo.git.checkout("--detach", commit)
    return repo


def update_submodules(repo, url, log):
    import git

    # file:// submodules are refused by recent git unless allowed; allow them for a
    # local superproject only (the user chose to trust that folder), never globally
    g = repo.git(c="protocol.file.allow=always") if is_local(url) else repo.git
    log.info("updating submodules (recursive)")
    try:
        g.submodule("update", "--init", "--recursive")
    except git.GitCommandError as exc:
        raise Failed(f"cannot check out the submodules of {url}: {git_error(exc)}") from None
    subs = []
    for line in repo.git.submodule("status", "--recursive").splitlines():
        parts = line.strip().lstrip("+-U").split()
        if len(parts) >= 2:
            subs.append({"path": parts[1], "commit": parts[0]})
    return subs


def parse_sparse(text):
    """'a/b, c' -> ('a/b', 'c'); a str is an error message."""
    paths = []
    for part in text.replace(";", ",").split(","):
        p = part.strip().strip("/")
        if not p:
            continue
        if p.startswith("-") or "\\" in p or any(seg in ("", ".", "..") for seg in p.split("/")):
            return f"--sparse: {part.strip()!r} is not a folder path inside the repository"
        paths.append(p)
    return tuple(dict.fromkeys(paths))




def preprocess(i):
    import git

    env = i["env"]
    log = i["logger"]
    try:
        url, branch, tag, sha = _git.requested(env)
    except ValueError as exc:
        return {"return": 1, "error": str(exc)}
    submodules = _s(env, "CMX_GIT_SUBMODULES").lower() in ("yes", "true", "on", "1")
    folder = str(env.get("CMX_GIT_CHECKOUT_FOLDER") or "repo").strip()
    if folder in ("", ".", "..") or "/" in folder or "\\" in folder:
        return {"return": 1, "error": f"--folder={folder!r}: expected a plain folder name"}
    depth_text = _s(env, "CMX_GIT_DEPTH")
    depth = None
    if depth_text:
        if not depth_text.isdigit() or int(depth_text) < 1:
            return {"return": 1, "error": f"_depth.{depth_text}: the depth must be a whole number >= 1"}
        depth = int(depth_text)
    sparse = parse_sparse(_s(env, "CMX_GIT_SPARSE"))
    if isinstance(sparse, str):
        return {"return": 1, "error": sparse}
    requested = (f"sha {sha}" if sha else f"tag {tag}" if tag else f"branch {branch}" if branch
                 else "default branch")
    if sha and not _HEX.match(sha):
        return {"return": 1, "error": f"_sha.{sha}: not a commit sha (expected 4 to 64 hex digits)"}

    # git ignores --depth for a plain local path; file:// honours it
    clone_url = url
    if depth and not _URL.match(url) and not _SCP.match(url):
        clone_url = "file://" + url
    dest = os.path.join(i["run_path"], folder)
    resolved = _s(env, "CMX_GIT_RESOLVED_COMMIT")
    ref = _s(env, "CMX_GIT_RESOLVED_REF")
    try:
        if sha:
            repo = checkout_sha(url, clone_url, dest, sha, depth, log, sparse)
            how = "given sha"
        else:
            if not resolved:
                return {"return": 1, "error": "internal: the resolve-git-ref dependency gave no commit"}
            if not branch and not tag and ref.startswith("refs/heads/"):
                branch = ref[len("refs/heads/"):]  # the remote's default branch
            repo = checkout_ref(url, clone_url, dest, resolved, branch, tag, depth, log, sparse)
            how = "git ls-remote"
        subs = update_submodules(repo, url, log) if submodules else []
    except Failed as exc:
        return {"return": 1, "error": str(exc)}
    except git.GitCommandError as exc:
        return {"return": 1, "error": f"cannot clone {url}: {git_error(exc)}"}
    except git.GitCommandNotFound:
        return {"return": 1, "error": "git is not installed (looked for the `git` command on PATH)"}

    commit = _head(repo)
    if resolved and not sha and commit != resolved:
        return {"return": 1, "error": f"checked out {commit} but {ref or 'HEAD'} resolved to {resolved}"}
    missing = [p for p in sparse if not os.path.isdir(os.path.join(dest, p))]
    if missing:  # git checks out an empty cone without a word: say so instead of caching nothing
        return {"return": 1, "error": f"--sparse: no folder {', '.join(missing)} in {url} at {commit[:12]}"}
    head = repo.head.commit
    date = head.committed_datetime.isoformat()
    log.info("checked out %s at %s", url, commit)

    env["CMX_GIT_CHECKOUT_PATH"] = dest
    env["CMX_GIT_COMMIT"] = commit
    env["CMX_GIT_COMMIT_DATE"] = date
    env["CMX_GIT_URL"] = url
    env["CMX_GIT_BRANCH"] = branch
    env["CMX_GIT_TAG"] = tag
    env["CMX_GIT_REF"] = ref if not sha else ""
    env["CMX_GIT_DEPTH"] = str(depth or "")
    env["CMX_GIT_SUBMODULES"] = "yes" if submodules else "no"
    env["CMX_GIT_SPARSE"] = ",".join(sparse)

    record = {
        "url": url,
        "requested": requested,
        "ref": env["CMX_GIT_REF"],
        "commit": commit,
        "commit_date": date,
        "resolved_by": how,
        "resolved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "depth": depth,
        "submodules": subs,
        "sparse": list(sparse),
    }
    i["state"].setdefault("git_repo", {})[url] = record
    return {"return": 0}
