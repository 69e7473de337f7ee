# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.livechat.stack.plugins.module_utils import websocket


def test_accept_key_rfc6455_example():
    # RFC 6455 section 1.3
    assert websocket.accept_for('dGhlIHNhbXBsZSBub25jZQ==') == 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
    assert websocket.new_key(b'the sample nonce') == 'dGhlIHNhbXBsZSBub25jZQ=='


@pytest.mark.parametrize('line, expected', [
    ('HTTP/1.1 101 Switching Protocols', ('1.1', 101, 'Switching Protocols')),
    (b'HTTP/1.1 502 Bad Gateway\r\n', ('1.1', 502, 'Bad Gateway')),
    ('HTTP/1.0 200', ('1.0', 200, '')),
])
def test_parse_status_line(line, expected):
    assert websocket.parse_status_line(line) == expected


@pytest.mark.parametrize('line', ['', 'HTTP/1.1 OK', 'SSH-2.0-OpenSSH', 'HTTP/1.1 99 x', '<html>'])
def test_parse_status_line_refuses(line):
    with pytest.raises(websocket.HTTPParseError):
        websocket.parse_status_line(line)


def test_parse_head():
    head = (b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            b'Sec-WebSocket-Accept: abc=\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n')
    status, reason, headers = websocket.parse_head(head)
    assert status == 101 and reason == 'Switching Protocols'
    assert headers['upgrade'] == 'websocket' and headers['sec-websocket-accept'] == 'abc='
    assert headers['set-cookie'] == 'a=1, b=2'


def test_upgrade_request_bytes():
    req = websocket.upgrade_request('/ws-visitor/?EIO=4&transport=websocket', 'admin1167.com', 'KEY', 'https://admin1167.com')
    assert req.startswith(b'GET /ws-visitor/?EIO=4&transport=websocket HTTP/1.1\r\nHost: admin1167.com\r\n')
    assert b'\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' in req
    assert b'Origin: https://admin1167.com\r\n' in req and req.endswith(b'\r\n\r\n')


@pytest.mark.parametrize('size', [0, 5, 125, 126, 65535, 65536])
@pytest.mark.parametrize('mask', [None, b'\x01\x02\x03\x04'])
def test_frame_round_trip(size, mask):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = websocket.encode_frame(payload, websocket.OP_TEXT, mask_key=mask)
    assert websocket.decode_frame(frame) == (True, websocket.OP_TEXT, payload, len(frame))
    assert websocket.decode_frame(frame[:-1] if size else frame[:1]) is None
    assert websocket.decode_frame(frame + b'\x81\x00')[3] == len(frame)


def test_masked_frame_is_masked_on_the_wire():
    frame = websocket.encode_frame('hello', mask_key=b'\xff\xff\xff\xff')
    assert b'hello' not in frame and frame[1] & 0x80
