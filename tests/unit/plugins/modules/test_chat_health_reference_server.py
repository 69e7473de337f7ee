# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""chat_health against the real reference chat-server (examples/chat-server, real Socket.IO 4).

Runs when ``node`` and the example's ``node_modules`` are present (tests/node/run
installs them), otherwise skips. The server gets a database URL nobody listens
on, so /chat/health answers 503 while the sockets work: enough to pin the
Engine.IO / Socket.IO wire format, the origin gate and the token check to what
the real server does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from ansible_collections.livechat.stack.plugins.modules import chat_health

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SERVER = os.path.join(REPO, 'examples', 'chat-server')
SECRET = 'reference-server-secret-0123456789-ABCDEFGH'
VISITOR = 'https://admin1167.com'
AGENT = 'https://admin1167.net'

pytestmark = pytest.mark.skipif(
    not shutil.which('node') or not os.path.isdir(os.path.join(SERVER, 'node_modules', 'socket.io')),
    reason='node or examples/chat-server/node_modules missing (run tests/node/run first)')


@pytest.fixture(scope='module')
def reference_server(tmp_path_factory, closed_port_module):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('CHAT_'))
    env.update(CHAT_SERVER_PORT='0', CHAT_SERVER_HOST='127.0.0.1',
               CHAT_DATABASE_URL='postgresql://chat:pw@127.0.0.1:%d/chat' % closed_port_module,
               CHAT_ADMIN_JWT_SECRET=SECRET, CHAT_ALLOWED_ORIGINS=VISITOR, ADMIN_ALLOWED_ORIGINS=AGENT,
               CHAT_RELEASE_ID='ref-release')
    log = tmp_path_factory.mktemp('refserver') / 'out.log'
    with open(log, 'wb') as out:
        proc = subprocess.Popen(['node', os.path.join(SERVER, 'src', 'server.js')], cwd=str(log.parent),
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        port = None
        end = time.monotonic() + 20
        while time.monotonic() < end and proc.poll() is None:
            text = log.read_text()
            match = re.search(r'SERVER_OK port=(\d+)', text)
            if match and 'WS_OK' in text:
                port = int(match.group(1))
                break
            time.sleep(0.1)
        if port is None:
            pytest.fail('reference chat-server did not start:\n' + log.read_text())
        yield 'http://127.0.0.1:%d' % port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope='module')
def closed_port_module():
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def run(run_module, url, **kw):
    base = dict(url=url, origin=VISITOR, admin_origin=AGENT, timeout=5, fail_on_error=False)
    base.update(kw)
    failed, res = run_module(chat_health.main, base)
    assert not failed, res
    return res


def test_sockets_pass_and_database_down_is_reported(run_module, reference_server):
    res = run(run_module, reference_server, admin_secret=SECRET)
    assert res['failed_checks'] == ['health']
    assert res['health']['status'] == 503 and res['health']['body']['db'] == 'down'
    assert res['health']['release'] == 'ref-release'
    for path in ('/ws-visitor', '/ws-admin'):
        assert res['handshakes'][path]['ok'] and res['handshakes'][path]['upgrades'] == ['websocket']
        assert res['websocket'][path]['status'] == 101 and res['websocket'][path]['ok']
    assert res['connects']['/ws-visitor']['ok'] and res['admin_auth']['ok']


def test_foreign_origin_refused_at_connect(run_module, reference_server):
    res = run(run_module, reference_server, origin='https://elsewhere.example', check_health=False)
    assert res['failed_checks'] == ['connect:/ws-visitor']
    conn = res['connects']['/ws-visitor']
    assert conn['reason'] == 'origin' and 'CHAT_ALLOWED_ORIGINS' in conn['message']
    # the handshake itself passes, only CORS stays silent: why connect is checked
    assert res['handshakes']['/ws-visitor']['ok'] and res['handshakes']['/ws-visitor']['allow_origin'] is None


def test_other_secret_refused(run_module, reference_server):
    res = run(run_module, reference_server, admin_secret='another-secret-0123456789-0123456789-x', check_health=False)
    assert res['failed_checks'] == ['admin_auth']
    assert res['admin_auth']['reason'] == 'token' and 'invalid token signature' in res['admin_auth']['message']


def test_agent_origin_refused(run_module, reference_server):
    res = run(run_module, reference_server, admin_secret=SECRET, admin_origin=VISITOR, check_health=False)
    assert res['failed_checks'] == ['admin_auth'] and res['admin_auth']['reason'] == 'origin'
