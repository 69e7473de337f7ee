# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules run by ansible-playbook on localhost: check, diff, idempotence, -vvv, and no secret in any output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.livechat.stack.plugins.modules import dotenv_keys

# <root>/ansible_collections/livechat/stack/plugins/modules/dotenv_keys.py -> <root>
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(dotenv_keys.__file__), *(['..'] * 5)))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
if not os.path.exists(PLAYBOOK_BIN):
    PLAYBOOK_BIN = shutil.which('ansible-playbook')

pytestmark = pytest.mark.skipif(
    not PLAYBOOK_BIN or not os.path.isdir(os.path.join(COLLECTIONS_ROOT, 'ansible_collections', 'livechat', 'stack')),
    reason='ansible-playbook or the collection path not available')

SECRET = 'playbook-secret-0123456789-ABCDEFGHIJKLMNOP'
OLD_SECRET = 'old-playbook-secret-0123456789-abcdefghijk'
OTHER_SECRET = 'unrelated-site-secret-zyxwvu'

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Set the site keys
      livechat.stack.dotenv_keys:
        path: "{{ env_file }}"
        keys:
          CHAT_ADMIN_JWT_SECRET: "{{ secret }}"
        public_keys:
          CHAT_SERVER_INTERNAL_URL: http://127.0.0.1:4000
          NEXT_PUBLIC_CHAT_SERVER_URL: ""
        secret_keys: [CHAT_ADMIN_JWT_SECRET]
      register: out
    - name: Read the digest back
      livechat.stack.dotenv_keys:
        path: "{{ env_file }}"
        state: read
        names: [CHAT_ADMIN_JWT_SECRET]
        keys:
          CHAT_ADMIN_JWT_SECRET: "{{ secret }}"
      register: back
    - name: Digest and match are consistent
      ansible.builtin.assert:
        that:
          - ansible_check_mode or back.matches.CHAT_ADMIN_JWT_SECRET
          - ansible_check_mode or back.digests.CHAT_ADMIN_JWT_SECRET == out.digests.CHAT_ADMIN_JWT_SECRET
"""


def ansible_env(tmp_path):
    # ansible-test units puts a restricted ``ansible`` package on PYTHONPATH: not for the CLI
    env = dict((k, v) for k, v in os.environ.items() if k != 'PYTHONPATH')
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'))
    return env


def playbook(tmp_path, env_file, *extra):
    play = tmp_path / 'play.yml'
    play.write_text(PLAY)
    env = ansible_env(tmp_path)
    cmd = [PLAYBOOK_BIN, '-i', 'localhost,', str(play), '-e', 'env_file=%s' % env_file,
           '-e', 'secret=%s' % SECRET] + list(extra)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_check_diff_then_apply_then_idempotent_without_leaking(tmp_path):
    env_file = tmp_path / 'site.env'
    original = '# site\nAUTH_SECRET=%s\nCHAT_ADMIN_JWT_SECRET=%s\n' % (OTHER_SECRET, OLD_SECRET)
    env_file.write_text(original)
    os.chmod(env_file, 0o640)

    rc, out = playbook(tmp_path, env_file, '--check', '--diff', '-vvv')
    assert rc == 0, out
    assert env_file.read_text() == original
    assert 'CHAT_ADMIN_JWT_SECRET=********' in out and '+CHAT_SERVER_INTERNAL_URL=http://127.0.0.1:4000' in out

    rc, out2 = playbook(tmp_path, env_file, '--diff', '-vvv')
    assert rc == 0, out2
    assert env_file.read_text() == ('# site\nAUTH_SECRET=%s\nCHAT_ADMIN_JWT_SECRET=%s\n'
                                    'CHAT_SERVER_INTERNAL_URL=http://127.0.0.1:4000\nNEXT_PUBLIC_CHAT_SERVER_URL=\n'
                                    % (OTHER_SECRET, SECRET))
    assert os.stat(env_file).st_mode & 0o777 == 0o640
    assert 'changed=1' in out2

    rc, out3 = playbook(tmp_path, env_file, '--diff')
    assert rc == 0 and 'changed=0' in out3, out3

    for text in (out, out2, out3):
        # not the new secret, the one it replaced, nor another secret of the file, even with -vvv
        for secret in (SECRET, OLD_SECRET, OTHER_SECRET):
            assert secret not in text


HEALTH_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Check the chat-server
      livechat.stack.chat_health:
        url: "{{ url }}"
        origin: https://admin1167.com
        admin_origin: https://admin1167.net
        admin_secret: "{{ secret }}"
        timeout: 3
"""


@pytest.mark.parametrize('secret, rc_expected', [
    ('unit-test-secret-0123456789-abcdefghijklmnop', 0),  # the fake server's (conftest.SECRET)
    ('wrong-secret-for-this-server-0123456789-ABCDEF', 2),
])
def test_chat_health_in_playbook(tmp_path, chat_server, secret, rc_expected):
    play = tmp_path / 'health.yml'
    play.write_text(HEALTH_PLAY)
    env = ansible_env(tmp_path)
    proc = subprocess.run([PLAYBOOK_BIN, '-i', 'localhost,', str(play), '-vvv', '-e', 'url=%s' % chat_server.url,
                           '-e', 'secret=%s' % secret], env=env, capture_output=True, text=True, timeout=180, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == rc_expected, out
    assert chat_server.tokens, 'no token reached the server'
    assert secret not in out and chat_server.tokens[0] not in out
    if rc_expected:
        assert 'chat_health: 1 check(s) failed after 1 attempt(s): admin_auth (connect refused' in out
