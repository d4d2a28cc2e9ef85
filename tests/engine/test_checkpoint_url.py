"""Checkpoints from a URL (handkit.engine.download), against an HTTP server
on 127.0.0.1 that the test runs: a correct sha256 loads (and is cached); a
URL without a sha256, a wrong one, a redirect to another host and an
oversized download are each one line and leave no file behind."""
import hashlib
import http.server
import io
import os
import threading

import pytest
import torch

from handkit.apis import init_model
from handkit.engine.checkpoint import (CorruptCheckpointError,
                                       load_checkpoint_file)
from handkit.engine.download import CheckpointDownloadError
from handkit.tools import test as test_tool
from tiny_setup import exit_code, write_nsrm_layout, write_tiny_config


def _checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({'state_dict': {'weight': torch.arange(6.).reshape(2, 3)},
                'meta': {'epoch': 1, 'iter': 2}}, buffer)
    return buffer.getvalue()


class Server:
    """Serves ``files`` at /<name>; /redirect/<name> -> another host
    (``localhost`` for 127.0.0.1), /same/<name> -> /<name> (same host),
    /unsized/<name> without a Content-Length, /big/<name> announcing more
    bytes than it sends."""

    def __init__(self, files):
        self.files, self.requests = files, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                kind, _, name = self.path.lstrip('/').rpartition('/')
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                if kind in ('redirect', 'same'):
                    host = ('localhost' if kind == 'redirect' else
                            '127.0.0.1')
                    self.send_response(302)
                    self.send_header('Location', f'http://{host}:'
                                     f'{server.port}/{name}')
                    self.end_headers()
                    return
                self.send_response(200)
                if kind == 'big':
                    self.send_header('Content-Length', str(10 ** 12))
                elif kind != 'unsized':
                    self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if kind != 'big':
                    self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)

    def url(self, path):
        return f'http://127.0.0.1:{self.port}/{path}'


@pytest.fixture
def served(tmp_path, monkeypatch):
    """(server, checkpoint bytes, sha256) with HANDKIT_HOME in tmp_path."""
    monkeypatch.setenv('HANDKIT_HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('HANDKIT_MAX_DOWNLOAD_MB', raising=False)
    for name in ('http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY',
                 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    data = _checkpoint_bytes()
    digest = hashlib.sha256(data).hexdigest()
    server = Server({'model.pth': data, f'model-{digest[:8]}.pth': data})
    server.thread.start()
    yield server, data, digest
    server.httpd.shutdown()
    server.httpd.server_close()


def _cache(tmp_path):
    folder = tmp_path / 'home' / 'checkpoints'
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_a_url_with_the_right_sha256_downloads_once_and_loads(
        served, tmp_path):
    server, data, digest = served
    checkpoint = load_checkpoint_file(
        server.url('model.pth') + f'#sha256={digest}')
    assert torch.equal(checkpoint['state_dict']['weight'],
                       torch.arange(6.).reshape(2, 3))
    assert (tmp_path / 'home' / 'checkpoints' / 'model.pth').read_bytes() \
        == data
    assert server.requests == ['/model.pth']  # the fragment stays local
    load_checkpoint_file(server.url('model.pth') + f'#sha256={digest}')
    assert server.requests == ['/model.pth']  # cached: no second request
    # torch.hub's convention: the file name ends with a hash prefix
    name = f'model-{digest[:8]}.pth'
    assert load_checkpoint_file(server.url(name))['meta']['iter'] == 2
    # a redirect on the same host, and a download without Content-Length
    for path in ('same/model.pth', 'unsized/model.pth'):
        (tmp_path / 'home' / 'checkpoints' / 'model.pth').unlink()
        load_checkpoint_file(server.url(path) + f'#sha256={digest}')
    assert server.requests[-3:] == ['/same/model.pth', '/model.pth',
                                    '/unsized/model.pth']
    assert _cache(tmp_path) == sorted(['model.pth', name])


def test_a_wrong_sha256_is_one_line_and_keeps_nothing(served, tmp_path):
    server, _, digest = served
    wrong = '0' * 64
    url = server.url('model.pth') + f'#sha256={wrong}'
    with pytest.raises(CheckpointDownloadError) as error:
        load_checkpoint_file(url)
    assert str(error.value) == (
        f'checkpoint {url}: the downloaded file has sha256 {digest}, the '
        f'URL expects {wrong}; nothing was kept')
    assert _cache(tmp_path) == []
    # a cached file with another hash is downloaded again, not trusted
    folder = tmp_path / 'home' / 'checkpoints'
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'model.pth').write_bytes(b'tampered')
    load_checkpoint_file(server.url('model.pth') + f'#sha256={digest}')
    assert (folder / 'model.pth').read_bytes() != b'tampered'


def test_no_sha256_another_scheme_or_host_is_refused_in_one_line(
        served, tmp_path):
    server, _, digest = served
    url = server.url('model.pth')
    with pytest.raises(CheckpointDownloadError) as error:
        load_checkpoint_file(url)
    assert str(error.value) == (
        f'checkpoint {url}: handkit downloads a checkpoint only with its '
        'sha256; add #sha256=<64 hex digits> to the URL, or use a file name '
        'ending in -<the first 8 or more hex digits of its sha256>.pth, as '
        'torch.hub does')
    assert server.requests == []  # refused before any request
    with pytest.raises(CorruptCheckpointError, match='http'):
        load_checkpoint_file(f'ftp://127.0.0.1/model.pth#sha256={digest}')
    url = server.url('redirect/model.pth') + f'#sha256={digest}'
    with pytest.raises(CheckpointDownloadError) as error:
        load_checkpoint_file(url)
    assert str(error.value) == (
        f'checkpoint {url}: the server redirects to http://localhost:'
        f'{server.port}/model.pth, another host or an unencrypted URL, which '
        'handkit does not follow; download it yourself and pass the local '
        'file')
    assert '\n' not in str(error.value)
    assert server.requests == ['/redirect/model.pth']  # not followed
    with pytest.raises(CheckpointDownloadError,
                       match='the server answered 404'):
        load_checkpoint_file(server.url('none.pth') + f'#sha256={digest}')
    assert _cache(tmp_path) == []


def test_an_oversized_download_is_one_line_and_keeps_nothing(
        served, tmp_path, monkeypatch):
    server, data, digest = served
    url = server.url('big/model.pth') + f'#sha256={digest}'
    with pytest.raises(CheckpointDownloadError) as error:
        load_checkpoint_file(url)
    assert str(error.value) == (
        f'checkpoint {url}: the download is larger than the limit of '
        '2,147,483,648 bytes (HANDKIT_MAX_DOWNLOAD_MB raises it): the server '
        'announces 1,000,000,000,000 bytes')
    # no Content-Length: stopped once the limit is passed
    monkeypatch.setenv('HANDKIT_MAX_DOWNLOAD_MB', str(1000 / 2 ** 20))
    assert len(data) > 1000
    url = server.url('unsized/model.pth') + f'#sha256={digest}'
    with pytest.raises(CheckpointDownloadError) as error:
        load_checkpoint_file(url)
    assert str(error.value) == (
        f'checkpoint {url}: the download is larger than the limit of 1,000 '
        'bytes (HANDKIT_MAX_DOWNLOAD_MB raises it)')
    assert _cache(tmp_path) == []


def test_init_model_and_tools_test_take_a_url(served, tmp_path, capsys):
    server, _, _ = served
    write_nsrm_layout(tmp_path / 'data')
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data')
    torch.manual_seed(0)
    model = init_model(str(config))
    buffer = io.BytesIO()
    torch.save({'state_dict': model.state_dict()}, buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    server.files['tiny.pth'] = data
    url = server.url('tiny.pth') + f'#sha256={digest}'
    loaded = init_model(str(config), url)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    out = tmp_path / 'results.json'
    assert exit_code(test_tool.main, [config, url, '--work-dir',
                                      tmp_path / 'work', '--out', out]) == 0
    assert out.exists()
    capsys.readouterr()
    bad = server.url('tiny.pth') + '#sha256=' + '1' * 64
    assert exit_code(test_tool.main, [config, bad, '--work-dir',
                                      tmp_path / 'work2']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f'handkit: error: checkpoint {bad}: the '
                          'downloaded file has sha256')
    assert '\n' not in err
