# -*- coding: utf-8 -*-
# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Probes of a Live Chat chat-server (standard library only).

Each probe returns a dict describing what it saw; errors of the server being
checked are data (``ok: false``, ``status``, ``error``), never exceptions.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import time

from urllib.parse import urlsplit

from ansible_collections.livechat.stack.plugins.module_utils import engineio
from ansible_collections.livechat.stack.plugins.module_utils import websocket

__all__ = ['Target', 'probe_health', 'probe_handshake', 'probe_websocket', 'probe_connect', 'probe_admin_auth']


def _describe(exc):
    """Short text for a connection-level exception."""
    if isinstance(exc, ConnectionRefusedError):
        return 'connection refused'
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return 'timed out'
    if isinstance(exc, ssl.SSLCertVerificationError):
        return 'TLS certificate verification failed: %s' % (exc.verify_message or exc)
    if isinstance(exc, ssl.SSLError):
        return 'TLS error: %s' % exc
    if isinstance(exc, socket.gaierror):
        return 'name resolution failed: %s' % exc
    if isinstance(exc, http.client.HTTPException):
        return 'bad HTTP response: %s' % (exc.__class__.__name__ if not str(exc) else exc)
    return '%s: %s' % (exc.__class__.__name__, exc)


class _SNIHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS connection to an address with its own TLS server name (SNI and certificate check)."""

    def __init__(self, host, port, server_name, context, timeout):
        http.client.HTTPSConnection.__init__(self, host, port, timeout=timeout, context=context)
        self._server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


class Response(object):
    """What an HTTP request returned."""

    def __init__(self, status, reason, headers, body, latency_ms):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.latency_ms = latency_ms


class Target(object):
    """Where to connect and how to present ourselves (base URL, Host, TLS)."""

    def __init__(self, url, host_header=None, validate_certs=True, ca_path=None,
                 server_name=None, timeout=10.0):
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError('url must be http:// or https:// with a host: %r' % url)
        self.scheme = parts.scheme
        self.address = parts.hostname
        self.port = parts.port or (443 if parts.scheme == 'https' else 80)
        self.prefix = parts.path.rstrip('/')
        self.host_header = host_header or parts.netloc
        if server_name:
            self.server_name = server_name
        elif host_header:
            self.server_name = urlsplit('//' + host_header).hostname or self.address
        else:
            self.server_name = self.address
        self.timeout = float(timeout)
        self.context = None
        if self.scheme == 'https':
            if validate_certs:
                self.context = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
            else:
                self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE
        self.cookies = {}

    def url_for(self, target):
        return '%s://%s%s%s' % (self.scheme, self.host_header, self.prefix, target)

    def _connection(self):
        if self.scheme == 'https':
            return _SNIHTTPSConnection(self.address, self.port, self.server_name, self.context, self.timeout)
        return http.client.HTTPConnection(self.address, self.port, timeout=self.timeout)

    def request(self, method, target, headers=None, body=None):
        """One HTTP/1.1 request (connection closed after it); raises on connection errors."""
        all_headers = {'Host': self.host_header, 'User-Agent': 'livechat.stack-chat_health',
                       'Accept': '*/*', 'Connection': 'close'}
        if self.cookies:
            all_headers['Cookie'] = '; '.join('%s=%s' % kv for kv in sorted(self.cookies.items()))
        all_headers.update(headers or {})
        conn = self._connection()
        start = time.monotonic()
        try:
            conn.request(method, self.prefix + target, body=body, headers=all_headers)
            resp = conn.getresponse()
            data = resp.read()
            latency = round((time.monotonic() - start) * 1000.0, 1)
            for cookie in resp.headers.get_all('Set-Cookie') or []:
                pair = cookie.split(';', 1)[0]
                if '=' in pair:
                    name, value = pair.split('=', 1)
                    self.cookies[name.strip()] = value.strip()
            headers_out = dict((k.lower(), v) for k, v in resp.getheaders())
            return Response(resp.status, resp.reason, headers_out,
                            data.decode('utf-8', 'replace'), latency)
        finally:
            conn.close()

    def open_socket(self):
        """A connected (TLS-wrapped for https) socket with the target's timeout."""
        sock = socket.create_connection((self.address, self.port), self.timeout)
        if self.scheme == 'https':
            try:
                sock = self.context.wrap_socket(sock, server_hostname=self.server_name)
            except Exception:
                sock.close()
                raise
        sock.settimeout(self.timeout)
        return sock


def _body_excerpt(body, limit=160):
    """One line describing a response body: an HTML page's <title>, else its first words."""
    match = re.search(r'<title>(.*?)</title>', body, re.I | re.S)
    text = match.group(1) if match else body
    text = ' '.join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _redirect_note(resp):
    """`` (Location: ...)`` for a redirect, such as an http -> https rewrite in front of the site."""
    if 300 <= resp.status < 400 and resp.headers.get('location'):
        return ' (Location: %s)' % resp.headers['location']
    return ''


def probe_health(target, path='/chat/health', expect_release=None):
    """``GET <path>``: 200 and, when the body is JSON, ``status == "ok"`` (and the expected release)."""
    result = dict(ok=False, url=target.url_for(path), status=None, latency_ms=None, body=None,
                  release=None, error=None)
    try:
        resp = target.request('GET', path)
    except Exception as exc:  # pylint: disable=broad-except
        result['error'] = _describe(exc)
        return result
    result['status'] = resp.status
    result['latency_ms'] = resp.latency_ms
    try:
        body = json.loads(resp.body)
    except ValueError:
        body = resp.body[:2000]
    result['body'] = body
    if isinstance(body, dict):
        result['release'] = body.get('release')
    if resp.status != 200:
        detail = ''
        if isinstance(body, dict) and body.get('db') not in (None, 'ok'):
            detail = ' (db: %s)' % body.get('db')
        result['error'] = 'HTTP %s %s%s%s' % (resp.status, resp.reason, detail, _redirect_note(resp))
        return result
    if isinstance(body, dict) and 'status' in body and body['status'] != 'ok':
        result['error'] = 'health status is %r' % body['status']
        return result
    if expect_release is not None and result['release'] != expect_release:
        result['error'] = 'release %r answers, expected %r' % (result['release'], expect_release)
        return result
    result['ok'] = True
    return result


def _origin_headers(origin):
    return {'Origin': origin} if origin else {}


def _open_session(target, path, origin, result):
    """Polling handshake; fills ``result`` and returns the open packet dict or None."""
    try:
        resp = target.request('GET', engineio.query_path(path, 'polling'), headers=_origin_headers(origin))
    except Exception as exc:  # pylint: disable=broad-except
        result['error'] = _describe(exc)
        return None
    result['status'] = resp.status
    result['latency_ms'] = resp.latency_ms
    result['allow_origin'] = resp.headers.get('access-control-allow-origin')
    if resp.status != 200:
        excerpt = _body_excerpt(resp.body)
        result['error'] = 'HTTP %s %s%s%s' % (resp.status, resp.reason, _redirect_note(resp),
                                              ': ' + excerpt if excerpt else '')
        return None
    try:
        packets = engineio.decode_payload(resp.body)
        if not packets or packets[0][0] != engineio.OPEN:
            raise engineio.EngineIOError('first packet is not an open packet: %r' % resp.body[:80])
        info = engineio.parse_open(packets[0][1])
    except engineio.EngineIOError as exc:
        result['error'] = 'not an Engine.IO handshake: %s' % exc
        return None
    return info


def probe_handshake(target, path, origin=None):
    """Engine.IO v4 polling handshake on ``path`` (``GET <path>/?EIO=4&transport=polling``)."""
    result = dict(ok=False, path=path, origin=origin, status=None, sid=None, upgrades=None,
                  ping_interval=None, ping_timeout=None, allow_origin=None, latency_ms=None, error=None)
    info = _open_session(target, path, origin, result)
    if info is None:
        return result
    result.update(ok=True, sid=info['sid'], upgrades=info.get('upgrades'),
                  ping_interval=info.get('pingInterval'), ping_timeout=info.get('pingTimeout'))
    _close_session(target, path, origin, info['sid'])
    return result


def _close_session(target, path, origin, sid):
    """Best effort: tell the server the session is over."""
    try:
        headers = {'Content-Type': 'text/plain;charset=UTF-8'}
        headers.update(_origin_headers(origin))
        target.request('POST', engineio.query_path(path, 'polling', sid=sid),
                       headers=headers, body=engineio.encode_packet(engineio.CLOSE).encode('utf-8'))
    except Exception:  # pylint: disable=broad-except
        pass


def _recv_until(sock, marker, limit=65536):
    data = b''
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            break
    return data


def probe_websocket(target, path, origin=None):
    """WebSocket upgrade on ``<path>/?EIO=4&transport=websocket``: 101, a valid accept key and an open packet."""
    result = dict(ok=False, path=path, origin=origin, status=None, error=None)
    key = websocket.new_key(os.urandom(16))
    request = websocket.upgrade_request(target.prefix + engineio.query_path(path, 'websocket'),
                                        target.host_header, key, origin)
    try:
        sock = target.open_socket()
    except Exception as exc:  # pylint: disable=broad-except
        result['error'] = _describe(exc)
        return result
    try:
        sock.sendall(request)
        data = _recv_until(sock, b'\r\n\r\n')
        if b'\r\n\r\n' not in data:
            result['error'] = 'connection closed before a complete response head'
            return result
        head, rest = data.split(b'\r\n\r\n', 1)
        status, reason, headers = websocket.parse_head(head + b'\r\n\r\n')
        result['status'] = status
        if status != 101:
            result['error'] = 'HTTP %s %s instead of 101 Switching Protocols' % (status, reason)
            return result
        if headers.get('upgrade', '').lower() != 'websocket':
            result['error'] = '101 without Upgrade: websocket'
            return result
        if headers.get('sec-websocket-accept') != websocket.accept_for(key):
            result['error'] = '101 with a wrong Sec-WebSocket-Accept'
            return result
        frame = websocket.decode_frame(rest)
        while frame is None:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
            frame = websocket.decode_frame(rest)
        if frame is None or frame[1] != websocket.OP_TEXT:
            result['error'] = 'upgraded, but no Engine.IO open packet arrived'
            return result
        try:
            ptype, data = engineio.decode_packet(frame[2].decode('utf-8'))
            if ptype != engineio.OPEN:
                raise engineio.EngineIOError('first packet is not an open packet')
            engineio.parse_open(data)
        except (engineio.EngineIOError, UnicodeDecodeError) as exc:
            result['error'] = 'upgraded, but not to Engine.IO: %s' % exc
            return result
        result['ok'] = True
        try:
            sock.sendall(websocket.encode_frame(b'\x03\xe8', websocket.OP_CLOSE, mask_key=os.urandom(4)))
        except OSError:
            pass
        return result
    except Exception as exc:  # pylint: disable=broad-except
        result['error'] = _describe(exc)
        return result
    finally:
        sock.close()


def probe_connect(target, path, origin, auth=None, namespace='/', deadline=None):
    """Socket.IO connect on ``path``: ``40`` accepted, ``44`` connect_error refused.

    ``auth`` is the handshake's ``auth`` object (``{"token": ...}`` for agents).
    The refusal's message and ``data.reason`` (for example ``origin`` or
    ``token``) are returned so the caller can name the cause.
    """
    result = dict(ok=False, path=path, namespace=namespace, origin=origin, status=None, error=None,
                  reason=None, message=None)
    info = _open_session(target, path, origin, result)
    if info is None:
        result['error'] = 'handshake failed: %s' % result['error']
        return result
    result.pop('allow_origin', None)
    result.pop('latency_ms', None)
    sid = info['sid']
    headers = {'Content-Type': 'text/plain;charset=UTF-8'}
    headers.update(_origin_headers(origin))
    target_path = engineio.query_path(path, 'polling', sid=sid)
    connect = engineio.encode_packet(engineio.MESSAGE, engineio.encode_sio(engineio.SIO_CONNECT, namespace, auth))
    end = deadline if deadline is not None else time.monotonic() + target.timeout
    connected = False
    try:
        resp = target.request('POST', target_path, headers=headers, body=connect.encode('utf-8'))
        if resp.status != 200:
            result['status'] = resp.status
            result['error'] = 'connect packet refused: HTTP %s %s' % (resp.status, resp.reason)
            return result
        while time.monotonic() < end:
            resp = target.request('GET', target_path, headers=_origin_headers(origin))
            result['status'] = resp.status
            if resp.status != 200:
                result['error'] = 'polling failed: HTTP %s %s' % (resp.status, resp.reason)
                return result
            for ptype, data in engineio.decode_payload(resp.body):
                if ptype == engineio.PING:
                    target.request('POST', target_path, headers=headers,
                                   body=engineio.encode_packet(engineio.PONG).encode('utf-8'))
                elif ptype == engineio.CLOSE:
                    result['error'] = 'server closed the session'
                    return result
                elif ptype == engineio.MESSAGE:
                    sio_type, sio_ns, sio_data = engineio.decode_sio(data)
                    if sio_ns != namespace:
                        continue
                    if sio_type == engineio.SIO_CONNECT:
                        result['ok'] = connected = True
                        return result
                    if sio_type == engineio.SIO_CONNECT_ERROR:
                        message = sio_data.get('message') if isinstance(sio_data, dict) else sio_data
                        extra = sio_data.get('data') if isinstance(sio_data, dict) else None
                        result['message'] = message
                        if isinstance(extra, dict) and isinstance(extra.get('reason'), str):
                            result['reason'] = extra['reason']
                        result['error'] = 'connect refused (connect_error: %s)' % message
                        return result
        result['error'] = 'no answer to the connect packet in time'
        return result
    except Exception as exc:  # pylint: disable=broad-except
        result['error'] = _describe(exc)
        return result
    finally:
        if connected:
            _post_quietly(target, target_path, headers,
                          engineio.encode_packet(engineio.MESSAGE, engineio.encode_sio(engineio.SIO_DISCONNECT, namespace)))
        _close_session(target, path, origin, sid)


def _post_quietly(target, target_path, headers, packet):
    try:
        target.request('POST', target_path, headers=headers, body=packet.encode('utf-8'))
    except Exception:  # pylint: disable=broad-except
        pass


def probe_admin_auth(target, path, origin, token, namespace='/', deadline=None):
    """Agent connect on ``path`` with ``auth: {token}``."""
    return probe_connect(target, path, origin, {'token': token}, namespace, deadline)
