"""The `repo` automation: add, pull, rm and list recipe repositories (repos.yaml).

repos.yaml is only changed under its lock (``cmx.repos.update_registered``) and replaced atomically,
so concurrent commands never lose a registration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cmx.automation import Context, Flag, declare
from cmx.errors import CmxError, UsageError
from cmx.repos import BUILTIN, Repo, all_repos, check_layout, read_registered, update_registered


def _register(ctx: Context, repo: Repo) -> None:
    def change(registered: list[Repo]) -> list[Repo]:
        repos = [r for r in registered if r.path.resolve() != repo.path.resolve()]
        if repo.alias == BUILTIN or any(r.alias == repo.alias for r in repos):
            raise UsageError(f"a repository named '{repo.alias}' is already registered", hint="pass --alias=OTHER")
        return repos + [repo]

    update_registered(ctx.engine.home, change)


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


def _git_error(url: str, exc: Exception) -> CmxError:
    detail = (getattr(exc, "stderr", "") or str(exc)).strip()
    lines = [ln.strip() for ln in detail.splitlines()]
    lines = [(ln[len("stderr:"):] if ln.startswith("stderr:") else ln).strip(" '\"") for ln in lines]
    lines = [ln for ln in lines if ln]
    err = CmxError(f"cannot pull {url}: {lines[-1] if lines else type(exc).__name__}")
    err.exit_code = 1
    return err


def _update(dest: Path, branch: str | None) -> str:
    """Fetch and fast-forward a clone (checking out ``branch`` first if given); its commit."""
    import git

    repo = git.Repo(dest)
    repo.remotes.origin.fetch()
    if branch:
        repo.git.checkout(str(branch))
    if not repo.head.is_detached:
        repo.git.merge("--ff-only", "@{u}")
    return str(repo.head.commit.hexsha)


@declare("Clone a git repository of recipes into the home (or fetch and fast-forward it) and register it.",
         Flag("branch", "text", "check out this branch, tag or commit", example="--branch=main", aliases=("checkout",)),
         ALIAS, Flag("url", "text", "the repository (instead of the positional URL)"),
         args="[URL]", example="cmx pull repo https://github.com/OWNER/NAME --branch=main",
         details="OWNER@NAME is short for https://github.com/OWNER/NAME. Without a URL, every registered repository "
                 "that is a git clone with a remote is fetched and fast-forwarded. Pulling never runs anything from "
                 "the repository.")
def pull(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Clone (or fetch and fast-forward) a git repository of recipes. Runs nothing from it.
    Without a URL, updates every registered repository that is a git clone with a remote."""
    url = i.get("artifact") or i.get("url")
    if not url:
        return _pull_all(ctx)
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
            commit = _update(dest, str(branch) if branch else None)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            kwargs: dict[str, Any] = {"branch": str(branch)} if branch else {}
            # no hooks are run by clone; recipes are only read, never executed, by pulling
            git.Repo.clone_from(url, dest, **kwargs)
            commit = str(git.Repo(dest).head.commit.hexsha)
    except ImportError as exc:
        raise CmxError("GitPython is not installed") from exc
    except Exception as exc:
        raise _git_error(url, exc) from exc
    check_layout(dest)
    known = [r for r in read_registered(ctx.engine.home) if r.path.resolve() == dest.resolve()]
    if not known:
        _register(ctx, Repo(alias, dest, url, str(branch) if branch else None))
    ctx.say(f"pulled {alias} at {commit[:12]} into {dest}")
    return {"repo": {"alias": alias, "path": str(dest), "url": url, "commit": commit}}


def _pull_all(ctx: Context) -> dict[str, Any]:
    """`cmx pull repo` with no URL: fast-forward every registered git clone that has a remote; the
    others are listed as skipped. One failure does not stop the others; any failure exits 1."""
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    registered = read_registered(ctx.engine.home)
    if not registered:
        ctx.say("no registered repositories to pull (register one with `cmx pull repo URL` or `cmx add repo PATH`)")
    for r in registered:
        row: dict[str, Any] = {"alias": r.alias, "path": str(r.path)}
        if not (r.path / ".git").exists():
            row["skipped"] = "not a git clone"
        else:
            try:
                import git

                if not git.Repo(r.path).remotes:
                    row["skipped"] = "a git repository with no remote"
                else:
                    row["commit"] = _update(r.path, None)
            except ImportError as exc:
                raise CmxError("GitPython is not installed") from exc
            except Exception as exc:
                row["error"] = str(_git_error(r.url or str(r.path), exc))
                failed.append(row["error"])
        if "commit" in row:
            ctx.say(f"pulled {r.alias} at {row['commit'][:12]} ({r.path})")
        elif "skipped" in row:
            ctx.say(f"skipped {r.alias}: {row['skipped']} ({r.path})")
        else:
            ctx.say(f"failed {r.alias}: {row['error']}")
        results.append(row)
    if failed:
        err = CmxError(f"{len(failed)} of {len(registered)} repositories could not be pulled:\n  " + "\n  ".join(failed))
        err.exit_code = 1
        raise err
    return {"repos": results}


@declare("Unregister a repository (by alias or path); its folder is left as it is.",
         Flag("alias", "text", "the repository to unregister (instead of the positional NAME)"),
         args="NAME", example="cmx rm repo mlperf-automations")
def rm(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Unregister a repository by alias (or path). Its folder is left untouched."""
    name = i.get("artifact") or i.get("alias")
    if not name:
        raise UsageError("cmx rm repo NAME: which repository? (see `cmx list repo`)")
    name = str(name)
    if name == BUILTIN:
        raise UsageError("the built-in recipes cannot be removed")
    removed: list[Repo] = []

    def change(registered: list[Repo]) -> list[Repo]:
        as_path = Path(name).expanduser()
        gone = [r for r in registered if r.alias == name or (as_path.exists() and r.path.resolve() == as_path.resolve())]
        if not gone:
            import difflib

            close = difflib.get_close_matches(name, [r.alias for r in registered], n=1)
            raise UsageError(f"no registered repository named '{name}'",
                             hint=f"did you mean '{close[0]}'?" if close else "list them with `cmx list repo`")
        removed.extend(gone)
        return [r for r in registered if r not in gone]

    update_registered(ctx.engine.home, change)
    for r in removed:
        ctx.say(f"unregistered {r.alias}; its folder is left as it was: {r.path}")
    return {"removed": [r.to_json() for r in removed]}


@declare("List the repositories in precedence order: the built-in recipes, then the registered ones.", example="cmx list repo")
def list_repos(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    repos = all_repos(ctx.engine.home)
    for r in repos:
        ctx.say(f"{r.alias:<24} {r.path}{'  (built-in)' if r.alias == BUILTIN else ''}")
    return {"list": [r.to_json() for r in repos]}


ACTIONS = {"add": add, "pull": pull, "rm": rm, "list": list_repos, "show": list_repos}
