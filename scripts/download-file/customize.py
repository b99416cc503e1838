"""download-file: fetch one file with requests, resuming interrupted transfers, and
verify its sha256/md5. Everything happens here, in Python: no user value ever
reaches a shell.

Partial downloads of http(s) URLs are kept outside the build folder, in
<cache root>/.partial-downloads/, one per URL, so that a run that was cut off
(or killed) continues where it stopped on the next run, with an HTTP Range
request (checked: the server must answer 206 for the same content, else the
download restarts from the beginning).
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
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
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return str(n)


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
def copy_file_url(url, dest, log):
    parsed = urllib.parse.urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise Failed(f"cannot download {url}: only local file:// URLs are supported")
    src = urllib.request.url2pathname(parsed.path)
    hashers = new_hashers()
    try:
        fin = open(src, "rb")
    except OSError as exc:
        raise Failed(f"cannot download {url}: {exc.strerror}") from None
    with fin, open(dest, "wb") as fout:
        st = os.fstat(fin.fileno())
        total = st.st_size if os.path.isfile(src) else None
        bar = Progress(os.path.basename(dest), total, 0, log)
        try:
            for block in iter(lambda: fin.read(1 << 20), b""):
                fout.write(block)
                for h in hashers.values():
                    h.update(block)
                bar.advance(len(block))
        finally:
            bar.close()
    return hashers


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


def http_download(url, part, label, log, retries, timeout):
    """Download url into part, resuming what part already holds. Returns (hashers, resumed)."""
    import requests
    import urllib3

    meta_path = part + ".json"
    meta = _load_meta(meta_path, url) if os.path.exists(part) else None
    if os.path.exists(part) and meta is None:
        _discard(part)  # a leftover of unknown origin: never append to it
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    validator = (meta or {}).get("validator")
    hashers = hash_file(part) if offset else new_hashers()
    if offset:
        say(log, f"found a partial download of {url} ({human(offset)}); resuming")
    session = requests.Session()
    session.headers.update({"User-Agent": "cmx-download-file", "Accept-Encoding": "identity"})
    attempts = 0
    resumed = False
    while True:
        headers = {}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator:
                headers["If-Range"] = validator
        try:
            resp = session.get(url, stream=True, headers=headers, timeout=(timeout, timeout))
        except requests.RequestException as exc:
            raise Failed(f"cannot download {url}: {reason(exc)}") from None
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
                    if attempts > retries + 1:
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
                with open(meta_path, "w", encoding="utf-8") as fh:
                    json.dump({"url": url, "validator": validator, "total": total}, fh)
            got = offset
            interrupted = None
            bar = Progress(label, total, offset, log)
            try:
                with open(part, mode) as fh:
                    for chunk in resp.iter_content(CHUNK):
                        fh.write(chunk)
                        for h in hashers.values():
                            h.update(chunk)
                        got += len(chunk)
                        bar.advance(len(chunk))
            except (requests.RequestException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
                interrupted = reason(exc)  # the connection broke: resume below
            except OSError as exc:
                raise Failed(f"cannot write {part}: {exc.strerror or exc}") from None
            finally:
                bar.close()
            if interrupted is None and total is not None and got < total:
                interrupted = f"connection closed after {got} of {total} bytes"
        if interrupted is None:
            break
        attempts += 1
        offset = got
        if attempts > retries:
            raise Failed(f"download of {url} interrupted after {got} bytes ({interrupted}); "
                         "the partial file is kept: run again to resume")
        say(log, f"download of {url} interrupted after {got} bytes ({interrupted}); "
                 f"resuming (attempt {attempts} of {retries})")
    return hashers, resumed


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


def _run(env, log, run_path):
    url = text(env, "CMX_DOWNLOAD_URL")
    local = text(env, "CMX_DOWNLOAD_LOCAL_PATH")
    want = expected_checksums(env)
    if not url and not local:
        raise Failed("nothing to download: give --url=URL (or --local_path=FILE)")
    given_name = text(env, "CMX_DOWNLOAD_FILENAME")
    try:
        retries = int(text(env, "CMX_DOWNLOAD_RETRIES") or 3)
        timeout = float(text(env, "CMX_DOWNLOAD_TIMEOUT") or 60)
    except ValueError:
        raise Failed("CMX_DOWNLOAD_RETRIES must be a whole number and CMX_DOWNLOAD_TIMEOUT a number of seconds") from None

    if local:
        path = os.path.abspath(os.path.expanduser(local))
        if os.path.isfile(path):
            hashers = hash_file(path)
            problem = mismatch(hexdigests(hashers), want, path)
            if problem is None:
                how = f"its {' and '.join(sorted(want))} matches" if want else "no checksum was given to verify it"
                say(log, f"using the local file {path} ({how}); not downloading")
                _publish(env, path, os.path.basename(path), url, hashers, os.path.getsize(path), "local", want)
                return {"return": 0}
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
        hashers = copy_file_url(url, dest, log)
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
        hashers, resumed = http_download(url, slot.part, name, log, retries, timeout)
        got = hexdigests(hashers)
        problem = mismatch(got, want, name)
        if problem:
            _discard(slot.part, slot.part + ".json")
            raise Failed(f"{problem} (downloaded from {url}; the file was removed)")
        size = os.path.getsize(slot.part)
        try:
            os.replace(slot.part, dest)
        except OSError:
            shutil.move(slot.part, dest)
        _discard(slot.part + ".json")
    finally:
        slot.release()
    log.info("downloaded %s (%s) in %.1f s", url, human(size), time.monotonic() - t0)
    _publish(env, dest, name, url, hashers, size, "resumed" if resumed else "downloaded", want)
    return {"return": 0}
