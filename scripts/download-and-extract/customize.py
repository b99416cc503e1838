"""download-and-extract: extract the archive download-file fetched, safely.

Every member is checked before anything is written: absolute paths, '..'
components, device files/FIFOs and links whose target (followed through the
archive's own symlinks) leaves the target folder are refused, naming the member.
Only then is the archive extracted, into a staging folder inside the build
folder (tar with Python's 'data' filter as a second line of defence; zip member
by member), which is renamed to the target when everything went well.

Bombs are bounded before anything is written: the member count, the total size
of the members and that total as a multiple of the archive's size are checked
while the headers are read (a tar is read as a stream, so a compressed one is
never decompressed much past the limit), and a zip's members are counted again
as they are written.
"""

import errno
import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib

TARGET = "extracted"
STAGING = ".extract-staging"


class Unsafe(Exception):
    pass


class Failed(Exception):
    pass


class TooBig(Exception):
    pass


class Limits:
    """How much an archive may unpack to (flags raise them)."""

    def __init__(self, env, archive_size):
        def value(key, default):
            v = str(env.get(key) or "").strip()
            return v or default

        from cmx.units import parse_number, parse_size

        try:
            self.max_size = parse_size(value("CMX_EXTRACT_MAX_SIZE", "100G"), "--max_extract_size")
            self.max_ratio = parse_number(value("CMX_EXTRACT_MAX_RATIO", "200"), "--max_extract_ratio", positive=True)
            self.max_members = parse_number(value("CMX_EXTRACT_MAX_MEMBERS", "1000000"), "--max_members",
                                            integer=True, positive=True)
        except ValueError as exc:
            raise Failed(str(exc)) from None
        self.archive_size = max(archive_size, 1)
        self.members = 0
        self.total = 0

    def add(self, name, size):
        """Count one member of `size` bytes; TooBig when a limit is passed."""
        self.members += 1
        if self.members > self.max_members:
            raise TooBig(f"it has more than {self.max_members} members (--max_members)")
        self.total = self.check(name, self.total + max(size, 0))

    def check(self, name, total):
        """`total` bytes of members so far, through `name`: TooBig past the size or ratio limit."""
        if total > self.max_size:
            raise TooBig(f"its members total more than {_human(self.max_size)} (--max_extract_size), "
                         f"reached at member {name!r}")
        # a small archive may expand a lot in relative terms and still be harmless: 1 MiB of slack
        if total > self.max_ratio * self.archive_size + (1 << 20):
            raise TooBig(f"its members total more than {self.max_ratio:g} times its own size of "
                         f"{_human(self.archive_size)} (--max_extract_ratio), reached at member {name!r}")
        return total


def _human(n):
    from cmx.units import human_size

    return human_size(n)


# -- the archive-independent check --------------------------------------------------
def _parts(name):
    return [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]


def _is_absolute(name):
    return name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None


def check_members(members):
    """members: (name, kind, linkname) with kind in file/dir/symlink/hardlink/special.

    Raises Unsafe naming the first offending member."""
    links = {}
    for name, kind, linkname in members:
        if kind == "symlink" and not _is_absolute(name) and ".." not in _parts(name):
            links["/".join(_parts(name))] = linkname

    def resolve(parts):
        """Follow the archive's own symlinks; None if the path leaves the root."""
        out = []
        queue = list(parts)
        hops = 0
        while queue:
            p = queue.pop(0)
            if p in ("", "."):
                continue
            if p == "..":
                if not out:
                    return None
                out.pop()
                continue
            out.append(p)
            target = links.get("/".join(out))
            if target is not None:
                hops += 1
                if hops > 64 or _is_absolute(target):
                    return None
                out.pop()
                queue = [q for q in re.split(r"[/\\]", target) if q] + queue
        return out

    for name, kind, linkname in members:
        if not name:
            raise Unsafe("a member has an empty name")
        if "\0" in name:
            raise Unsafe(f"member {name!r} has a NUL byte in its name")
        if _is_absolute(name):
            raise Unsafe(f"member {name!r} has an absolute path")
        parts = _parts(name)
        if ".." in parts:
            raise Unsafe(f"member {name!r} contains '..' (path traversal)")
        if kind == "special":
            raise Unsafe(f"member {name!r} is a device file or FIFO")
        if kind in ("symlink", "hardlink"):
            what = "symlink" if kind == "symlink" else "hard link"
            if not linkname:
                raise Unsafe(f"member {name!r} is a {what} with an empty target")
            if _is_absolute(linkname):
                raise Unsafe(f"member {name!r} is a {what} to an absolute path ({linkname})")
            # a symlink's target is relative to its folder, a hard link's to the archive root
            link_parts = [q for q in re.split(r"[/\\]", linkname) if q]
            if kind == "symlink":
                parent = resolve(parts[:-1])
                target = None if parent is None else resolve(parent + link_parts)
            else:
                target = resolve(link_parts)
            if target is None:
                raise Unsafe(f"member {name!r} is a {what} pointing outside the target ({linkname})")
        elif resolve(parts) is None:
            raise Unsafe(f"member {name!r} would be written outside the target through a symlink")


# -- formats --------------------------------------------------------------------------
def sniff(path):
    with open(path, "rb") as fh:
        head = fh.read(512)
    if zipfile.is_zipfile(path):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if head[:3] == b"BZh":
        return "tar.bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "tar.xz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        pass
    return None


def _tar_kind(m):
    if m.isdir():
        return "dir"
    if m.isreg():
        return "file"
    if m.issym():
        return "symlink"
    if m.islnk():
        return "hardlink"
    return "special"


def tar_members(path, limits):
    """The members of a tar, read as a stream and counted against the limits as they come, so that
    a bomb is stopped after decompressing about as much as the limits allow, not all of it."""
    out = []
    with tarfile.open(path, "r|*") as tf:
        for m in tf:
            limits.add(m.name, m.size if m.isreg() else 0)
            out.append((m.name, _tar_kind(m), m.linkname))
    return out


def zip_kind(info):
    mode = info.external_attr >> 16
    if info.is_dir() or stat.S_ISDIR(mode):
        return "dir"
    if mode and stat.S_ISLNK(mode):
        return "symlink"
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return "special"
    return "file"


def zip_members(zf):
    out = []
    for info in zf.infolist():
        kind = zip_kind(info)
        link = ""
        if kind == "symlink":
            link = zf.read(info).decode("utf-8", "replace")
        out.append((info.filename, kind, link))
    return out


def _inside(path, root):
    real = os.path.realpath(path)
    root = os.path.realpath(root)
    return real == root or real.startswith(root + os.sep)


def extract_tar(path, staging, limits):
    check_members(tar_members(path, limits))
    with tarfile.open(path, "r:*") as tf:
        if hasattr(tarfile, "data_filter"):
            try:
                tf.extractall(staging, filter="data")
            except tarfile.FilterError as exc:  # our checks should have caught it first
                member = getattr(exc, "tarinfo", None)
                raise Unsafe(f"member {getattr(member, 'name', '?')!r} refused by tarfile's data filter: {exc}")
        else:  # Python < 3.11.4: the checks above are the whole defence
            for m in tf.getmembers():
                tf.extract(m, staging, set_attrs=False)
        return len(tf.getmembers())


def extract_zip(path, staging, limits):
    with zipfile.ZipFile(path) as zf:
        members = zip_members(zf)
        for info in zf.infolist():  # the declared sizes first: nothing is written for a declared bomb
            limits.add(info.filename, info.file_size)
        check_members(members)
        written = 0  # counted again on the bytes actually written: declared sizes can lie
        for info, (name, kind, link) in zip(zf.infolist(), members):
            dest = os.path.join(staging, *_parts(name))
            if kind == "dir":
                os.makedirs(dest, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if not _inside(os.path.dirname(dest), staging):
                raise Unsafe(f"member {name!r} would be written outside the target through a symlink")
            if os.path.lexists(dest):
                os.remove(dest)
            if kind == "symlink":
                os.symlink(link, dest)
                continue
            mode = (info.external_attr >> 16) & 0o777
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    written = limits.check(name, written + len(block))
                    out.write(block)
            os.chmod(dest, 0o755 if mode & 0o111 else 0o644)
        return len(members)


# -- the hook -------------------------------------------------------------------------
def preprocess(i):
    env = i["env"]
    log = i["logger"]
    archive = str(env.get("CMX_DOWNLOAD_FILE_PATH") or "").strip()
    name = os.path.basename(archive)
    if not archive or not os.path.isfile(archive):
        return {"return": 1, "error": f"the downloaded file {archive!r} is missing"}
    fmt = sniff(archive)
    if fmt is None:
        return {"return": 1, "error": f"{name} is not a tar, tar.gz, tar.bz2, tar.xz or zip archive"}
    try:
        limits = Limits(env, os.path.getsize(archive))
    except Failed as exc:
        return {"return": 1, "error": str(exc)}
    staging = os.path.join(i["run_path"], STAGING)
    target = os.path.join(i["run_path"], TARGET)
    os.makedirs(staging)
    log.info("extracting %s (%s) into %s", archive, fmt, staging)
    try:
        count = extract_zip(archive, staging, limits) if fmt == "zip" else extract_tar(archive, staging, limits)
    except Unsafe as exc:
        return {"return": 1, "error": f"unsafe archive {name}: {exc}; nothing was extracted"}
    except TooBig as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return {"return": 1, "error": f"archive {name} refused: {exc}; nothing was kept (raise the limit with "
                                      "the flag named if the archive is trusted)"}
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return {"return": 1, "error": f"no space left on the device extracting {name} into "
                                          f"{exc.filename or staging}; nothing was kept"}
        return {"return": 1, "error": f"cannot extract {name}: {exc.strerror or exc} ({exc.filename or staging})"}
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, RuntimeError, lzma.LZMAError, zlib.error) as exc:
        return {"return": 1, "error": f"cannot extract {name} ({fmt}): {exc}"}
    os.rename(staging, target)
    entries = sorted(os.listdir(target))
    top = target
    if len(entries) == 1 and os.path.isdir(os.path.join(target, entries[0])) \
            and not os.path.islink(os.path.join(target, entries[0])):
        top = os.path.join(target, entries[0])
    log.info("extracted %d members of %s", count, name)
    env["CMX_EXTRACT_PATH"] = target
    env["CMX_EXTRACT_TOP_PATH"] = top
    env["CMX_EXTRACT_FORMAT"] = fmt
    env["CMX_EXTRACT_MEMBERS"] = str(count)
    return {"return": 0}
