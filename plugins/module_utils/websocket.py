# -*- coding: utf-8 -*-
# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP/1.1 head parsing and WebSocket (RFC 6455) handshake and framing (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import re
import struct

__all__ = [
    'GUID', 'HTTPParseError', 'parse_status_line', 'parse_head', 'new_key', 'accept_for',
    'upgrade_request', 'encode_frame', 'decode_frame', 'OP_TEXT', 'OP_CLOSE', 'OP_PING', 'OP_PONG',
]

GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_STATUS_RE = re.compile(r'^HTTP/(\d)\.(\d) (\d{3})(?: (.*))?$')


class HTTPParseError(ValueError):
    """Bytes that are not an HTTP response head or a WebSocket frame."""


def parse_status_line(line):
    """``(version, status, reason)`` of ``HTTP/1.1 101 Switching Protocols``."""
    if isinstance(line, bytes):
        line = line.decode('iso-8859-1')
    line = line.rstrip('\r\n')
    match = _STATUS_RE.match(line)
    if not match:
        raise HTTPParseError('not an HTTP status line: %r' % line[:80])
    return '%s.%s' % (match.group(1), match.group(2)), int(match.group(3)), match.group(4) or ''


def parse_head(data):
    """Parse a response head (bytes up to and including the blank line).

    Returns ``(status, reason, headers)``; header names are lower-cased, repeated
    headers joined with ``, ``.
    """
    text = data.decode('iso-8859-1')
    lines = text.split('\r\n')
    _version, status, reason = parse_status_line(lines[0])
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        if ':' not in line:
            raise HTTPParseError('malformed header line: %r' % line[:80])
        name, value = line.split(':', 1)
        name = name.strip().lower()
        value = value.strip()
        headers[name] = headers[name] + ', ' + value if name in headers else value
    return status, reason, headers


def new_key(random_bytes):
    """``Sec-WebSocket-Key`` from 16 random bytes."""
    if len(random_bytes) != 16:
        raise ValueError('a WebSocket key is 16 random bytes')
    return base64.b64encode(random_bytes).decode('ascii')


def accept_for(key):
    """The ``Sec-WebSocket-Accept`` a server must answer to ``key``."""
    digest = hashlib.sha1((key + GUID).encode('ascii')).digest()
    return base64.b64encode(digest).decode('ascii')


def upgrade_request(target, host, key, origin=None, extra_headers=None):
    """Bytes of an HTTP/1.1 WebSocket upgrade request."""
    lines = [
        'GET %s HTTP/1.1' % target,
        'Host: %s' % host,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: %s' % key,
        'Sec-WebSocket-Version: 13',
    ]
    if origin:
        lines.append('Origin: %s' % origin)
    for name, value in (extra_headers or {}).items():
        lines.append('%s: %s' % (name, value))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('iso-8859-1')


def encode_frame(payload, opcode=OP_TEXT, mask_key=None, fin=True):
    """One frame; clients must pass a 4-byte ``mask_key``."""
    if isinstance(payload, str):
        payload = payload.encode('utf-8')
    head = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask_key is not None else 0
    length = len(payload)
    if length < 126:
        head.append(mask_bit | length)
    elif length < 65536:
        head.append(mask_bit | 126)
        head += struct.pack('!H', length)
    else:
        head.append(mask_bit | 127)
        head += struct.pack('!Q', length)
    if mask_key is not None:
        if len(mask_key) != 4:
            raise ValueError('mask key must be 4 bytes')
        head += mask_key
        payload = bytes(b ^ mask_key[i % 4] for i, b in enumerate(payload))
    return bytes(head) + payload


def decode_frame(data):
    """Decode the first frame of ``data``.

    Returns ``(fin, opcode, payload, consumed)`` or None when ``data`` does not
    yet hold a whole frame.
    """
    if len(data) < 2:
        return None
    fin = bool(data[0] & 0x80)
    opcode = data[0] & 0x0F
    masked = bool(data[1] & 0x80)
    length = data[1] & 0x7F
    pos = 2
    if length == 126:
        if len(data) < 4:
            return None
        length = struct.unpack('!H', data[2:4])[0]
        pos = 4
    elif length == 127:
        if len(data) < 10:
            return None
        length = struct.unpack('!Q', data[2:10])[0]
        pos = 10
    mask_key = None
    if masked:
        if len(data) < pos + 4:
            return None
        mask_key = data[pos:pos + 4]
        pos += 4
    if len(data) < pos + length:
        return None
    payload = bytes(data[pos:pos + length])
    if mask_key is not None:
        payload = bytes(b ^ mask_key[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload, pos + length
