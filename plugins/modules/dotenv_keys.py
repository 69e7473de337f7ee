#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dotenv_keys
short_description: Manage some keys of a dotenv (.env) file and leave every other byte alone
version_added: "0.1.0"
description:
  - Sets, reads or removes a few keys in a dotenv file such as a Next.js site's C(.env), following
    the grammar of the C(dotenv) npm package (C([export ]KEY=value), single, double or backtick
    quoted values, comments, the last occurrence of a key wins).
  - Every line it does not manage stays byte for byte as it was, including comments, blank lines,
    quoting, C(export) prefixes, order, other keys, CRLF line endings and a missing final newline.
  - An existing key is changed in place at its last (effective) occurrence, keeping its quoting
    style when that style can hold the new value and quoting the value when it needs it. Keys that
    are missing are appended at the end of the file, in the file's line ending. When the file does
    not end with a newline, one is added before appended keys.
  - The file is written atomically (a temporary file in the same directory renamed over it); an
    existing file keeps its owner, group and mode. A new file is created C(0600) unless O(mode) says
    otherwise, and is never readable by others before O(owner), O(group) and O(mode) are applied.
  - Values are never returned. The module returns key names and sha256 digests of values, so that
    two files can be proven to hold the same secret without showing it. The diff shows only the
    managed keys (never other lines, which may hold other secrets), with secret values as C(********).
author:
  - livechat.stack developers (@livechat-stack)
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows the managed keys before and after, secret values masked.
options:
  path:
    description:
      - The dotenv file. A symbolic link is followed and the file it points to is edited.
    type: path
    required: true
  state:
    description:
      - V(present) sets O(keys) and O(public_keys).
      - V(read) changes nothing and returns, for O(names) (default the keys of O(keys) and
        O(public_keys)), whether each is present and the digest of its value; when O(keys) or
        O(public_keys) are given it also returns RV(matches), whether the file holds exactly those values.
      - V(absent) removes every assignment (each line, or each multi-line value) of O(names), default the keys
        of O(keys) and O(public_keys); the rest of the file is kept byte for byte.
    type: str
    choices: [present, read, absent]
    default: present
  keys:
    description:
      - Keys to set, name to value. A value may be the empty string (the key is written as C(KEY=)).
      - A value of V(null) means the key is not managed; it is neither added nor changed.
      - Integers and booleans are written as text (C(4000), C(true)).
      - This option is C(no_log), so Ansible masks each of these values wherever it would appear
        in the output. Put values that are not secret in O(public_keys) to see them in the diff.
    type: dict
    default: {}
  public_keys:
    description:
      - Like O(keys), for values that are not secret (URLs, ports); shown in the diff unless their
        name is in O(secret_keys). A name may not be in both O(keys) and O(public_keys).
    type: dict
    default: {}
  names:
    description:
      - Key names to read (O(state=read)) or remove (O(state=absent)).
    type: list
    elements: str
    aliases: [read_keys]
    default: []
  secret_keys:
    description:
      - Names whose values are shown as C(********) in the diff. Values given in O(keys) are always
        masked; this matters for O(public_keys).
    type: list
    elements: str
    default: []
  create:
    description:
      - Create the file when it does not exist (O(state=present) only). When false, a missing file is an error.
    type: bool
    default: true
  owner:
    description:
      - Owner of the file when the module creates it. An existing file keeps its owner.
    type: str
  group:
    description:
      - Group of the file when the module creates it. An existing file keeps its group.
    type: str
  mode:
    description:
      - Mode of the file when the module creates it, for example V('0640'). An existing file keeps its mode.
    type: raw
    default: '0600'
  backup:
    description:
      - Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
notes:
  - Next.js reads C(.env) through C(dotenv-expand), which expands C($NAME) inside values; the module
    warns (naming the key, not the value) when a value holds C($).
  - Digests are plain sha256 of the value in UTF-8; they reveal nothing useful about a long random
    secret but would about a short or guessable one.
seealso:
  - module: ansible.builtin.lineinfile
  - module: livechat.stack.chat_health
"""

EXAMPLES = r"""
- name: Point the main site at the chat-server
  livechat.stack.dotenv_keys:
    path: /var/www/Website-new/.env
    keys:
      CHAT_ADMIN_JWT_SECRET: "{{ livechat_admin_jwt_secret }}"
    public_keys:
      CHAT_SERVER_INTERNAL_URL: "{{ livechat_internal_url }}"
      NEXT_PUBLIC_CHAT_SERVER_URL: "{{ livechat_public_url }}"
    secret_keys: [CHAT_ADMIN_JWT_SECRET]
  register: site_env
  no_log: true

- name: Rebuild when the public URL changed
  ansible.builtin.command: npm run build
  args:
    chdir: /var/www/Website-new
  when: "'NEXT_PUBLIC_CHAT_SERVER_URL' in site_env.changed_keys"
  changed_when: true

- name: Read the secret's digest from both .env files
  livechat.stack.dotenv_keys:
    path: "{{ item }}"
    state: read
    names: [CHAT_ADMIN_JWT_SECRET]
  loop:
    - /var/www/Website-new/.env
    - /opt/livechat/shared/.env
  register: env_digests

- name: Both files hold the same secret
  ansible.builtin.assert:
    that: >-
      env_digests.results | map(attribute='digests') | map(attribute='CHAT_ADMIN_JWT_SECRET')
      | unique | length == 1
    quiet: true

- name: Does the site still hold the vault's secret?
  livechat.stack.dotenv_keys:
    path: /var/www/Website-new/.env
    state: read
    keys:
      CHAT_ADMIN_JWT_SECRET: "{{ livechat_admin_jwt_secret }}"
  register: site_secret
  failed_when: not site_secret.matches.CHAT_ADMIN_JWT_SECRET
"""

RETURN = r"""
changed_keys:
  description: Keys whose value changed, were added (O(state=present)) or removed (O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: [CHAT_SERVER_INTERNAL_URL]
added_keys:
  description: Keys appended because the file did not have them.
  returned: always
  type: list
  elements: str
  sample: [NEXT_PUBLIC_CHAT_SERVER_URL]
duplicate_keys:
  description: Keys assigned more than once in the file; only the last assignment (the effective one) is changed.
  returned: always
  type: list
  elements: str
  sample: []
digests:
  description:
    - Key name to the sha256 hex digest of its value (after the change), V(null) when the key is absent.
    - Covers the managed keys for O(state=present) and O(names) for O(state=read).
  returned: always
  type: dict
  sample: {CHAT_ADMIN_JWT_SECRET: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
present:
  description: Key name to whether the file assigns it (after the change).
  returned: always
  type: dict
  sample: {CHAT_ADMIN_JWT_SECRET: true}
matches:
  description: With O(state=read) and values given, key name to whether the file holds exactly that value.
  returned: when O(state=read)
  type: dict
  sample: {CHAT_ADMIN_JWT_SECRET: true}
created:
  description: Whether the file was (or, in check mode, would be) created.
  returned: always
  type: bool
  sample: false
exists:
  description: Whether the file exists (after the change).
  returned: always
  type: bool
  sample: true
backup_file:
  description: The backup copy, when O(backup=true) and the file changed.
  returned: changed and O(backup=true)
  type: str
  sample: /var/www/Website-new/.env.12345.2026-11-24@10:00:00~
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.livechat.stack.plugins.module_utils import dotenv

MASK = '********'


def _as_text(module, name, value):
    if value is None:
        return None
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    module.fail_json(msg='the value of %s must be a string, a number, a boolean or null' % name)
    return None


def _check_name(module, name):
    if not dotenv.is_key(name):
        module.fail_json(msg='%r is not a valid dotenv key name (letters, digits, _ . -)' % name)


def _read(module, path):
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        module.fail_json(msg='cannot read %s: %s' % (path, to_native(exc)))
    return data.decode('utf-8', 'surrogateescape')


def _write(module, path, text, creating, owner, group, mode):
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(text.encode('utf-8', 'surrogateescape'))
            handle.flush()
            os.fsync(handle.fileno())
        if creating:
            # atomic_move gives a new file 0666 & ~umask: keep it private until
            # the requested owner and mode are applied.
            old_umask = os.umask(0o077)
            try:
                module.atomic_move(tmp, path)
            finally:
                os.umask(old_umask)
            module.set_owner_if_different(path, owner, False)
            module.set_group_if_different(path, group, False)
            module.set_mode_if_different(path, mode, False)
        else:
            module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _diff_lines(names, vals, masked):
    out = []
    for name in names:
        if vals.get(name) is None:
            continue
        out.append('%s=%s\n' % (name, MASK if name in masked else vals[name]))
    return ''.join(out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='present', choices=['present', 'read', 'absent']),
            keys=dict(type='dict', default={}, no_log=True),
            public_keys=dict(type='dict', default={}),
            names=dict(type='list', elements='str', default=[], aliases=['read_keys']),
            secret_keys=dict(type='list', elements='str', default=[], no_log=False),
            create=dict(type='bool', default=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='raw', default='0600'),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']
    path = os.path.realpath(params['path'])

    result = dict(changed=False, created=False, exists=False, changed_keys=[], added_keys=[],
                  duplicate_keys=[], digests={}, present={})

    overlap = sorted(set(params['keys']) & set(params['public_keys']))
    if overlap:
        module.fail_json(msg='keys given in both keys and public_keys: %s' % ', '.join(overlap), **result)

    wanted = {}
    for source in (params['keys'], params['public_keys']):
        for name, value in source.items():
            _check_name(module, name)
            wanted[name] = _as_text(module, name, value)
    masked = set(params['secret_keys']) | set(params['keys'])
    for name in params['names']:
        _check_name(module, name)

    if os.path.isdir(path):
        module.fail_json(msg='%s is a directory' % path, **result)
    exists = os.path.exists(path)
    text = _read(module, path) if exists else ''
    entries = dotenv.parse(text)
    result['duplicate_keys'] = [k for k in dotenv.duplicates(entries)
                                if k in wanted or k in params['names']]
    before = dotenv.values(entries)

    if state == 'read':
        names = list(params['names']) or list(wanted)
        result['exists'] = exists
        result['present'] = dict((n, n in before) for n in names)
        result['digests'] = dict((n, dotenv.sha256_hex(before[n]) if n in before else None) for n in names)
        result['matches'] = dict((n, before.get(n) == v) for n, v in wanted.items() if v is not None)
        module.exit_json(**result)

    if state == 'absent':
        names = list(params['names']) or list(wanted)
        new_entries, removed = dotenv.remove(entries, names)
        result['changed_keys'] = removed
    else:
        if not exists and not params['create']:
            module.fail_json(msg='%s does not exist and create is false' % path, **result)
        managed = dict((k, v) for k, v in wanted.items() if v is not None)
        try:
            new_entries, changed_keys, added_keys = dotenv.update(entries, managed)
        except dotenv.DotenvError as exc:
            module.fail_json(msg=to_native(exc), **result)
        result['changed_keys'] = changed_keys
        result['added_keys'] = added_keys
        names = list(wanted)
        for name in changed_keys:
            if '$' in managed[name]:
                module.warn('the value of %s contains "$"; dotenv-expand (Next.js) expands $NAME in .env values' % name)

    new_text = dotenv.render(new_entries)
    after = dotenv.values(new_entries)
    # a missing file is created only when there is something to write into it
    creating = not exists and state == 'present' and bool(new_text)
    changed = new_text != text or creating
    result['changed'] = changed
    result['created'] = creating
    result['exists'] = exists or creating
    result['present'] = dict((n, n in after) for n in names)
    result['digests'] = dict((n, dotenv.sha256_hex(after[n]) if n in after else None) for n in names)

    if module._diff:
        result['diff'] = dict(
            before_header='%s (managed keys)' % path,
            after_header='%s (managed keys)' % path,
            before=_diff_lines(names, before, masked) if exists else '',
            after=_diff_lines(names, after, masked),
        )

    if changed and not module.check_mode:
        if not os.path.isdir(os.path.dirname(path) or '.'):
            module.fail_json(msg='directory %s does not exist' % os.path.dirname(path), **result)
        if params['backup'] and exists:
            result['backup_file'] = module.backup_local(path)
        try:
            _write(module, path, new_text, creating, params['owner'], params['group'], params['mode'])
        except Exception as exc:  # pylint: disable=broad-except
            module.fail_json(msg='cannot write %s: %s' % (path, to_native(exc)), **result)

    module.exit_json(**result)


if __name__ == '__main__':
    main()
