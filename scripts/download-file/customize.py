"""download-file: fetch one file with requests, resuming interrupted transfers, and
verify its sha256/md5. Everything happens here, in Python: no user value ever
reaches a shell.

Partial downloads of http(s) URLs are kept outside the build folder, in
<cache root>/.partial-downloads/, one per URL, so that a run that was cut off
(or killed) continues where it stopped on the next run, with an HTTP Range
request (checked: the server must answer 206 for the same content, else the
download restarts from the beginning). A partial file is only continued when the
first answer gave a validator (a strong ETag or Last-Modified) to send as If-Range;
without one, the download restarts from zero rather than splice two versions.

Bounds against a hostile or broken server: an overall deadline (besides the
per-read timeout), redirects only to the same host unless allowed, a maximum
size, and a maximum expansion of a compressed (Content-Encoding) answer.
"""

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request

CHUNK = 1 << 16
_LENGTHS = {"sha256": 64, "md5": 32}


class Failed(Exception):
    pass


# -- checksums ------------------------------------------------------------------------
def new_hashers():
    return {"sha256": hashlib.sha256(), "md5": hashlib.md5()}


def hash_file(path, hashers=None):
    hashers = hashers or new_hashers()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            for h in hashers.values():
                h.update(block)
    return hashers


def hexdigests(hashers):
    return {name: h.hexdigest() for name, h in hashers.items()}


def text(env, key, default=""):
    """An env value as a stripped string (None and missing give the default; 0 stays '0')."""
    value = env.get(key)
    return default if value is None else str(value).strip()


class Limits:
    """What one download may take: read timeout, overall deadline, size, expansion, redirect hosts."""

    def __init__(self, env):
        from cmx.units import parse_number, parse_size

        try:
            self.retries = parse_number(text(env, "CMX_DOWNLOAD_RETRIES") or 3, "CMX_DOWNLOAD_RETRIES", integer=True)
            self.timeout = parse_number(text(env, "CMX_DOWNLOAD_TIMEOUT") or 60, "CMX_DOWNLOAD_TIMEOUT", positive=True)
            self.deadline = parse_number(text(env, "CMX_DOWNLOAD_DEADLINE") or 6 * 3600, "--deadline")
            self.max_size = parse_size(text(env, "CMX_DOWNLOAD_MAX_SIZE") or "100G", "--max_size")
            self.max_ratio = parse_number(text(env, "CMX_DOWNLOAD_MAX_RATIO") or 100, "--max_ratio", positive=True)
        except ValueError as exc:
            raise Failed(str(exc)) from None
        hosts = text(env, "CMX_DOWNLOAD_REDIRECT_HOSTS")
        self.redirect_hosts = {h.strip().lower() for h in re.split(r"[,\s]+", hosts) if h.strip()}
        self.t0 = time.monotonic()

    def left(self):
        return self.deadline - (time.monotonic() - self.t0) if self.deadline else None

    def read_timeout(self):
        left = self.left()
        return self.timeout if left is None else max(0.001, min(self.timeout, left))


def expected_checksums(env):
    want = {}
    for name, length in _LENGTHS.items():
        value = text(env, f"CMX_DOWNLOAD_{name.upper()}").lower()
        if not value:
            continue
        if len(value) != length or not re.fullmatch(r"[0-9a-f]+", value):
            raise Failed(f"--{name}={value}: expected {length} hex digits")
        want[name] = value
    return want


def mismatch(got, want, what):
    """The error text for the first checksum that differs, or None."""
    for name, value in want.items():
        if got[name] != value:
            return f"checksum mismatch for {what}: expected {name} {value}, got {got[name]}"
    return None


# -- names and messages ---------------------------------------------------------------
def file_name(url, given):
    if given:
        if given in (".", "..") or "/" in given or "\\" in given or "\0" in given:
            raise Failed(f"--filename={given!r}: expected a plain file name")
        return given
    name = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        return "downloaded.file"
    return name


def reason(exc):
    """A short reason for a requests exception ('Connection refused', 'timed out' ...)."""
    import requests

    text = str(exc)
    m = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if m:
        return m.group(1).strip()
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if "IncompleteRead" in text or "Connection broken" in text:
        return "connection broken"
    return text[:200]


def human(n):
    from cmx.units import human_size

    return human_size(n)


def say(log, text):
    """To the recipe's log always; to the terminal too when there is one."""
    log.info(text)
    if sys.stderr.isatty():
        print(f"  download-file: {text}", file=sys.stderr, flush=True)


class Progress:
    """A rich progress bar on a terminal; otherwise a log line every 10% (or 16 MiB)."""

    def __init__(self, label, total, done, log):
        self.total, self.done, self.log, self.label = total, done, log, label
        self.bar = None
        self.t0 = time.monotonic()
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, DownloadColumn, Progress as Bar, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                           TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(label, total=total, completed=done)
        self.step = max(total // 10, 1) if total else 16 << 20
        self.next = (done // self.step + 1) * self.step

    def advance(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(self.task, advance=n)
        elif self.done >= self.next:
            self.next = (self.done // self.step + 1) * self.step
            if self.total:
                self.log.info("%s: %d%% (%s of %s)", self.label, 100 * self.done // self.total, human(self.done),
                              human(self.total))
            else:
                self.log.info("%s: %s", self.label, human(self.done))

    def close(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


# -- transfers ------------------------------------------------------------------------
def copy_file(src, dest, log, max_size=None):
    """Copy src into dest (hashing as it goes), with src's permissions at most (the umask applies)."""
    hashers = new_hashers()
    try:
        fin = open(src, "rb")
    except OSError as exc:
        raise Failed(f"cannot read {src}: {exc.strerror}") from None
    with fin:
        st = os.fstat(fin.fileno())
        total = st.st_size if os.path.isfile(src) else None
        if max_size and total and total > max_size:
            raise Failed(f"{src} is {human(total)}, more than --max_size={human(max_size)}")
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                     (st.st_mode & 0o777) if os.path.isfile(src) else 0o644)
        with os.fdopen(fd, "wb") as fout:
            bar = Progress(os.path.basename(dest), total, 0, log)
            done = 0
            try:
                for block in iter(lambda: fin.read(1 << 20), b""):
                    done += len(block)
                    if max_size and done > max_size:
                        raise Failed(f"{src} is more than --max_size={human(max_size)}")
                    fout.write(block)
                    for h in hashers.values():
                        h.update(block)
                    bar.advance(len(block))
            finally:
                bar.close()
    return hashers


def copy_file_url(url, dest, log, max_size=None):
    parsed = urllib.parse.urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise Failed(f"cannot download {url}: only local file:// URLs are supported")
    src = urllib.request.url2pathname(parsed.path)
    try:
        return copy_file(src, dest, log, max_size)
    except Failed as exc:
        raise Failed(f"cannot download {url}: {exc}") from None


def _content_range(value):
    """(start, total) from 'bytes 100-199/1000' or 'bytes */1000' (total None if '*')."""
    m = re.match(r"^\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*$", value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


def _load_meta(meta_path, url):
    try:
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("url") == url else None


def _discard(*paths):
    for p in paths:
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


_REDIRECTS = (301, 302, 303, 307, 308)


def _host(url):
    return (urllib.parse.urlsplit(url).hostname or "").lower()


def open_url(session, url, headers, limits):
    """GET url, following redirects to the same host (or an allowed one) only. Returns the response."""
    import requests

    current = url
    for _ in range(10):
        timeout = limits.read_timeout()
        try:
            resp = session.get(current, stream=True, headers=headers, timeout=(timeout, timeout),
                               allow_redirects=False)
        except requests.RequestException as exc:
            raise Failed(f"cannot download {url}: {reason(exc)}") from None
        if resp.status_code not in _REDIRECTS or not resp.headers.get("Location"):
            return resp
        target = urllib.parse.urljoin(current, resp.headers["Location"])
        resp.close()
        scheme, host = urllib.parse.urlsplit(target).scheme.lower(), _host(target)
        if scheme not in ("http", "https"):
            raise Failed(f"cannot download {url}: redirected to {target} (not http or https)")
        if urllib.parse.urlsplit(current).scheme.lower() == "https" and scheme == "http":
            raise Failed(f"cannot download {url}: redirected from https to http ({target})")
        if host != _host(url) and host not in limits.redirect_hosts and "*" not in limits.redirect_hosts:
            raise Failed(f"cannot download {url}: redirected to another host, {host} ({target}); "
                         f"allow it with --allow_redirect_hosts={host}")
        current = target
    raise Failed(f"cannot download {url}: more than 10 redirects")


class Watchdog:
    """Cuts the connection of a response when the overall deadline passes (a server that
    trickles bytes never trips the per-read timeout)."""

    def __init__(self, resp, seconds):
        self.fired = False
        self.resp = resp
        self.timer = None
        if seconds is not None:
            self.timer = threading.Timer(max(seconds, 0.0), self._fire)
            self.timer.daemon = True
            self.timer.start()

    def _fire(self):
        self.fired = True
        raw = getattr(self.resp, "raw", None)
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is None:  # urllib3 keeps the socket deeper once the body is streaming
            sock = getattr(getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self):
        if self.timer is not None:
            self.timer.cancel()


def http_download(url, part, label, log, limits):
    """Download url into part, resuming what part already holds. Returns (hashers, resumed)."""
    import requests
    import urllib3

    meta_path = part + ".json"
    meta = _load_meta(meta_path, url) if os.path.exists(part) else None
    if os.path.exists(part) and meta is None:
        _discard(part)  # a leftover of unknown origin: never append to it
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    validator = (meta or {}).get("validator")
    if offset and not validator:
        say(log, f"found a partial download of {url} ({human(offset)}), but the server gave no ETag or "
                 "Last-Modified to check it against; restarting from the beginning")
        _discard(part, meta_path)
        offset = 0
    hashers = hash_file(part) if offset else new_hashers()
    if offset:
        say(log, f"found a partial download of {url} ({human(offset)}); resuming")
    session = requests.Session()
    session.headers.update({"User-Agent": "cmx-download-file", "Accept-Encoding": "identity"})
    attempts = 0
    resumed = False
    while True:
        left = limits.left()
        if left is not None and left <= 0:
            raise Failed(f"download of {url} exceeded its deadline of {limits.deadline:g} s (--deadline) after "
                         f"{offset} bytes; the partial file is kept: run again to resume")
        if offset and not validator:
            say(log, f"the server gave no ETag or Last-Modified for {url}: restarting from the beginning "
                     "rather than resuming at a byte that may belong to another version")
            _discard(part, meta_path)
            offset, hashers = 0, new_hashers()
        headers = {}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            headers["If-Range"] = validator
        resp = open_url(session, url, headers, limits)
        with resp:
            code = resp.status_code
            if code == 416 and offset:
                _, total = _content_range(resp.headers.get("Content-Range"))
                if total == offset:
                    log.info("the partial download of %s is already complete (%d bytes)", url, offset)
                    resumed = True
                    break
                log.info("the server refused the range %d- (HTTP 416); restarting from the beginning", offset)
                _discard(part, meta_path)
                offset, validator, hashers = 0, None, new_hashers()
                continue
            if code not in (200, 206):
                raise Failed(f"cannot download {url}: HTTP {code} {resp.reason or ''}".rstrip())
            total = None
            if code == 206:
                start, total = _content_range(resp.headers.get("Content-Range"))
                if not offset or start != offset:
                    attempts += 1
                    if attempts > limits.retries + 1:
                        raise Failed(f"cannot download {url}: the server answers ranges inconsistently")
                    log.info("the server answered a range we did not ask for; restarting from the beginning")
                    _discard(part, meta_path)
                    offset, validator, hashers = 0, None, new_hashers()
                    continue
                mode = "ab"
                resumed = True
                log.info("resuming %s at byte %d (HTTP 206)", url, offset)
            else:
                if offset:
                    say(log, f"the server did not resume {url} (HTTP 200 to a range request); "
                             "restarting from the beginning")
                offset, hashers, mode, resumed = 0, new_hashers(), "wb", False
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                etag = resp.headers.get("ETag") or ""
                validator = etag if etag and not etag.startswith("W/") else resp.headers.get("Last-Modified")
                if (resp.headers.get("Content-Encoding") or "identity").strip().lower() not in ("", "identity"):
                    validator = None  # byte ranges of an encoded answer are not ranges of the file: never resume
                with open(meta_path, "w", encoding="utf-8") as fh:
                    json.dump({"url": url, "validator": validator, "total": total}, fh)
            encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
            encoded = encoding not in ("", "identity")
            if total is not None and not encoded and total > limits.max_size:
                _discard(part, meta_path)
                raise Failed(f"cannot download {url}: it is {human(total)}, more than --max_size="
                             f"{human(limits.max_size)}")
            got = offset
            interrupted = None
            bar = Progress(label, total if not encoded else None, offset, log)
            watchdog = Watchdog(resp, limits.left())
            try:
                with open(part, mode) as fh:
                    for chunk in resp.iter_content(CHUNK):
                        got += len(chunk)
                        if got > limits.max_size:
                            raise _TooBig(f"cannot download {url}: more than --max_size={human(limits.max_size)}"
                                          + (f" once decoded (Content-Encoding: {encoding})" if encoded else ""))
                        if encoded and got - offset > 1 << 20:
                            wire = max(resp.raw.tell(), 1)
                            if (got - offset) > limits.max_ratio * wire:
                                raise _TooBig(
                                    f"cannot download {url}: its Content-Encoding ({encoding}) expands "
                                    f"{human(wire)} into more than {human(got - offset)}, over "
                                    f"--max_ratio={limits.max_ratio:g}")
                        fh.write(chunk)
                        for h in hashers.values():
                            h.update(chunk)
                        bar.advance(len(chunk))
            except _TooBig as exc:
                _discard(part, meta_path)
                raise Failed(f"{exc}; refused (nothing kept)") from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
                interrupted = reason(exc)  # the connection broke: resume below
            except OSError as exc:
                raise Failed(_write_error(part, exc)) from None
            finally:
                watchdog.cancel()
                bar.close()
            if watchdog.fired:
                raise Failed(f"download of {url} exceeded its deadline of {limits.deadline:g} s (--deadline) after "
                             f"{got} bytes; the partial file is kept: run again to resume")
            if interrupted is None and total is not None and not encoded and got < total:
                interrupted = f"connection closed after {got} of {total} bytes"
        if interrupted is None:
            break
        attempts += 1
        offset = got
        if attempts > limits.retries:
            raise Failed(f"download of {url} interrupted after {got} bytes ({interrupted}); "
                         "the partial file is kept: run again to resume")
        say(log, f"download of {url} interrupted after {got} bytes ({interrupted}); "
                 f"resuming (attempt {attempts} of {limits.retries})")
    return hashers, resumed


class _TooBig(Exception):
    pass


def _write_error(path, exc):
    """The error text for a failed write, plain about a full disk."""
    where = exc.filename or path
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the device writing {where}: free some space (or move CMX_HOME) and run again"
    return f"cannot write {where}: {exc.strerror or exc}"


class PartialSlot:
    """The per-URL partial file under the cache root, locked against concurrent runs.
    If it is busy (or cannot be made), a private partial file in the build folder is used."""

    def __init__(self, url, run_path, name):
        self.fd = None
        try:
            from cmx.home import current_home

            root = current_home().cache_root / ".partial-downloads"
            root.mkdir(parents=True, exist_ok=True)
            base = str(root / hashlib.sha256(url.encode()).hexdigest()[:32])
            fd = os.open(base + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise
            self.fd = fd
            self.part = base + ".part"
        except (OSError, ImportError):
            self.part = os.path.join(run_path, f".{name}.part")

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# -- the hook -------------------------------------------------------------------------
def _publish(env, path, name, url, hashers, size, source, want):
    env["CMX_DOWNLOAD_FILE_PATH"] = path
    env["CMX_DOWNLOAD_FILENAME"] = name
    env["CMX_DOWNLOAD_URL"] = url
    got = hexdigests(hashers)
    env["CMX_DOWNLOAD_SHA256"] = got["sha256"]
    env["CMX_DOWNLOAD_MD5"] = got["md5"]
    env["CMX_DOWNLOAD_SIZE"] = str(size)
    env["CMX_DOWNLOAD_SOURCE"] = source
    env["CMX_DOWNLOAD_VERIFIED"] = ",".join(sorted(want)) or "no"


def preprocess(i):
    env = i["env"]
    log = i["logger"]
    try:
        return _run(env, log, i["run_path"])
    except Failed as exc:
        return {"return": 1, "error": str(exc)}
    except OSError as exc:  # writing the file, its partial or its metadata
        return {"return": 1, "error": _write_error(i["run_path"], exc)}


def _run(env, log, run_path):
    url = text(env, "CMX_DOWNLOAD_URL")
    local = text(env, "CMX_DOWNLOAD_LOCAL_PATH")
    want = expected_checksums(env)
    if not url and not local:
        raise Failed("nothing to download: give --url=URL (or --local_path=FILE)")
    given_name = text(env, "CMX_DOWNLOAD_FILENAME")
    limits = Limits(env)

    if local:
        path = os.path.abspath(os.path.expanduser(local))
        if os.path.isfile(path):
            # copied into the entry while hashing: the entry holds the bytes that were verified, so a
            # later change of the local file cannot be served under the old checksum
            name = file_name(path, given_name) if given_name else os.path.basename(path)
            dest = os.path.join(run_path, name)
            hashers = copy_file(path, dest, log, limits.max_size)
            problem = mismatch(hexdigests(hashers), want, path)
            if problem is None:
                how = f"its {' and '.join(sorted(want))} matches" if want else "no checksum was given to verify it"
                say(log, f"using the local file {path} ({how}); copied into the entry, not downloading")
                _publish(env, dest, name, url, hashers, os.path.getsize(dest), "local", want)
                return {"return": 0}
            _discard(dest)
            if not url:
                raise Failed(problem)
            say(log, f"{problem}; downloading {url} instead")
        elif not url:
            raise Failed(f"local file {path} not found (and no --url to download it from)")
        else:
            say(log, f"local file {path} not found; downloading {url}")

    name = file_name(url, given_name)
    dest = os.path.join(run_path, name)
    scheme = urllib.parse.urlparse(url).scheme.lower()
    if scheme == "file":
        hashers = copy_file_url(url, dest, log, limits.max_size)
        problem = mismatch(hexdigests(hashers), want, name)
        if problem:
            _discard(dest)
            raise Failed(f"{problem} (from {url}; the file was removed)")
        _publish(env, dest, name, url, hashers, os.path.getsize(dest), "file", want)
        return {"return": 0}
    if scheme not in ("http", "https"):
        raise Failed(f"cannot download {url}: unsupported URL scheme (use http://, https:// or file://)")

    slot = PartialSlot(url, run_path, name)
    try:
        t0 = time.monotonic()
        hashers, resumed = http_download(url, slot.part, name, log, limits)
        got = hexdigests(hashers)
        problem = mismatch(got, want, name)
        if problem:
            _discard(slot.part, slot.part + ".json")
            raise Failed(f"{problem} (downloaded from {url}; the file was removed)")
        size = os.path.getsize(slot.part)
        try:
            os.replace(slot.part, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            shutil.move(slot.part, dest)  # another file system: a copy, which may itself fail for space
        _discard(slot.part + ".json")
    finally:
        slot.release()
    log.info("downloaded %s (%s) in %.1f s", url, human(size), time.monotonic() - t0)
    _publish(env, dest, name, url, hashers, size, "resumed" if resumed else "downloaded", want)
    return {"return": 0}
