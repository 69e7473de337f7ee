# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""chat_health main() against a local fake chat-server (see conftest.py)."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.livechat.stack.plugins.modules import chat_health

SECRET = 'unit-test-secret-0123456789-abcdefghijklmnop'  # the fake server's default (conftest.SECRET)

ORIGIN = 'https://admin1167.com'
ADMIN_ORIGIN = 'https://admin1167.net'


def args(server, **kw):
    base = dict(url=server.url, origin=ORIGIN, admin_origin=ADMIN_ORIGIN, timeout=3)
    base.update(kw)
    return base


def test_healthy_server_passes_every_check(run_module, chat_server):
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET, host_header='admin1167.com'))
    assert not failed, res
    assert res['ok'] is True and res['failed_checks'] == [] and res['changed'] is False
    assert res['health']['status'] == 200 and res['health']['release'] == 'r1'
    assert res['health']['body'] == {'status': 'ok', 'db': 'ok', 'release': 'r1', 'uptime': 1.5}
    assert res['health']['latency_ms'] >= 0
    assert res['health']['url'] == 'http://admin1167.com/chat/health'
    for path in ('/ws-visitor', '/ws-admin'):
        assert res['handshakes'][path]['ok'] and res['handshakes'][path]['status'] == 200
        assert res['handshakes'][path]['sid'] and res['handshakes'][path]['upgrades'] == ['websocket']
        assert res['websocket'][path] == dict(ok=True, path=path, status=101, error=None,
                                              origin=ORIGIN if path == '/ws-visitor' else ADMIN_ORIGIN)
    assert res['admin_auth']['ok'] is True and res['admin_auth']['skipped'] is False
    assert list(res['connects']) == ['/ws-visitor'] and res['connects']['/ws-visitor']['ok']
    assert chat_server.connects == ['/ws-visitor', '/ws-admin'] and chat_server.disconnects == 2
    assert res['attempts'] == 1
    # what went over the wire: Host, Origins per path, trailing slash, a valid admin token
    assert all(entry['headers']['host'] == 'admin1167.com' for entry in chat_server.log)
    for entry in chat_server.log:
        if entry['target'].startswith('/ws-admin'):
            assert entry['headers']['origin'] == ADMIN_ORIGIN
        elif entry['target'].startswith('/ws-visitor'):
            assert entry['headers']['origin'] == ORIGIN
    assert any(e['target'] == '/ws-visitor/?EIO=4&transport=polling' for e in chat_server.log)
    assert len(chat_server.tokens) == 1
    # sessions are closed afterwards, and the websocket was closed with a close frame
    assert chat_server.sessions == {}
    assert chat_server.ws_close_frames == [0x8, 0x8]
    # neither the secret nor the token is in the result
    dumped = json.dumps(res)
    assert SECRET not in dumped and chat_server.tokens[0] not in dumped


def test_no_secret_means_admin_auth_skipped(run_module, chat_server):
    failed, res = run_module(chat_health.main, args(chat_server))
    assert not failed and res['admin_auth'] == {'ok': None, 'skipped': True, 'error': None}
    assert chat_server.tokens == []


def test_database_down_fails_health(run_module, chat_server):
    chat_server.behaviour.health_status = 503
    chat_server.behaviour.health_body = {'status': 'error', 'db': 'down'}
    failed, res = run_module(chat_health.main, args(chat_server))
    assert failed and res['failed_checks'] == ['health']
    assert res['health']['status'] == 503 and res['health']['body']['db'] == 'down'
    assert 'health (HTTP 503 Service Unavailable (db: down))' in res['msg']


def test_fail_on_error_false_returns_data(run_module, chat_server):
    chat_server.behaviour.health_status = 503
    failed, res = run_module(chat_health.main, args(chat_server, fail_on_error=False))
    assert not failed and res['ok'] is False and res['failed_checks'] == ['health']


def test_status_ok_required_in_body(run_module, chat_server):
    chat_server.behaviour.health_body = {'status': 'degraded'}
    failed, res = run_module(chat_health.main, args(chat_server, paths=[]))
    assert failed and "health status is 'degraded'" in res['health']['error']


def test_non_json_200_health_is_accepted_and_body_kept(run_module, chat_server):
    chat_server.behaviour.health_body = 'OK'
    failed, res = run_module(chat_health.main, args(chat_server, paths=[]))
    assert not failed and res['health']['body'] == 'OK' and res['health']['release'] is None


def test_chunked_health_body(run_module, chat_server):
    chat_server.behaviour.health_chunked = True
    failed, res = run_module(chat_health.main, args(chat_server, paths=[]))
    assert not failed and res['health']['body']['release'] == 'r1'


def test_location_missing_gives_404(run_module, chat_server):
    chat_server.behaviour.missing_paths = {'/ws-admin'}
    failed, res = run_module(chat_health.main, args(chat_server))
    assert failed
    assert res['failed_checks'] == ['handshake:/ws-admin', 'websocket:/ws-admin']
    assert res['handshakes']['/ws-admin']['status'] == 404
    assert res['handshakes']['/ws-admin']['error'] == 'HTTP 404 Not Found: <html>404 Not Found</html>'
    assert res['websocket']['/ws-admin']['status'] == 404
    assert 'instead of 101' in res['websocket']['/ws-admin']['error']
    assert res['handshakes']['/ws-visitor']['ok']


def test_bad_gateway_fails_everything(run_module, chat_server):
    chat_server.behaviour.bad_gateway = True
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET))
    assert failed
    assert res['failed_checks'] == ['health', 'handshake:/ws-visitor', 'handshake:/ws-admin',
                                    'connect:/ws-visitor', 'websocket:/ws-visitor', 'websocket:/ws-admin',
                                    'admin_auth']
    assert res['health']['status'] == 502 and 'HTTP 502 Bad Gateway' in res['msg']
    assert res['admin_auth']['error'] == 'handshake failed: HTTP 502 Bad Gateway: <html><center>502 Bad Gateway</center></html>'


def test_redirect_is_reported_with_its_location(run_module, chat_server):
    chat_server.behaviour.redirect_to = 'https://admin1167.com'
    failed, res = run_module(chat_health.main, args(chat_server, check_websocket=False, check_connect=False))
    assert failed and res['health']['error'] == (
        'HTTP 301 Moved Permanently (Location: https://admin1167.com/chat/health)')
    assert res['handshakes']['/ws-visitor']['error'].startswith(
        'HTTP 301 Moved Permanently (Location: https://admin1167.com/ws-visitor/?EIO=4&transport=polling)')


def test_handshake_that_does_not_open(run_module, chat_server):
    chat_server.behaviour.garbage_paths = {'/ws-visitor'}
    failed, res = run_module(chat_health.main, args(chat_server, check_websocket=False))
    assert failed and res['failed_checks'] == ['handshake:/ws-visitor', 'connect:/ws-visitor']
    assert res['handshakes']['/ws-visitor']['status'] == 200
    assert res['handshakes']['/ws-visitor']['error'].startswith('not an Engine.IO handshake')
    assert res['websocket'] == {}


def test_upgrade_not_proxied(run_module, chat_server):
    chat_server.behaviour.websocket = 'no-upgrade'
    failed, res = run_module(chat_health.main, args(chat_server))
    assert failed and res['failed_checks'] == ['websocket:/ws-visitor', 'websocket:/ws-admin']
    assert res['websocket']['/ws-visitor']['status'] == 400
    assert res['websocket']['/ws-visitor']['error'] == 'HTTP 400 Bad Request instead of 101 Switching Protocols'
    # polling still works: what browsers silently fall back to
    assert res['handshakes']['/ws-visitor']['ok']


@pytest.mark.parametrize('mode, error', [
    ('bad-accept', '101 with a wrong Sec-WebSocket-Accept'),
    ('no-open', 'upgraded, but no Engine.IO open packet arrived'),
])
def test_broken_upgrade(run_module, chat_server, mode, error):
    chat_server.behaviour.websocket = mode
    failed, res = run_module(chat_health.main, args(chat_server, paths=['/ws-visitor']))
    assert failed and res['websocket']['/ws-visitor']['status'] == 101
    assert res['websocket']['/ws-visitor']['error'] == error


def test_wrong_secret_refused(run_module, chat_server):
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret='not-the-secret-' * 3))
    assert failed and res['failed_checks'] == ['admin_auth']
    assert res['admin_auth']['error'] == 'connect refused (connect_error: unauthorized: invalid signature)'
    assert res['admin_auth']['reason'] == 'token'
    assert 'admin_auth (connect refused' in res['msg']


def test_token_without_admin_role_refused(run_module, chat_server):
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET,
                                                    admin_token_claims={'role': 'visitor'}))
    assert failed and res['failed_checks'] == ['admin_auth']


def test_origin_not_allowed(run_module, chat_server):
    chat_server.behaviour.allowed_origins = {'/ws-visitor': {'https://other.example'}}
    failed, res = run_module(chat_health.main, args(chat_server))
    assert failed and res['failed_checks'] == ['handshake:/ws-visitor', 'connect:/ws-visitor', 'websocket:/ws-visitor']
    assert res['handshakes']['/ws-visitor']['status'] == 403
    assert 'Forbidden' in res['handshakes']['/ws-visitor']['error']


def test_origin_refused_at_connect_is_named(run_module, chat_server):
    # the reference chat-server accepts the handshake and refuses at Socket.IO connect
    chat_server.behaviour.connect_origins = {'/ws-visitor': {'https://other.example'}}
    failed, res = run_module(chat_health.main, args(chat_server))
    assert failed and res['failed_checks'] == ['connect:/ws-visitor']
    conn = res['connects']['/ws-visitor']
    assert conn['reason'] == 'origin' and conn['origin'] == ORIGIN
    assert conn['message'] == 'origin refused: %s is not in CHAT_ALLOWED_ORIGINS' % ORIGIN
    assert res['handshakes']['/ws-visitor']['ok'] and res['websocket']['/ws-visitor']['ok']


def test_admin_origin_refused_is_told_apart_from_token(run_module, chat_server):
    chat_server.behaviour.connect_origins = {'/ws-admin': {'https://other.example'}}
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET))
    assert failed and res['failed_checks'] == ['admin_auth'] and res['admin_auth']['reason'] == 'origin'
    assert chat_server.tokens == []


def test_check_connect_off(run_module, chat_server):
    chat_server.behaviour.connect_origins = {'/ws-visitor': set()}
    failed, res = run_module(chat_health.main, args(chat_server, check_connect=False))
    assert not failed and res['connects'] == {} and chat_server.connects == []


def test_admin_origin_is_used_on_admin_path(run_module, chat_server):
    chat_server.behaviour.allowed_origins = {'/ws-admin': {ADMIN_ORIGIN}, '/ws-visitor': {ORIGIN}}
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET))
    assert not failed, res['msg'] if failed else res
    assert res['handshakes']['/ws-admin']['allow_origin'] == ADMIN_ORIGIN


def test_admin_origin_defaults_to_origin(run_module, chat_server):
    chat_server.behaviour.allowed_origins = {'/ws-admin': {ADMIN_ORIGIN}}
    failed, res = run_module(chat_health.main, args(chat_server, admin_origin=None, admin_secret=SECRET))
    assert failed and 'handshake:/ws-admin' in res['failed_checks'] and 'admin_auth' in res['failed_checks']


def test_ping_is_answered_during_connect(run_module, chat_server):
    chat_server.behaviour.ping_first = True
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET, paths=['/ws-visitor'],
                                                    check_health=False, check_websocket=False))
    assert not failed and res['admin_auth']['ok'] and res['connects']['/ws-visitor']['ok']
    # one ping answered per session: handshake-only sessions are closed before polling
    assert chat_server.pongs == 2


def test_connect_without_answer_times_out(run_module, chat_server):
    chat_server.behaviour.silent_connect = True
    start = time.monotonic()
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET, paths=[],
                                                    check_health=False, timeout=1.5))
    assert failed and res['admin_auth']['error'] == 'no answer to the connect packet in time'
    assert time.monotonic() - start < 6


def test_secret_from_dotenv_file(run_module, chat_server, tmp_path):
    env = tmp_path / '.env'
    env.write_text('# chat-server\nCHAT_SERVER_PORT=4000\nCHAT_ADMIN_JWT_SECRET="%s"\n' % SECRET)
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret_file=str(env)))
    assert not failed and res['admin_auth']['ok']


def test_secret_file_without_key_is_a_module_failure(run_module, chat_server, tmp_path):
    env = tmp_path / '.env'
    env.write_text('OTHER=1\n')
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret_file=str(env)))
    assert failed and res['msg'] == '%s has no non-empty CHAT_ADMIN_JWT_SECRET' % env
    assert chat_server.log == []


def test_secret_options_are_exclusive(run_module, chat_server, tmp_path):
    failed, res = run_module(chat_health.main, args(chat_server, admin_secret=SECRET, admin_secret_file=str(tmp_path)))
    assert failed and 'mutually exclusive' in res['msg']


def test_expect_release(run_module, chat_server):
    failed, res = run_module(chat_health.main, args(chat_server, paths=[], expect_release='r1'))
    assert not failed
    failed, res = run_module(chat_health.main, args(chat_server, paths=[], expect_release='r2'))
    assert failed and res['health']['error'] == "release 'r1' answers, expected 'r2'"


def test_retries_until_healthy(run_module, chat_server):
    chat_server.behaviour.health_fail_first = 2
    failed, res = run_module(chat_health.main, args(chat_server, paths=[], retries=3, delay=0.05))
    assert not failed and res['attempts'] == 3 and chat_server.health_hits == 3


def test_retries_exhausted(run_module, chat_server):
    chat_server.behaviour.health_fail_first = 5
    failed, res = run_module(chat_health.main, args(chat_server, paths=[], retries=1, delay=0.01))
    assert failed and res['attempts'] == 2 and 'after 2 attempt(s)' in res['msg']


def test_deadline(run_module, chat_server):
    chat_server.behaviour.health_status = 503
    start = time.monotonic()
    failed, res = run_module(chat_health.main, args(chat_server, paths=[], deadline=0.6, delay=0.1))
    took = time.monotonic() - start
    assert failed and res['attempts'] >= 3 and took < 3
    assert res['elapsed'] < 1.5


def test_deadline_reached_once_healthy(run_module, chat_server):
    chat_server.behaviour.health_fail_first = 3
    failed, res = run_module(chat_health.main, args(chat_server, paths=[], deadline=10, delay=0.05))
    assert not failed and res['attempts'] == 4 and res['elapsed'] < 5


def test_connection_refused(run_module, closed_port):
    failed, res = run_module(chat_health.main, dict(url='http://127.0.0.1:%d' % closed_port, timeout=2))
    assert failed and res['health']['status'] is None and res['health']['error'] == 'connection refused'
    assert res['handshakes']['/ws-visitor']['error'] == 'connection refused'
    assert res['websocket']['/ws-admin']['error'] == 'connection refused'


def test_check_mode_runs_the_checks(run_module, chat_server):
    failed, res = run_module(chat_health.main, args(chat_server, _ansible_check_mode=True))
    assert not failed and res['ok'] and res['changed'] is False and chat_server.health_hits == 1


def test_url_prefix_is_kept(run_module, chat_server):
    failed, res = run_module(chat_health.main, args(chat_server, url=chat_server.url + '/', paths=['/ws-visitor']))
    assert not failed
    chat_server.log.clear()
    failed, res = run_module(chat_health.main, args(chat_server, url=chat_server.url + '/prefix', paths=[]))
    assert failed and chat_server.log[0]['target'] == '/prefix/chat/health'


@pytest.mark.parametrize('bad, msg', [
    (dict(url='ftp://x'), 'url must be http'),
    (dict(paths=['ws-visitor']), 'paths must start with /'),
    (dict(timeout=0), 'timeout must be positive'),
    (dict(admin_secret=''), 'admin_secret is empty'),
])
def test_bad_input(run_module, chat_server, bad, msg):
    failed, res = run_module(chat_health.main, args(chat_server, **bad))
    assert failed and msg in res['msg']


def test_secret_never_in_module_output(run_module_output, chat_server):
    out, res = run_module_output(chat_health.main, args(chat_server, admin_secret=SECRET))
    assert res['ok'] is True
    assert SECRET not in out
    assert chat_server.tokens and chat_server.tokens[0] not in out


def test_secret_from_file_never_in_failure_output(run_module_output, chat_server, tmp_path):
    env = tmp_path / '.env'
    env.write_text('CHAT_ADMIN_JWT_SECRET=%s\n' % SECRET)
    chat_server.behaviour.secret = 'the-server-has-another-secret-entirely'
    out, res = run_module_output(chat_health.main, args(chat_server, admin_secret_file=str(env)))
    assert res['failed'] is True and res['failed_checks'] == ['admin_auth']
    assert SECRET not in out and chat_server.tokens[0] not in out


def test_tls_without_verification(run_module, tls_chat_server):
    failed, res = run_module(chat_health.main, args(tls_chat_server, validate_certs=False, admin_secret=SECRET))
    assert not failed, res.get('msg')
    assert res['websocket']['/ws-visitor']['status'] == 101 and res['admin_auth']['ok']


def test_tls_verified_with_ca_and_server_name(run_module, tls_chat_server, tls_files):
    failed, res = run_module(chat_health.main, args(tls_chat_server, ca_path=tls_files[0],
                                                    host_header='chat.example.test'))
    assert not failed, res.get('msg')
    assert res['health']['url'].startswith('https://chat.example.test/')


def test_tls_verification_failure_is_reported(run_module, tls_chat_server, tls_files):
    failed, res = run_module(chat_health.main, args(tls_chat_server, ca_path=tls_files[0], paths=[]))
    assert failed and res['health']['error'].startswith('TLS certificate verification failed')
