# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Differential test: the pure parser and the writer against the real ``dotenv`` npm package.

Uses the copy of ``dotenv`` installed with examples/chat-server (a dependency of
prisma); skips when node or that copy is missing (tests/node/run installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.livechat.stack.plugins.module_utils import dotenv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
NPM_DOTENV = os.path.join(REPO, 'examples', 'chat-server', 'node_modules', 'dotenv')

pytestmark = pytest.mark.skipif(not shutil.which('node') or not os.path.isfile(os.path.join(NPM_DOTENV, 'package.json')),
                                reason='node or the dotenv npm package (examples/chat-server/node_modules) missing')

CORPUS = [
    'A=1\n',
    'export A = hello world  # c\n',
    "S='a # b'\n",
    "S='lit\\n'\n",
    'D="x\\ny"\n',
    'B=`b`\n',
    'M="l1\nl2"\nN=after\n',
    'M="l1\r\nl2"\r\nN=after\r\n',
    'K=abc#c\n',
    'E=\nF= \n',
    'Y: v\n',
    'A=1\nA=2\n',
    'U="open\nV=2\n',
    'Q="a" junk\n',
    '# comment\n\n  INDENTED=yes\n',
    'T=\t tabbed\t\n',
    "SQ='it''s'\n",
    'X=caf\u00e9 \u2603\n',
    'URL=postgresql://u:p@127.0.0.1:5432/db?sslmode=disable\n',
    'DQ="has \'single\' inside"\n',
    "SQD='has \"double\" inside'\n",
    'BT=`mixed \'"` # c\n',
    'NOEOL=last',
]

VALUES = ['x', '', 'with space', "single'quote", 'double"quote', 'back`tick', 'hash # inside', 'dollar $HOME',
          'multi\nline', 'tab\tinside', 'caf\u00e9', '=equals=', 'a\\b', 'end\\', 'http://u:p@h:5432/db?x=1&y=2',
          'quote"and\'both']


def npm_parse(texts):
    """Parse each text with the real dotenv.parse; returns a list of dicts."""
    script = ('const d=require(process.argv[1]);let s="";process.stdin.on("data",c=>s+=c);'
              'process.stdin.on("end",()=>{console.log(JSON.stringify(JSON.parse(s).map(t=>d.parse(Buffer.from(t)))))})')
    proc = subprocess.run(['node', '-e', script, NPM_DOTENV], input=json.dumps(texts), capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(proc.stdout)


def test_parser_reads_what_npm_dotenv_reads():
    expected = npm_parse(CORPUS)
    for text, npm in zip(CORPUS, expected):
        assert dotenv.values(dotenv.parse(text)) == npm, text


@pytest.mark.parametrize('original', ['K=old\n', "K='old'\n", 'K="old"\n', 'K=`old`\n', 'export K = old # c\n', ''])
def test_written_values_are_read_back_by_npm_dotenv(original):
    texts = []
    for value in VALUES:
        new = dotenv.update(dotenv.parse('# head\nA=1\n' + original + 'Z=last\n'), {'K': value})[0]
        texts.append(dotenv.render(new))
    for value, parsed in zip(VALUES, npm_parse(texts)):
        assert parsed == {'A': '1', 'K': value, 'Z': 'last'}, (original, value)
