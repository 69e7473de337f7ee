# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""dotenv_keys main() on real files in a temporary directory."""

from __future__ import annotations

import hashlib
import json
import os
import pwd

import pytest

from ansible_collections.livechat.stack.plugins.modules import dotenv_keys

SECRET = 'vault-secret-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789'
URL = 'http://127.0.0.1:4000'

SITE_ENV = (
    '# Next.js site\r\n'
    'DATABASE_URL="postgresql://site:sitepass@127.0.0.1/site"\r\n'
    'export NEXTAUTH_SECRET=other-secret # keep me\r\n'
    '\r\n'
    "CHAT_SERVER_INTERNAL_URL='http://old:4000'\r\n"
    'MULTI="line1\r\nline2"\r\n'
    'CHAT_ADMIN_JWT_SECRET=old-secret\r\n'
    'TAIL=no-final-newline'
)


def sha(value):
    return hashlib.sha256(value.encode()).hexdigest()


def mode_of(path):
    return os.stat(path).st_mode & 0o7777


def site_args(path, **kw):
    base = dict(path=str(path), keys={'CHAT_ADMIN_JWT_SECRET': SECRET},
                public_keys={'CHAT_SERVER_INTERNAL_URL': URL, 'NEXT_PUBLIC_CHAT_SERVER_URL': ''},
                secret_keys=['CHAT_ADMIN_JWT_SECRET'])
    base.update(kw)
    return base


@pytest.fixture
def site_env(tmp_path):
    path = tmp_path / '.env'
    path.write_bytes(SITE_ENV.encode())
    os.chmod(path, 0o640)
    return path


def test_updates_in_place_and_keeps_every_other_byte(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, site_args(site_env))
    assert not failed, res
    expected = SITE_ENV.replace("CHAT_SERVER_INTERNAL_URL='http://old:4000'",
                                "CHAT_SERVER_INTERNAL_URL='%s'" % URL)
    expected = expected.replace('CHAT_ADMIN_JWT_SECRET=old-secret', 'CHAT_ADMIN_JWT_SECRET=' + SECRET)
    expected += '\r\nNEXT_PUBLIC_CHAT_SERVER_URL=\r\n'
    assert site_env.read_bytes() == expected.encode()
    assert res['changed'] is True and res['created'] is False
    assert res['changed_keys'] == ['CHAT_ADMIN_JWT_SECRET', 'CHAT_SERVER_INTERNAL_URL', 'NEXT_PUBLIC_CHAT_SERVER_URL']
    assert res['added_keys'] == ['NEXT_PUBLIC_CHAT_SERVER_URL']
    assert res['digests'] == {'CHAT_ADMIN_JWT_SECRET': sha(SECRET), 'CHAT_SERVER_INTERNAL_URL': sha(URL),
                              'NEXT_PUBLIC_CHAT_SERVER_URL': sha('')}
    assert res['present'] == dict.fromkeys(res['digests'], True)
    assert mode_of(site_env) == 0o640


def test_second_run_is_idempotent(run_module, site_env):
    run_module(dotenv_keys.main, site_args(site_env))
    before = site_env.read_bytes()
    stat = os.stat(site_env)
    failed, res = run_module(dotenv_keys.main, site_args(site_env))
    assert not failed and res['changed'] is False and res['changed_keys'] == []
    assert site_env.read_bytes() == before and os.stat(site_env).st_ino == stat.st_ino


def test_check_mode_and_diff_write_nothing_and_mask_secrets(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, site_args(site_env, _ansible_check_mode=True, _ansible_diff=True))
    assert not failed and res['changed'] is True
    assert site_env.read_bytes() == SITE_ENV.encode()
    diff = res['diff']
    assert diff['before'] == "CHAT_ADMIN_JWT_SECRET=********\nCHAT_SERVER_INTERNAL_URL=http://old:4000\n"
    assert diff['after'] == ('CHAT_ADMIN_JWT_SECRET=********\nCHAT_SERVER_INTERNAL_URL=%s\n'
                             'NEXT_PUBLIC_CHAT_SERVER_URL=\n' % URL)
    dumped = json.dumps(res)
    # neither the new secret, the old one, nor unmanaged lines (other secrets) appear
    for leak in (SECRET, 'old-secret', 'sitepass', 'other-secret'):
        assert leak not in dumped


def test_public_key_listed_in_secret_keys_is_masked(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, dict(path=str(site_env), public_keys={'TAIL': 'x'},
                                                    secret_keys=['TAIL'], _ansible_diff=True))
    assert not failed and res['diff']['after'] == 'TAIL=********\n'
    assert site_env.read_bytes().endswith(b'\r\nTAIL=x')


def test_secret_never_in_real_module_output(run_module_output, site_env):
    out, res = run_module_output(dotenv_keys.main, site_args(site_env, _ansible_diff=True))
    assert res['changed'] is True
    assert SECRET not in out and 'old-secret' not in out and 'sitepass' not in out
    assert res['invocation']['module_args']['keys'] == {'CHAT_ADMIN_JWT_SECRET': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}
    # the digest survives Ansible's own masking
    assert res['digests']['CHAT_ADMIN_JWT_SECRET'] == sha(SECRET)


def test_creates_private_file(run_module, tmp_path):
    path = tmp_path / 'new.env'
    failed, res = run_module(dotenv_keys.main, site_args(path))
    assert not failed and res['created'] is True and res['changed'] is True
    assert mode_of(path) == 0o600
    assert path.read_text() == ('CHAT_ADMIN_JWT_SECRET=%s\nCHAT_SERVER_INTERNAL_URL=%s\n'
                                'NEXT_PUBLIC_CHAT_SERVER_URL=\n' % (SECRET, URL))
    assert [p.name for p in tmp_path.iterdir()] == ['new.env']


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_owner_group_mode_only_on_creation(run_module, tmp_path, site_env):
    nobody = pwd.getpwnam('nobody')
    path = tmp_path / 'owned.env'
    failed, _res = run_module(dotenv_keys.main, site_args(path, owner='nobody', group=str(nobody.pw_gid), mode='0640'))
    assert not failed
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (nobody.pw_uid, nobody.pw_gid, 0o640)
    # an existing file keeps its owner and mode whatever the options say
    os.chown(site_env, nobody.pw_uid, 0)
    failed, res = run_module(dotenv_keys.main, site_args(site_env, owner='root', mode='0600'))
    assert not failed and res['changed']
    st = os.stat(site_env)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (nobody.pw_uid, 0, 0o640)


def test_check_mode_does_not_create(run_module, tmp_path):
    path = tmp_path / 'new.env'
    failed, res = run_module(dotenv_keys.main, site_args(path, _ansible_check_mode=True))
    assert not failed and res['created'] is True and res['changed'] is True and not path.exists()


def test_create_false_fails_when_missing(run_module, tmp_path):
    failed, res = run_module(dotenv_keys.main, site_args(tmp_path / 'missing.env', create=False))
    assert failed and 'does not exist and create is false' in res['msg']


def test_missing_directory_fails(run_module, tmp_path):
    failed, res = run_module(dotenv_keys.main, site_args(tmp_path / 'no' / 'dir' / '.env'))
    assert failed and 'directory' in res['msg'] and 'does not exist' in res['msg']


def test_duplicates_last_one_changes(run_module, tmp_path):
    path = tmp_path / '.env'
    path.write_text('CHAT_ADMIN_JWT_SECRET=first\nX=1\nCHAT_ADMIN_JWT_SECRET=second\n')
    failed, res = run_module(dotenv_keys.main, dict(path=str(path), keys={'CHAT_ADMIN_JWT_SECRET': SECRET}))
    assert not failed and res['duplicate_keys'] == ['CHAT_ADMIN_JWT_SECRET']
    assert path.read_text() == 'CHAT_ADMIN_JWT_SECRET=first\nX=1\nCHAT_ADMIN_JWT_SECRET=%s\n' % SECRET


@pytest.mark.parametrize('value, line', [
    ('', 'K='),
    (4000, 'K=4000'),
    (True, 'K=true'),
    ('two words', "K='two words'"),
    ("it's", 'K="it\'s"'),
])
def test_value_types_and_quoting(run_module, tmp_path, value, line):
    path = tmp_path / '.env'
    failed, res = run_module(dotenv_keys.main, dict(path=str(path), public_keys={'K': value}))
    assert not failed and path.read_text() == line + '\n'


def test_null_value_leaves_key_alone(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, dict(path=str(site_env),
                                                    public_keys={'TAIL': None, 'NEW_KEY': None}))
    assert not failed and res['changed'] is False and site_env.read_bytes() == SITE_ENV.encode()


def test_dollar_in_value_warns_by_name(run_module_output, tmp_path):
    path = tmp_path / '.env'
    out, res = run_module_output(dotenv_keys.main, dict(path=str(path), keys={'S': 'abc$defghijklmnopqrstuvwxyz0123456'}))
    # ansible-core 2.19 returns warnings as structured events
    assert 'the value of S contains \\"$\\"' in json.dumps(res['warnings'])
    assert 'abc$def' not in out


def test_invalid_inputs(run_module, tmp_path):
    failed, res = run_module(dotenv_keys.main, dict(path=str(tmp_path / 'e'), public_keys={'BAD KEY': 'x'}))
    assert failed and 'not a valid dotenv key name' in res['msg']
    failed, res = run_module(dotenv_keys.main, dict(path=str(tmp_path / 'e'), keys={'A': 'x'}, public_keys={'A': 'y'}))
    assert failed and 'both keys and public_keys: A' in res['msg']
    failed, res = run_module(dotenv_keys.main, dict(path=str(tmp_path), public_keys={'A': 'x'}))
    assert failed and 'is a directory' in res['msg']
    failed, res = run_module(dotenv_keys.main, dict(path=str(tmp_path / 'e'), public_keys={'A': ['list']}))
    assert failed and 'must be a string' in res['msg']


def test_symlink_is_followed(run_module, tmp_path, site_env):
    link = tmp_path / 'link.env'
    link.symlink_to(site_env)
    failed, res = run_module(dotenv_keys.main, dict(path=str(link), public_keys={'TAIL': 'changed'}))
    assert not failed and link.is_symlink() and site_env.read_bytes().endswith(b'TAIL=changed')


def test_backup(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, site_args(site_env, backup=True))
    assert not failed and open(res['backup_file'], 'rb').read() == SITE_ENV.encode()


def test_non_utf8_bytes_survive(run_module, tmp_path):
    path = tmp_path / '.env'
    raw = b'LATIN=caf\xe9\nK=1\n'
    path.write_bytes(raw)
    failed, res = run_module(dotenv_keys.main, dict(path=str(path), public_keys={'K': '2'}))
    assert not failed and path.read_bytes() == b'LATIN=caf\xe9\nK=2\n'


def test_read_returns_digests_and_presence_only(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, dict(path=str(site_env), state='read',
                                                    names=['CHAT_ADMIN_JWT_SECRET', 'MULTI', 'NOPE']))
    assert not failed and res['changed'] is False and res['exists'] is True
    assert res['digests'] == {'CHAT_ADMIN_JWT_SECRET': sha('old-secret'), 'MULTI': sha('line1\nline2'), 'NOPE': None}
    assert res['present'] == {'CHAT_ADMIN_JWT_SECRET': True, 'MULTI': True, 'NOPE': False}
    assert 'old-secret' not in json.dumps(res)


def test_read_compares_given_values(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, dict(path=str(site_env), state='read',
                                                    keys={'CHAT_ADMIN_JWT_SECRET': 'old-secret'},
                                                    public_keys={'TAIL': 'other'}))
    assert not failed and res['matches'] == {'CHAT_ADMIN_JWT_SECRET': True, 'TAIL': False}
    assert site_env.read_bytes() == SITE_ENV.encode()


def test_read_missing_file(run_module, tmp_path):
    failed, res = run_module(dotenv_keys.main, dict(path=str(tmp_path / 'none'), state='read', read_keys=['A']))
    assert not failed and res['exists'] is False and res['present'] == {'A': False}
    assert not (tmp_path / 'none').exists()


def test_absent_removes_only_those_keys(run_module, site_env):
    failed, res = run_module(dotenv_keys.main, dict(path=str(site_env), state='absent',
                                                    names=['CHAT_ADMIN_JWT_SECRET', 'MULTI', 'NOPE']))
    assert not failed and res['changed'] and res['changed_keys'] == ['MULTI', 'CHAT_ADMIN_JWT_SECRET']
    assert site_env.read_bytes() == SITE_ENV.replace('MULTI="line1\r\nline2"\r\n', '').replace(
        'CHAT_ADMIN_JWT_SECRET=old-secret\r\n', '').encode()
    failed, res = run_module(dotenv_keys.main, dict(path=str(site_env), state='absent', names=['MULTI']))
    assert not failed and res['changed'] is False


def test_nothing_to_write_creates_nothing(run_module, tmp_path):
    path = tmp_path / 'none.env'
    failed, res = run_module(dotenv_keys.main, dict(path=str(path), public_keys={'A': None}))
    assert not failed and res['changed'] is False and res['created'] is False and not path.exists()
