# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.livechat.stack.plugins.module_utils import engineio

OPEN = '0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'


def test_decode_open_payload():
    packets = engineio.decode_payload(OPEN)
    assert packets[0][0] == engineio.OPEN
    info = engineio.parse_open(packets[0][1])
    assert info['sid'] == 'abc' and info['upgrades'] == ['websocket']


@pytest.mark.parametrize('body, expected', [
    ('', []),
    ('2', [('2', '')]),
    ('40{"sid":"x"}\x1e2', [('4', '0{"sid":"x"}'), ('2', '')]),
    ('6\x1e6', [('6', ''), ('6', '')]),
])
def test_decode_payload(body, expected):
    assert engineio.decode_payload(body) == expected
    assert engineio.encode_payload([engineio.encode_packet(t, d) for t, d in expected]) == body


@pytest.mark.parametrize('body', ['<html>404</html>', '9', '{"code":0}'])
def test_decode_payload_refuses_non_engineio(body):
    with pytest.raises(engineio.EngineIOError):
        engineio.decode_payload(body)


@pytest.mark.parametrize('data', ['{}', '[]', 'nojson', '{"sid":""}'])
def test_parse_open_refuses(data):
    with pytest.raises(engineio.EngineIOError):
        engineio.parse_open(data)


@pytest.mark.parametrize('ptype, ns, data, text', [
    (0, '/', {'token': 't'}, '0{"token":"t"}'),
    (0, '/admin', {'token': 't'}, '0/admin,{"token":"t"}'),
    (0, '/', None, '0'),
    (1, '/', None, '1'),
])
def test_encode_sio(ptype, ns, data, text):
    assert engineio.encode_sio(ptype, ns, data) == text
    assert engineio.decode_sio(text) == (ptype, ns, data)


@pytest.mark.parametrize('text, expected', [
    ('0{"sid":"s"}', (0, '/', {'sid': 's'})),
    ('4{"message":"unauthorized"}', (4, '/', {'message': 'unauthorized'})),
    ('4/admin,{"message":"no"}', (4, '/admin', {'message': 'no'})),
    ('2["visitor:message",{"text":"hi"}]', (2, '/', ['visitor:message', {'text': 'hi'}])),
    ('212["ev"]', (2, '/', ['ev'])),
    ('0/admin', (0, '/admin', None)),
    ('51-["b",{"_placeholder":true,"num":0}]', (5, '/', ['b', {'_placeholder': True, 'num': 0}])),
])
def test_decode_sio(text, expected):
    assert engineio.decode_sio(text) == expected


@pytest.mark.parametrize('text', ['', 'x', '0{bad json'])
def test_decode_sio_refuses(text):
    with pytest.raises(engineio.EngineIOError):
        engineio.decode_sio(text)


@pytest.mark.parametrize('path, transport, sid, expected', [
    ('/ws-visitor', 'polling', None, '/ws-visitor/?EIO=4&transport=polling'),
    ('/ws-admin/', 'websocket', None, '/ws-admin/?EIO=4&transport=websocket'),
    ('/ws-admin', 'polling', 'S1', '/ws-admin/?EIO=4&transport=polling&sid=S1'),
])
def test_query_path(path, transport, sid, expected):
    assert engineio.query_path(path, transport, sid=sid) == expected
