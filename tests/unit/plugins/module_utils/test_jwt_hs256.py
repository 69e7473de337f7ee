# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from ansible_collections.livechat.stack.plugins.module_utils import jwt_hs256

# The example token of jwt.io (HS256, secret "your-256-bit-secret").
JWT_IO = ('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
          'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.'
          'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c')


def test_verify_known_token():
    assert jwt_hs256.verify(JWT_IO, 'your-256-bit-secret') == {
        'sub': '1234567890', 'name': 'John Doe', 'iat': 1516239022}


@pytest.mark.parametrize('token, secret', [
    (JWT_IO, 'another secret'),
    (JWT_IO[:-2] + 'xx', 'your-256-bit-secret'),
    ('a.b', 'your-256-bit-secret'),
    ('!!.??.**', 'your-256-bit-secret'),
])
def test_verify_refuses(token, secret):
    with pytest.raises(jwt_hs256.JWTError):
        jwt_hs256.verify(token, secret)


def test_mint_is_standard_hs256():
    secret = 's' * 40
    token = jwt_hs256.mint(secret, {'role': 'admin'}, now=1000, ttl=60)
    head, body, sig = token.split('.')
    # independent computation of the signature
    expected = hmac.new(secret.encode(), (head + '.' + body).encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b'=').decode() == sig
    assert '=' not in token
    assert json.loads(jwt_hs256.b64url_decode(head)) == {'alg': 'HS256', 'typ': 'JWT'}
    assert jwt_hs256.verify(token, secret) == {'role': 'admin', 'iat': 1000, 'exp': 1060}


def test_expired_token_refused():
    token = jwt_hs256.mint('k' * 32, {'role': 'admin'}, now=1000, ttl=10)
    jwt_hs256.verify(token, 'k' * 32, now=1009)
    with pytest.raises(jwt_hs256.JWTError, match='expired'):
        jwt_hs256.verify(token, 'k' * 32, now=1010)


@pytest.mark.parametrize('raw', [b'', b'a', b'ab', b'abc', b'\xff\xfe\x00'])
def test_b64url_round_trip(raw):
    assert jwt_hs256.b64url_decode(jwt_hs256.b64url_encode(raw)) == raw
