#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: chat_health
short_description: Check a Live Chat chat-server directly or through Nginx (health, Engine.IO, WebSocket, agent token)
version_added: "0.1.0"
description:
  - Runs, from the host it executes on, the checks that prove Live Chat works at a given address,
    either the chat-server itself (V(http://127.0.0.1:4000)) or a site that proxies it (V(https://127.0.0.1)
    with O(host_header) set to the site's name).
  - C(GET <url>/chat/health) must answer 200 with C({"status":"ok"}); its status, latency, JSON body and
    the C(release) it reports are returned, and O(expect_release) turns a different release into a failure.
  - An Engine.IO v4 polling handshake (C(GET <path>/?EIO=4&transport=polling)) must open a session on each
    of O(paths), sent with O(origin) (O(admin_origin) on O(admin_path)).
  - With O(check_connect), a Socket.IO connect (C(40)) on each path but O(admin_path) must be accepted; a
    chat-server that refuses the O(origin) answers C(44) connect_error, whose message and C(data.reason)
    (such as C(origin)) are returned. This is where an origin missing from C(CHAT_ALLOWED_ORIGINS) shows, as
    Socket.IO servers usually accept the Engine.IO handshake and refuse at connect.
  - With O(check_websocket), an HTTP/1.1 WebSocket upgrade on each path must answer C(101) with a valid
    C(Sec-WebSocket-Accept) and deliver the Engine.IO open packet; any other status is reported (a proxy
    that does not forward C(Upgrade) makes browsers fall back to long-polling silently).
  - With O(admin_secret) or O(admin_secret_file), an agent token (JWT HS256, C({"role":"admin","exp":...}))
    is minted and a Socket.IO connect on O(admin_path) must be accepted (C(40)), not refused (C(44) connect_error),
    which proves the chat-server holds the same secret. The secret and the token are never returned.
  - Checks are repeated until they all pass or O(retries) / O(deadline) are used up. The deadline is checked
    between attempts, so the last attempt may end up to one attempt's duration (bounded by O(timeout) per
    request) after it.
  - Errors of the server being checked are returned as data; the module fails at the end, naming the
    failed checks, unless O(fail_on_error=false).
  - Standard library only on the target.
author:
  - livechat.stack developers (@livechat-stack)
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same checks in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
options:
  url:
    description:
      - Base URL, scheme, address and port, optionally a path prefix, for example V(http://127.0.0.1:4000)
        or V(https://127.0.0.1).
    type: str
    required: true
  host_header:
    description:
      - C(Host) header to send (the Nginx site's name). Defaults to the host and port of O(url).
    type: str
  server_name:
    description:
      - TLS server name (SNI and certificate check) for C(https). Defaults to the host of O(host_header),
        else the host of O(url).
    type: str
  origin:
    description:
      - C(Origin) header for the handshake and the upgrade on every path but O(admin_path), such as a
        front-site origin listed in C(CHAT_ALLOWED_ORIGINS). Not sent when unset.
    type: str
  admin_origin:
    description:
      - C(Origin) header on O(admin_path) (an origin of C(ADMIN_ALLOWED_ORIGINS)). Defaults to O(origin).
    type: str
  health_path:
    description: Path of the health endpoint.
    type: str
    default: /chat/health
  check_health:
    description: Whether to check O(health_path).
    type: bool
    default: true
  paths:
    description:
      - Socket.IO paths to check with an Engine.IO handshake (and an upgrade with O(check_websocket)).
        An empty list skips these checks.
    type: list
    elements: str
    default: [/ws-visitor, /ws-admin]
  admin_path:
    description: The agents' Socket.IO path, where O(admin_origin) applies and the agent token is tried.
    type: str
    default: /ws-admin
  check_websocket:
    description: Whether to try a WebSocket upgrade on each of O(paths).
    type: bool
    default: true
  check_connect:
    description:
      - Whether to complete a Socket.IO connect, without credentials, on each of O(paths) except O(admin_path)
        (visitors). The agents' path is connected to with a token when O(admin_secret) or O(admin_secret_file) is set.
    type: bool
    default: true
  admin_secret:
    description:
      - C(CHAT_ADMIN_JWT_SECRET) to sign an agent token with. Mutually exclusive with O(admin_secret_file).
    type: str
  admin_secret_file:
    description:
      - A dotenv file on the target to read the secret from (key O(admin_secret_key)), for example the
        chat-server's C(/opt/livechat/shared/.env) or the main site's C(.env).
    type: path
  admin_secret_key:
    description: Key holding the secret in O(admin_secret_file).
    type: str
    default: CHAT_ADMIN_JWT_SECRET
  admin_namespace:
    description: Socket.IO namespace to connect to on O(admin_path).
    type: str
    default: /
  admin_token_claims:
    description:
      - Extra claims for the agent token; C(role) defaults to V(admin), C(exp) to now plus O(admin_token_ttl).
    type: dict
    default: {}
  admin_token_ttl:
    description: Lifetime of the agent token in seconds.
    type: int
    default: 120
  expect_release:
    description: Release id the health endpoint must report (its JSON C(release)); a different one fails the health check.
    type: str
  validate_certs:
    description: Verify TLS certificates for C(https).
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify TLS certificates with, instead of the system's.
    type: path
  timeout:
    description: Timeout in seconds of each connection and request.
    type: float
    default: 10
  retries:
    description: Attempts after the first when a check fails (ignored when O(deadline) is set).
    type: int
    default: 0
  delay:
    description: Seconds between attempts.
    type: float
    default: 2
  deadline:
    description: Keep trying until every check passes or this many seconds have passed since the first attempt.
    type: float
  fail_on_error:
    description:
      - Fail when a check fails. With V(false) the module reports the results (RV(ok), RV(failed_checks)) and
        succeeds, for playbooks that diagnose failures themselves.
    type: bool
    default: true
notes:
  - Several chat hosts behind one proxy need sticky upstreams for the polling checks, as browsers do.
seealso:
  - module: ansible.builtin.uri
  - module: livechat.stack.dotenv_keys
"""

EXAMPLES = r"""
- name: The chat-server answers on its own port
  livechat.stack.chat_health:
    url: http://127.0.0.1:4000
    origin: https://admin1167.com
    admin_origin: https://admin1167.net
    admin_secret_file: /opt/livechat/shared/.env
    deadline: 60

- name: Live Chat through Nginx, as the browser sees it
  livechat.stack.chat_health:
    url: https://127.0.0.1
    host_header: admin1167.com
    validate_certs: false
    origin: https://admin1167.com
    admin_origin: https://admin1167.net
    admin_secret: "{{ livechat_admin_jwt_secret }}"
    expect_release: "{{ chat_release_id }}"
    fail_on_error: false
  register: through_nginx

- name: Explain a missing WebSocket upgrade
  ansible.builtin.debug:
    msg: "/ws-visitor answers {{ through_nginx.websocket['/ws-visitor'].status }} instead of 101: Upgrade headers not proxied"
  when: "'websocket:/ws-visitor' in through_nginx.failed_checks"
"""

RETURN = r"""
ok:
  description: Whether every check passed.
  returned: always
  type: bool
  sample: true
failed_checks:
  description:
    - Names of the failed checks, V(health), V(handshake:<path>), V(connect:<path>), V(websocket:<path>), V(admin_auth).
  returned: always
  type: list
  elements: str
  sample: ["websocket:/ws-visitor"]
health:
  description: The health check (V(null) with O(check_health=false)).
  returned: always
  type: dict
  contains:
    ok:
      description: Whether it passed.
      type: bool
    url:
      description: The URL requested (with the Host sent).
      type: str
    status:
      description: HTTP status, V(null) when no response came.
      type: int
    latency_ms:
      description: Request time in milliseconds.
      type: float
    body:
      description: The JSON body (or the start of a body that is not JSON).
      type: raw
    release:
      description: The release the server reports.
      type: str
    error:
      description: Why it failed.
      type: str
  sample:
    ok: true
    url: http://127.0.0.1:4000/chat/health
    status: 200
    latency_ms: 3.2
    body: {status: ok, db: ok, release: "20261124T101500Z", uptime: 42.1}
    release: "20261124T101500Z"
    error: null
handshakes:
  description: Engine.IO polling handshake per path.
  returned: always
  type: dict
  sample:
    /ws-visitor: {ok: true, status: 200, sid: "Xh3V2nQ8AAAB", origin: "https://admin1167.com",
                  upgrades: [websocket], ping_interval: 25000, ping_timeout: 20000,
                  allow_origin: "https://admin1167.com", latency_ms: 2.5, error: null, path: /ws-visitor}
    /ws-admin: {ok: false, status: 404, sid: null, error: "HTTP 404 Not Found: ...", path: /ws-admin}
connects:
  description:
    - Socket.IO connect per visitor path (empty with O(check_connect=false)); C(reason) is the server's
      C(connect_error) C(data.reason) when it gives one.
  returned: always
  type: dict
  sample:
    /ws-visitor: {ok: false, path: /ws-visitor, namespace: /, origin: "https://other.example", status: 200,
                  reason: origin, message: "origin refused: https://other.example is not in CHAT_ALLOWED_ORIGINS",
                  error: "connect refused (connect_error: origin refused: https://other.example is not in CHAT_ALLOWED_ORIGINS)"}
websocket:
  description: WebSocket upgrade per path (empty with O(check_websocket=false)).
  returned: always
  type: dict
  sample:
    /ws-visitor: {ok: false, status: 400, origin: "https://admin1167.com", path: /ws-visitor,
                  error: "HTTP 400 Bad Request instead of 101 Switching Protocols"}
admin_auth:
  description: The agent token check; C(skipped) when no secret was given.
  returned: always
  type: dict
  sample: {ok: false, skipped: false, path: /ws-admin, namespace: /, origin: "https://admin1167.net", status: 200,
           reason: token, message: "unauthorized: invalid token signature",
           error: "connect refused (connect_error: unauthorized: invalid token signature)"}
attempts:
  description: How many times the checks ran.
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds from the first attempt to the end.
  returned: always
  type: float
  sample: 0.4
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.livechat.stack.plugins.module_utils import chat_probe
from ansible_collections.livechat.stack.plugins.module_utils import dotenv
from ansible_collections.livechat.stack.plugins.module_utils import jwt_hs256


def _read_secret(module, path, key):
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8', 'surrogateescape')
    except OSError as exc:
        module.fail_json(msg='cannot read admin_secret_file %s: %s' % (path, to_native(exc)))
    secret = dotenv.values(dotenv.parse(text)).get(key)
    if not secret:
        module.fail_json(msg='%s has no non-empty %s' % (path, key))
    return secret


def run_checks(module, target, secret):
    """One attempt at every requested check; returns the result pieces."""
    params = module.params
    origin = params['origin']
    admin_origin = params['admin_origin'] or origin

    def is_admin(path):
        return path.rstrip('/') == params['admin_path'].rstrip('/')

    def origin_for(path):
        return admin_origin if is_admin(path) else origin

    out = dict(health=None, handshakes={}, connects={}, websocket={},
               admin_auth=dict(ok=None, skipped=True, error=None), failed_checks=[], reasons=[])

    def record(name, check):
        if not check['ok']:
            out['failed_checks'].append(name)
            out['reasons'].append('%s (%s)' % (name, check['error']))

    if params['check_health']:
        out['health'] = chat_probe.probe_health(target, params['health_path'], params['expect_release'])
        record('health', out['health'])
    for path in params['paths']:
        out['handshakes'][path] = chat_probe.probe_handshake(target, path, origin_for(path))
        record('handshake:%s' % path, out['handshakes'][path])
    if params['check_connect']:
        for path in params['paths']:
            if is_admin(path):
                continue
            out['connects'][path] = chat_probe.probe_connect(target, path, origin_for(path))
            record('connect:%s' % path, out['connects'][path])
    if params['check_websocket']:
        for path in params['paths']:
            out['websocket'][path] = chat_probe.probe_websocket(target, path, origin_for(path))
            record('websocket:%s' % path, out['websocket'][path])
    if secret is not None:
        claims = {'role': 'admin', 'sub': 'livechat.stack-chat_health'}
        claims.update(params['admin_token_claims'])
        token = jwt_hs256.mint(secret, claims, time.time(), params['admin_token_ttl'])
        module.no_log_values.add(token)
        auth = chat_probe.probe_admin_auth(target, params['admin_path'], admin_origin, token,
                                           params['admin_namespace'])
        auth['skipped'] = False
        out['admin_auth'] = auth
        record('admin_auth', auth)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', required=True),
            host_header=dict(type='str'),
            server_name=dict(type='str'),
            origin=dict(type='str'),
            admin_origin=dict(type='str'),
            health_path=dict(type='str', default='/chat/health'),
            check_health=dict(type='bool', default=True),
            paths=dict(type='list', elements='str', default=['/ws-visitor', '/ws-admin']),
            admin_path=dict(type='str', default='/ws-admin'),
            check_websocket=dict(type='bool', default=True),
            check_connect=dict(type='bool', default=True),
            admin_secret=dict(type='str', no_log=True),
            admin_secret_file=dict(type='path'),
            admin_secret_key=dict(type='str', default='CHAT_ADMIN_JWT_SECRET', no_log=False),
            admin_namespace=dict(type='str', default='/'),
            admin_token_claims=dict(type='dict', default={}, no_log=False),
            admin_token_ttl=dict(type='int', default=120, no_log=False),
            expect_release=dict(type='str'),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
            timeout=dict(type='float', default=10.0),
            retries=dict(type='int', default=0),
            delay=dict(type='float', default=2.0),
            deadline=dict(type='float'),
            fail_on_error=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('admin_secret', 'admin_secret_file')],
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, ok=False, failed_checks=[], health=None, handshakes={}, connects={}, websocket={},
                  admin_auth=dict(ok=None, skipped=True, error=None), attempts=0, elapsed=0.0)

    for name in ('health_path', 'admin_path'):
        if not params[name].startswith('/'):
            module.fail_json(msg='%s must start with /' % name, **result)
    for path in params['paths']:
        if not path.startswith('/'):
            module.fail_json(msg='paths must start with /: %r' % path, **result)
    if params['timeout'] <= 0:
        module.fail_json(msg='timeout must be positive', **result)

    secret = params['admin_secret']
    if secret is not None and not secret:
        module.fail_json(msg='admin_secret is empty; leave it unset to skip the agent token check', **result)
    if params['admin_secret_file']:
        secret = _read_secret(module, params['admin_secret_file'], params['admin_secret_key'])
        module.no_log_values.add(secret)

    try:
        target = chat_probe.Target(params['url'], params['host_header'], params['validate_certs'],
                                   params['ca_path'], params['server_name'], params['timeout'])
    except (ValueError, OSError) as exc:
        module.fail_json(msg=to_native(exc), **result)

    start = time.monotonic()
    while True:
        result['attempts'] += 1
        out = run_checks(module, target, secret)
        if not out['failed_checks']:
            break
        elapsed = time.monotonic() - start
        if params['deadline'] is not None:
            if elapsed + params['delay'] >= params['deadline']:
                break
        elif result['attempts'] > params['retries']:
            break
        time.sleep(max(params['delay'], 0))

    reasons = out.pop('reasons')
    result.update(out)
    result['ok'] = not result['failed_checks']
    result['elapsed'] = round(time.monotonic() - start, 3)
    if not result['ok'] and params['fail_on_error']:
        module.fail_json(msg='chat_health: %d check(s) failed after %d attempt(s): %s'
                         % (len(reasons), result['attempts'], '; '.join(reasons)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
