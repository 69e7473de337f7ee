# -*- coding: utf-8 -*-
# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Engine.IO v4 / Socket.IO v5 packet encoding and parsing (pure functions).

Engine.IO packet: one type digit then the data (``0`` open, ``1`` close,
``2`` ping, ``3`` pong, ``4`` message, ``5`` upgrade, ``6`` noop). A polling
payload joins packets with the record separator ``\\x1e``. A Socket.IO packet
travels inside an Engine.IO message: a type digit (``0`` CONNECT,
``1`` DISCONNECT, ``2`` EVENT, ``3`` ACK, ``4`` CONNECT_ERROR, ...), then an
optional ``/namespace,`` and optional JSON data.
"""

from __future__ import annotations

import json

__all__ = [
    'OPEN', 'CLOSE', 'PING', 'PONG', 'MESSAGE', 'UPGRADE', 'NOOP', 'SEPARATOR',
    'SIO_CONNECT', 'SIO_DISCONNECT', 'SIO_EVENT', 'SIO_ACK', 'SIO_CONNECT_ERROR',
    'EngineIOError', 'encode_packet', 'decode_packet', 'encode_payload',
    'decode_payload', 'parse_open', 'encode_sio', 'decode_sio', 'query_path',
]

OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = '0', '1', '2', '3', '4', '5', '6'
SEPARATOR = '\x1e'
SIO_CONNECT, SIO_DISCONNECT, SIO_EVENT, SIO_ACK, SIO_CONNECT_ERROR = 0, 1, 2, 3, 4


class EngineIOError(ValueError):
    """Text that is not a valid Engine.IO / Socket.IO packet."""


def encode_packet(ptype, data=''):
    """Engine.IO packet text."""
    return str(ptype) + (data or '')


def decode_packet(text):
    """``(type, data)`` of one Engine.IO packet."""
    if not text or text[0] not in '0123456':
        raise EngineIOError('not an Engine.IO packet: %r' % text[:40])
    return text[0], text[1:]


def encode_payload(packets):
    """Join packet texts into one polling payload."""
    return SEPARATOR.join(packets)


def decode_payload(body):
    """List of ``(type, data)`` from a polling response body."""
    if not body:
        return []
    return [decode_packet(part) for part in body.split(SEPARATOR)]


def parse_open(data):
    """Dict of an open packet's JSON (``sid``, ``upgrades``, ``pingInterval``, ...)."""
    try:
        info = json.loads(data)
    except ValueError:
        raise EngineIOError('open packet is not JSON: %r' % data[:80])
    if not isinstance(info, dict) or not isinstance(info.get('sid'), str) or not info['sid']:
        raise EngineIOError('open packet has no sid')
    return info


def encode_sio(ptype, namespace='/', data=None):
    """Socket.IO packet text (to be sent inside an Engine.IO message)."""
    text = str(ptype)
    if namespace and namespace != '/':
        text += namespace + ','
    if data is not None:
        text += json.dumps(data, separators=(',', ':'))
    return text


def decode_sio(text):
    """``(type, namespace, data)`` of a Socket.IO packet; binary attachments are not supported."""
    if not text or not text[0].isdigit():
        raise EngineIOError('not a Socket.IO packet: %r' % text[:40])
    ptype = int(text[0])
    rest = text[1:]
    if ptype in (5, 6):
        dash = rest.find('-')
        if dash < 0:
            raise EngineIOError('binary packet without attachment count')
        rest = rest[dash + 1:]
    namespace = '/'
    if rest.startswith('/'):
        comma = rest.find(',')
        if comma < 0:
            namespace, rest = rest, ''
        else:
            namespace, rest = rest[:comma], rest[comma + 1:]
    # an ack id may precede the data
    idx = 0
    while idx < len(rest) and rest[idx].isdigit():
        idx += 1
    rest = rest[idx:]
    data = None
    if rest:
        try:
            data = json.loads(rest)
        except ValueError:
            raise EngineIOError('Socket.IO packet data is not JSON: %r' % rest[:80])
    return ptype, namespace, data


def query_path(path, transport, sid=None, t=None):
    """Request target for an Engine.IO endpoint: ``<path>/?EIO=4&transport=...``.

    Socket.IO servers match their ``path`` with a trailing slash, so
    ``/ws-visitor`` becomes ``/ws-visitor/?EIO=4&...`` (what browsers send).
    """
    base = path if path.endswith('/') else path + '/'
    query = 'EIO=4&transport=%s' % transport
    if t is not None:
        query += '&t=%s' % t
    if sid:
        query += '&sid=%s' % sid
    return base + '?' + query
