"""The `repo` automation: add, pull and list recipe repositories (repos.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cmx.automation import Context, Flag, declare
from cmx.errors import CmxError, UsageError
from cmx.repos import BUILTIN, Repo, all_repos, check_layout, read_registered, write_registered


def _register(ctx: Context, repo: Repo) -> None:
    home = ctx.engine.home
    repos = [r for r in read_registered(home) if r.path.resolve() != repo.path.resolve()]
    if any(r.alias == repo.alias for r in repos):
        raise UsageError(f"a repository named '{repo.alias}' is already registered", hint="pass --alias=OTHER")
    write_registered(home, repos + [repo])


ALIAS = Flag("alias", "text", "the name to register it under (default: its cmr.yaml alias, else the folder name)",
             example="--alias=mine")


@declare("Register a folder of recipes (scripts/NAME/meta.yaml, CM's script/NAME/_cm.yaml, or flat) in repos.yaml.",
         ALIAS, Flag("path", "path", "the folder (instead of the positional PATH)"),
         args="PATH", example="cmx add repo ~/my-recipes --alias=mine")
def add(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    path_arg = i.get("artifact") or i.get("path")
    if not path_arg:
        raise UsageError("cmx add repo PATH: which folder?")
    path = Path(str(path_arg)).expanduser().resolve()
    check_layout(path)
    repo = Repo(str(i.get("alias") or _declared_alias(path) or path.name), path)
    _register(ctx, repo)
    ctx.say(f"registered {repo.alias}: {path}")
    return {"repo": repo.to_json()}


def _declared_alias(path: Path) -> str | None:
    """The alias a CM repository declares in cmr.yaml, if any."""
    cmr = path / "cmr.yaml"
    if not cmr.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(cmr.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None
    return str(data["alias"]) if isinstance(data, dict) and data.get("alias") else None


def _name_from_url(url: str) -> str:
    tail = re.sub(r"\.git$", "", url.rstrip("/").split("/")[-1].split(":")[-1])
    return tail or "repo"


@declare("Clone a git repository of recipes into the home (or fetch and fast-forward it) and register it.",
         Flag("branch", "text", "check out this branch, tag or commit", example="--branch=main", aliases=("checkout",)),
         ALIAS, Flag("url", "text", "the repository (instead of the positional URL)"),
         args="URL", example="cmx pull repo https://github.com/OWNER/NAME --branch=main",
         details="OWNER@NAME is short for https://github.com/OWNER/NAME. Pulling never runs anything from the repository.")
def pull(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Clone (or fetch and fast-forward) a git repository of recipes. Runs nothing from it."""
    url = i.get("artifact") or i.get("url")
    if not url:
        raise UsageError("cmx pull repo URL [--branch=B]: which repository?")
    url = str(url)
    if re.fullmatch(r"[\w.-]+@[\w.-]+", url):  # CM's owner@name shorthand
        owner, name = url.split("@")
        url = f"https://github.com/{owner}/{name}"
    branch = i.get("branch")
    alias = str(i.get("alias") or _name_from_url(url))
    dest = ctx.engine.home.pulled_repos / alias
    try:
        import git

        if dest.is_dir():
            repo = git.Repo(dest)
            repo.remotes.origin.fetch()
            if branch:
                repo.git.checkout(str(branch))
            if not repo.head.is_detached:
                repo.git.merge("--ff-only", "@{u}")
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            kwargs: dict[str, Any] = {"branch": str(branch)} if branch else {}
            # no hooks are run by clone; recipes are only read, never executed, by pulling
            git.Repo.clone_from(url, dest, **kwargs)
            repo = git.Repo(dest)
        commit = repo.head.commit.hexsha
    except ImportError as exc:
        raise CmxError("GitPython is not installed") from exc
    except Exception as exc:
        detail = (getattr(exc, "stderr", "") or str(exc)).strip()
        lines = [ln.strip() for ln in detail.splitlines()]
        lines = [(ln[len("stderr:"):] if ln.startswith("stderr:") else ln).strip(" '\"") for ln in lines]
        lines = [ln for ln in lines if ln]
        err = CmxError(f"cannot pull {url}: {lines[-1] if lines else type(exc).__name__}")
        err.exit_code = 1
        raise err from exc
    check_layout(dest)
    known = [r for r in read_registered(ctx.engine.home) if r.path.resolve() == dest.resolve()]
    if not known:
        _register(ctx, Repo(alias, dest, url, str(branch) if branch else None))
    ctx.say(f"pulled {alias} at {commit[:12]} into {dest}")
    return {"repo": {"alias": alias, "path": str(dest), "url": url, "commit": commit}}


@declare("List the registered repositories in priority order, then the built-ins.", example="cmx list repo")
def list_repos(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    repos = all_repos(ctx.engine.home)
    for r in repos:
        ctx.say(f"{r.alias:<24} {r.path}{'  (built-in)' if r.alias == BUILTIN else ''}")
    return {"list": [r.to_json() for r in repos]}


ACTIONS = {"add": add, "pull": pull, "list": list_repos, "show": list_repos}
