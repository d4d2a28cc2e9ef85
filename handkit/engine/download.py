"""Checkpoints from a URL, for users with internet: downloaded once into
``$HANDKIT_HOME/checkpoints/`` and checked against a sha256 that the URL
must carry, then loaded like a local file
(:func:`handkit.engine.checkpoint.load_checkpoint_file`).

The sha256 comes with the URL, as torch.hub names its files:

* ``https://host/path/model.pth#sha256=<64 hex digits>``: the whole hash;
* ``https://host/path/model-<hex>.pth``: the file name ends with ``-`` and at
  least 8 leading hex digits of the sha256 (torch.hub's ``check_hash``
  convention, e.g. ``resnet18-f37072fd.pth``).

A URL without either is refused before anything is downloaded. What else is
refused, each in one line (:class:`CheckpointDownloadError`), leaving no
file behind (the download goes to a hidden temporary beside its target,
:func:`handkit.fileio.atomic_output`):

* a scheme other than http / https;
* a redirect to another host, or from https to http;
* a download over :func:`max_download_bytes` (``HANDKIT_MAX_DOWNLOAD_MB``,
  default 2048 MB): by its Content-Length before reading, or once that many
  bytes arrived;
* a file whose sha256 differs from the URL's;
* an HTTP error or a network failure.

A file already in the cache is used when its sha256 matches (no network);
otherwise it is downloaded again. The cache is flat, by file name, as
torch.hub's.
"""
import hashlib
import os
import os.path as osp
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional, Tuple

from handkit.errors import HandkitUserError
from handkit.fileio import atomic_output, handkit_home

#: Default largest download, in bytes (``HANDKIT_MAX_DOWNLOAD_MB``
#: overrides it): handkit's largest checkpoint (NSRM with its optimiser
#: state) is about 0.45 GB.
MAX_DOWNLOAD_BYTES = 2048 * 1024 * 1024

# torch.hub: ``<name>-<first hex digits of the sha256>.<ext>``
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')
HASH_IN_FRAGMENT = re.compile(r'^sha256=([0-9a-fA-F]{64})$')
CHUNK = 1 << 20


class CheckpointDownloadError(HandkitUserError, ValueError):
    """A checkpoint URL that handkit does not download or whose download
    does not match its sha256."""


def max_download_bytes() -> int:
    """``$HANDKIT_MAX_DOWNLOAD_MB`` MB, else :data:`MAX_DOWNLOAD_BYTES`."""
    value = os.environ.get('HANDKIT_MAX_DOWNLOAD_MB')
    if not value:
        return MAX_DOWNLOAD_BYTES
    try:
        return int(float(value) * 1024 * 1024)
    except ValueError:
        raise CheckpointDownloadError(
            f'HANDKIT_MAX_DOWNLOAD_MB={value!r} is not a number of '
            'megabytes') from None


def checkpoints_dir() -> str:
    """``$HANDKIT_HOME/checkpoints`` (not created here)."""
    return osp.join(handkit_home(), 'checkpoints')


def url_sha256(url: str) -> Tuple[str, str]:
    """(file name, the sha256 or its leading hex digits) of a checkpoint URL.

    Raises:
        CheckpointDownloadError: not http(s), no file name, or no sha256.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ('http', 'https') or not parts.hostname:
        raise CheckpointDownloadError(
            f'checkpoint {url}: handkit downloads http and https URLs only')
    name = osp.basename(urllib.parse.unquote(parts.path))
    if not name or name in ('.', '..'):
        raise CheckpointDownloadError(
            f'checkpoint {url}: the URL names no file')
    fragment = HASH_IN_FRAGMENT.match(parts.fragment)
    if fragment:
        return name, fragment.group(1).lower()
    in_name = HASH_IN_NAME.search(name)
    if in_name:
        return name, in_name.group(1)
    raise CheckpointDownloadError(
        f'checkpoint {url}: handkit downloads a checkpoint only with its '
        'sha256; add #sha256=<64 hex digits> to the URL, or use a file name '
        'ending in -<the first 8 or more hex digits of its sha256>.pth, as '
        'torch.hub does')


def _sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same host, never from https to http."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self.host, self.scheme = parts.hostname, parts.scheme.lower()

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = urllib.parse.urlsplit(newurl)
        if new.hostname != self.host or (self.scheme == 'https'
                                         and new.scheme.lower() != 'https'):
            raise CheckpointDownloadError(
                f'checkpoint {self.url}: the server redirects to {newurl}, '
                f'another host or an unencrypted URL, which handkit does not '
                'follow; download it yourself and pass the local file')
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download_checkpoint(url: str, timeout: float = 60.0,
                        folder: Optional[str] = None) -> str:
    """The local path of the checkpoint at ``url``: from the cache when its
    sha256 matches, else downloaded (module doc for what is refused).

    Raises:
        CheckpointDownloadError: one line (module doc).
    """
    name, expected = url_sha256(url)
    folder = folder or checkpoints_dir()
    target = osp.join(folder, name)
    if osp.isfile(target) and _sha256_of(target).startswith(expected):
        return target
    limit = max_download_bytes()
    os.makedirs(folder, exist_ok=True)
    opener = urllib.request.build_opener(_SameHostRedirects(url))
    request = urllib.request.Request(urllib.parse.urldefrag(url)[0],
                                     headers={'User-Agent': 'handkit'})
    too_big = (f'checkpoint {url}: the download is larger than the limit of '
               f'{limit:,} bytes (HANDKIT_MAX_DOWNLOAD_MB raises it)')
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get('Content-Length')
            if length and length.isdigit() and int(length) > limit:
                raise CheckpointDownloadError(
                    f'{too_big}: the server announces {int(length):,} bytes')
            digest, size = hashlib.sha256(), 0
            with atomic_output(target) as temporary:
                with open(temporary, 'wb') as file:
                    for chunk in iter(lambda: response.read(CHUNK), b''):
                        size += len(chunk)
                        if size > limit:
                            raise CheckpointDownloadError(too_big)
                        digest.update(chunk)
                        file.write(chunk)
                if not digest.hexdigest().startswith(expected):
                    raise CheckpointDownloadError(
                        f'checkpoint {url}: the downloaded file has sha256 '
                        f'{digest.hexdigest()}, the URL expects '
                        f'{expected}{"" if len(expected) == 64 else "..."}; '
                        'nothing was kept')
    except urllib.error.HTTPError as error:
        raise CheckpointDownloadError(
            f'checkpoint {url}: the server answered {error.code} '
            f'{error.reason}') from None
    except urllib.error.URLError as error:
        raise CheckpointDownloadError(
            f'checkpoint {url}: cannot download it ({error.reason})') from None
    except (TimeoutError, ConnectionError) as error:
        raise CheckpointDownloadError(
            f'checkpoint {url}: the download failed ({error})') from None
    return target
