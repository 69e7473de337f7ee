# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for module tests: running main() and a local fake chat-server.

The fake chat-server speaks just enough HTTP/1.1, Engine.IO v4 polling,
Socket.IO connect and WebSocket upgrade to act like the real one (or like a
broken proxy in front of it), on 127.0.0.1 with a random port.
"""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import ssl
import subprocess
import threading
import time
import uuid

from urllib.parse import parse_qs

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.livechat.stack.plugins.module_utils import engineio
from ansible_collections.livechat.stack.plugins.module_utils import jwt_hs256
from ansible_collections.livechat.stack.plugins.module_utils import websocket


class AnsibleExitJson(Exception):
    """exit_json was called."""


class AnsibleFailJson(Exception):
    """fail_json was called."""


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's main() with args; returns (failed, result)."""

    def exit_json(self, **kwargs):  # pylint: disable=unused-argument
        raise AnsibleExitJson(kwargs)

    def fail_json(self, msg, **kwargs):  # pylint: disable=unused-argument
        kwargs['msg'] = msg
        kwargs['failed'] = True
        raise AnsibleFailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def run(main, args):
        with patch_module_args(args):
            try:
                main()
            except AnsibleExitJson as exc:
                return False, exc.args[0]
            except AnsibleFailJson as exc:
                return True, exc.args[0]
        raise AssertionError('module returned without exit_json or fail_json')

    return run


@pytest.fixture
def run_module_output(capsys):
    """Run main() through the real exit path; returns the JSON the controller would receive."""

    def run(main, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                main()
        out = capsys.readouterr().out
        return out, json.loads(out)

    return run


SECRET = 'unit-test-secret-0123456789-abcdefghijklmnop'


class Behaviour(object):
    """How the fake server answers; tests change attributes."""

    def __init__(self):
        self.health_status = 200
        self.health_body = {'status': 'ok', 'db': 'ok', 'release': 'r1', 'uptime': 1.5}
        self.health_fail_first = 0
        self.health_chunked = False
        self.bad_gateway = False
        self.redirect_to = None
        self.missing_paths = set()
        self.garbage_paths = set()
        self.allowed_origins = {}
        self.connect_origins = {}
        self.websocket = 'ok'
        self.secret = SECRET
        self.ping_first = False
        self.silent_connect = False
        self.namespace = '/'


class _Handler(socketserver.StreamRequestHandler):

    def _send(self, status, reason, body=b'', headers=None):
        if isinstance(body, str):
            body = body.encode('utf-8')
        head = ['HTTP/1.1 %d %s' % (status, reason)]
        hdrs = {'Content-Type': 'text/plain; charset=UTF-8', 'Connection': 'close'}
        hdrs.update(headers or {})
        chunked = hdrs.pop('X-Chunked', None)
        if chunked:
            hdrs['Transfer-Encoding'] = 'chunked'
            mid = len(body) // 2
            body = b''.join(b'%x\r\n%s\r\n' % (len(part), part) for part in (body[:mid], body[mid:]) if part) + b'0\r\n\r\n'
        else:
            hdrs['Content-Length'] = str(len(body))
        head += ['%s: %s' % kv for kv in hdrs.items()]
        self.wfile.write(('\r\n'.join(head) + '\r\n\r\n').encode('latin-1') + body)

    def handle(self):
        line = self.rfile.readline().decode('latin-1').rstrip('\r\n')
        if not line:
            return
        method, target, _version = line.split(' ', 2)
        headers = {}
        while True:
            hline = self.rfile.readline().decode('latin-1').rstrip('\r\n')
            if not hline:
                break
            name, value = hline.split(':', 1)
            headers[name.strip().lower()] = value.strip()
        body = self.rfile.read(int(headers.get('content-length', 0) or 0)).decode('utf-8')
        srv = self.server
        srv.log.append(dict(method=method, target=target, headers=headers, body=body))
        beh = srv.behaviour
        if beh.redirect_to:
            return self._send(301, 'Moved Permanently', '<html>301</html>', {'Location': beh.redirect_to + target})
        if beh.bad_gateway:
            return self._send(502, 'Bad Gateway', '<html><center>502 Bad Gateway</center></html>')
        path, _sep, query = target.partition('?')
        if path == '/chat/health':
            return self._health()
        base = path.rstrip('/')
        if base not in ('/ws-visitor', '/ws-admin') or path != base + '/' or base in beh.missing_paths:
            return self._send(404, 'Not Found', '<html>404 Not Found</html>')
        if base in beh.garbage_paths:
            return self._send(200, 'OK', '<!DOCTYPE html><html>the site</html>', {'Content-Type': 'text/html'})
        allowed = beh.allowed_origins.get(base)
        if allowed is not None and headers.get('origin') not in allowed:
            return self._send(403, 'Forbidden', '{"code":4,"message":"Forbidden"}', {'Content-Type': 'application/json'})
        cors = {'Access-Control-Allow-Origin': headers['origin']} if headers.get('origin') else {}
        q = dict((k, v[0]) for k, v in parse_qs(query).items())
        if q.get('EIO') != '4':
            return self._send(400, 'Bad Request', '{"code":5,"message":"Unsupported protocol version"}')
        if q.get('transport') == 'websocket':
            return self._websocket(headers)
        if 'sid' not in q:
            sid = uuid.uuid4().hex[:20]
            srv.sessions[sid] = []
            srv.session_paths[sid] = base
            open_data = json.dumps({'sid': sid, 'upgrades': ['websocket'], 'pingInterval': 25000,
                                    'pingTimeout': 20000, 'maxPayload': 1000000})
            if beh.ping_first:
                srv.sessions[sid].append('2')
            return self._send(200, 'OK', '0' + open_data, cors)
        sid = q['sid']
        if sid not in srv.sessions:
            return self._send(400, 'Bad Request', '{"code":1,"message":"Session ID unknown"}')
        if method == 'POST':
            for ptype, data in engineio.decode_payload(body):
                if ptype == engineio.CLOSE:
                    srv.sessions.pop(sid, None)
                elif ptype == engineio.PONG:
                    srv.pongs += 1
                elif ptype == engineio.MESSAGE:
                    sio_type, ns, auth = engineio.decode_sio(data)
                    if sio_type == 1:
                        srv.disconnects += 1
                    if sio_type == 0 and not beh.silent_connect:
                        srv.sessions.get(sid, []).append('4' + self._connect_answer(base, ns, auth, headers, sid))
            return self._send(200, 'OK', 'ok', cors)
        end = time.monotonic() + 1.0
        while not srv.sessions.get(sid) and time.monotonic() < end:
            time.sleep(0.01)
        packets = srv.sessions.get(sid) or ['6']
        srv.sessions[sid] = []
        return self._send(200, 'OK', engineio.encode_payload(packets), cors)

    def _connect_answer(self, base, ns, auth, headers, sid):
        """Like the reference chat-server: origin gate, then (agents) the token."""
        srv = self.server
        beh = srv.behaviour
        srv.connects.append(base)
        allowed = beh.connect_origins.get(base)
        if allowed is not None and headers.get('origin') not in allowed:
            key = 'CHAT_ALLOWED_ORIGINS' if base == '/ws-visitor' else 'ADMIN_ALLOWED_ORIGINS'
            return engineio.encode_sio(4, ns, {
                'message': 'origin refused: %s is not in %s' % (headers.get('origin'), key),
                'data': {'reason': 'origin', 'origin': headers.get('origin'), 'key': key}})
        if base == '/ws-admin':
            srv.tokens.append((auth or {}).get('token'))
            try:
                claims = jwt_hs256.verify((auth or {}).get('token') or '', beh.secret, now=time.time())
                if claims.get('role') != 'admin':
                    raise jwt_hs256.JWTError('token role is not admin')
            except jwt_hs256.JWTError as exc:
                return engineio.encode_sio(4, ns, {'message': 'unauthorized: %s' % exc,
                                                   'data': {'reason': 'token', 'detail': str(exc)}})
        return engineio.encode_sio(0, ns, {'sid': 'sock-' + sid}) + '\x1e' + '42["visitor:ready",{}]'

    def _health(self):
        beh = self.server.behaviour
        self.server.health_hits += 1
        extra = {'Content-Type': 'application/json; charset=utf-8'}
        if beh.health_chunked:
            extra['X-Chunked'] = '1'
        if self.server.health_hits <= beh.health_fail_first:
            return self._send(503, 'Service Unavailable',
                              json.dumps({'status': 'error', 'db': 'down', 'release': 'r1'}), extra)
        reasons = {200: 'OK', 404: 'Not Found', 503: 'Service Unavailable'}
        body = beh.health_body if isinstance(beh.health_body, str) else json.dumps(beh.health_body)
        return self._send(beh.health_status, reasons.get(beh.health_status, 'X'), body, extra)

    def _websocket(self, headers):
        mode = self.server.behaviour.websocket
        if mode == 'no-upgrade' or headers.get('upgrade', '').lower() != 'websocket':
            # what engine.io answers when a proxy dropped the Upgrade header
            return self._send(400, 'Bad Request', '{"code":3,"message":"Bad request"}')
        accept = websocket.accept_for(headers['sec-websocket-key'])
        if mode == 'bad-accept':
            accept = websocket.accept_for('something else')
        self.wfile.write(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                          'Sec-WebSocket-Accept: %s\r\n\r\n' % accept).encode('latin-1'))
        if mode == 'no-open':
            return None
        self.wfile.write(websocket.encode_frame('0{"sid":"ws1","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'))
        self.wfile.flush()
        try:
            data = self.request.recv(64)
        except OSError:  # the client may reset right after its close frame
            data = b''
        frame = websocket.decode_frame(data)
        if frame:
            self.server.ws_close_frames.append(frame[1])
        return None


class FakeChatServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls_context=None):
        socketserver.TCPServer.__init__(self, ('127.0.0.1', 0), _Handler)
        self.behaviour = Behaviour()
        self.tls_context = tls_context
        self.log = []
        self.sessions = {}
        self.session_paths = {}
        self.connects = []
        self.disconnects = 0
        self.tokens = []
        self.pongs = 0
        self.health_hits = 0
        self.ws_close_frames = []

    def get_request(self):
        sock, addr = socketserver.TCPServer.get_request(self)
        sock.settimeout(5)
        if self.tls_context is not None:
            sock = self.tls_context.wrap_socket(sock, server_side=True)
        return sock, addr

    @property
    def url(self):
        scheme = 'https' if self.tls_context is not None else 'http'
        return '%s://127.0.0.1:%d' % (scheme, self.server_address[1])


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05})
    thread.daemon = True
    thread.start()
    return thread


@pytest.fixture
def chat_server():
    server = FakeChatServer()
    _serve(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='session')
def tls_files(tmp_path_factory):
    """A self-signed certificate for chat.example.test (needs the openssl CLI)."""
    if not shutil.which('openssl'):
        pytest.skip('openssl CLI not available')
    d = tmp_path_factory.mktemp('tls')
    cert, key = str(d / 'cert.pem'), str(d / 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '2', '-subj', '/CN=chat.example.test',
                    '-addext', 'subjectAltName=DNS:chat.example.test'],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_chat_server(tls_files):
    cert, key = tls_files
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = FakeChatServer(tls_context=ctx)
    _serve(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port():
    """A 127.0.0.1 port nothing listens on."""
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def file_mode(path):
    return oct(os.stat(path).st_mode & 0o7777)
