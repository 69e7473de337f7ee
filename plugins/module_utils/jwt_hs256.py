# -*- coding: utf-8 -*-
# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Minimal HS256 JSON Web Tokens (RFC 7519), standard library only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

__all__ = ['b64url_encode', 'b64url_decode', 'mint', 'verify', 'JWTError']


class JWTError(ValueError):
    """A token that is malformed or whose signature does not match."""


def b64url_encode(data):
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def b64url_decode(text):
    """Inverse of :func:`b64url_encode`."""
    if isinstance(text, str):
        text = text.encode('ascii')
    return base64.urlsafe_b64decode(text + b'=' * (-len(text) % 4))


def _json(obj):
    return json.dumps(obj, separators=(',', ':'), sort_keys=True).encode('utf-8')


def mint(secret, claims, now, ttl=300):
    """An HS256 token for ``claims`` plus ``iat`` (now) and ``exp`` (now + ttl) unless given."""
    payload = dict(claims)
    payload.setdefault('iat', int(now))
    payload.setdefault('exp', int(now) + int(ttl))
    signing_input = b64url_encode(_json({'alg': 'HS256', 'typ': 'JWT'})) + '.' + b64url_encode(_json(payload))
    key = secret.encode('utf-8') if isinstance(secret, str) else secret
    signature = hmac.new(key, signing_input.encode('ascii'), hashlib.sha256).digest()
    return signing_input + '.' + b64url_encode(signature)


def verify(token, secret, now=None):
    """Claims of an HS256 ``token`` signed with ``secret``; raises :class:`JWTError`."""
    parts = token.split('.')
    if len(parts) != 3:
        raise JWTError('not a JWT')
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, TypeError):
        raise JWTError('malformed JWT')
    if not isinstance(header, dict) or header.get('alg') != 'HS256':
        raise JWTError('not an HS256 token')
    key = secret.encode('utf-8') if isinstance(secret, str) else secret
    expected = hmac.new(key, (parts[0] + '.' + parts[1]).encode('ascii'), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise JWTError('invalid signature')
    if not isinstance(claims, dict):
        raise JWTError('claims are not an object')
    if now is not None and 'exp' in claims and int(claims['exp']) <= int(now):
        raise JWTError('token expired')
    return claims
