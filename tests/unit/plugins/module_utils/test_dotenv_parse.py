# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.livechat.stack.plugins.module_utils import dotenv

ROUND_TRIP = [
    '',
    '\n',
    'A=1',
    'A=1\n',
    '# only a comment',
    '\n\n# c\n\n',
    'A=1\r\nB=2\r\n',
    'A=1\r\nB=2',
    'export A=1\n',
    '  export   SPACED = value  # trailing comment\n',
    "S='single # not a comment'\n",
    'D="double\\nescaped"\n',
    'B=`back tick`\n',
    'M="multi\nline\nvalue"\nN=after\n',
    'M="multi\r\nline"\r\nN=after\r\n',
    'U="unterminated\nV=2\n',
    'Y: yaml style\n',
    'not an assignment\n=nokey\n',
    'K=abc#comment\n',
    'E=\nF= \n',
    'Q="a" junk\n',
    'T=\t tabbed\t\n',
    'X=caf\u00e9 \u2603\n',
    'Z=bad-utf8-\udcff\n',
]


@pytest.mark.parametrize('text', ROUND_TRIP)
def test_render_gives_back_every_byte(text):
    assert dotenv.render(dotenv.parse(text)) == text


@pytest.mark.parametrize('text, expected', [
    ('A=1\n', {'A': '1'}),
    ('export A = hello world  # c\n', {'A': 'hello world'}),
    ("S='a # b'\n", {'S': 'a # b'}),
    ("S='lit\\n'\n", {'S': 'lit\\n'}),
    ('D="x\\ny"\n', {'D': 'x\ny'}),
    ('B=`b`\n', {'B': 'b'}),
    ('M="l1\nl2"\n', {'M': 'l1\nl2'}),
    ('M="l1\r\nl2"\r\n', {'M': 'l1\nl2'}),
    ('K=abc#c\n', {'K': 'abc'}),
    ('E=\n', {'E': ''}),
    ('Y: v\n', {'Y': 'v'}),
    ('A=1\nA=2\n', {'A': '2'}),
    ('U="open\nV=2\n', {'U': '"open', 'V': '2'}),
    ('Q="a" junk\n', {'Q': '"a" junk'}),
    ('A=1\r\n', {'A': '1'}),
])
def test_values_as_dotenv_reads_them(text, expected):
    assert dotenv.values(dotenv.parse(text)) == expected


@pytest.mark.parametrize('value, preferred, style', [
    ('plain', None, 'none'),
    ('', None, 'none'),
    ('http://127.0.0.1:4000', None, 'none'),
    ('has space', None, 'single'),
    ('has#hash', None, 'single'),
    ("it's", None, 'double'),
    ('line\nbreak', None, 'double'),
    ('quote"and\'both', None, 'backtick'),
    ('plain', 'double', 'double'),
    ('plain', 'single', 'single'),
    ("it's", 'single', 'double'),
    ('end\\', None, 'none'),
    ('end \\', None, 'none'),
])
def test_choose_style(value, preferred, style):
    chosen = dotenv.choose_style(value, preferred)
    assert chosen == style
    raw = dotenv.quote_value(value, chosen)
    assert dotenv.values(dotenv.parse('K=' + raw + '\n')) == {'K': value}


def test_unrepresentable_value_raises():
    with pytest.raises(dotenv.DotenvError):
        dotenv.choose_style('a\'b"c`d\n', None)


@pytest.mark.parametrize('value', [
    'x', '', 'with space', "single'quote", 'double"quote', 'back`tick', 'hash # inside',
    'dollar $HOME', 'multi\nline', 'tab\tinside', ' leading', 'trailing ', 'caf\u00e9',
    '=equals=', 'a\\b', 'http://u:p@h:5432/db?x=1&y=2',
])
@pytest.mark.parametrize('original', ['K=old\n', "K='old'\n", 'K="old"\n', 'K=`old`\n', 'export K = old # c\n', 'K=\n'])
def test_update_reads_back_and_keeps_the_rest(original, value):
    text = '# head\r\nA=1\n' + original + 'Z=last'
    new, changed, added = dotenv.update(dotenv.parse(text), {'K': value})
    out = dotenv.render(new)
    assert dotenv.values(dotenv.parse(out))['K'] == value
    old = dotenv.values(dotenv.parse(original))['K']
    assert changed == ([] if value == old else ['K']) and added == []
    assert out.startswith('# head\r\nA=1\n') and out.endswith('Z=last')
    if original.startswith('export'):
        assert 'export K = ' in out and out.split('\n')[2].endswith(' # c')


def test_update_keeps_style_when_possible():
    text = "A='x'\nB=\"y\"\nC=z\n"
    new, changed, added = dotenv.update(dotenv.parse(text), {'A': 'new', 'B': 'new', 'C': 'new'})
    assert dotenv.render(new) == "A='new'\nB=\"new\"\nC=new\n"
    assert changed == ['A', 'B', 'C'] and added == []


def test_unchanged_value_keeps_other_quoting():
    text = "A='x'\n"
    new, changed, added = dotenv.update(dotenv.parse(text), {'A': 'x'})
    assert dotenv.render(new) == text and changed == [] and added == []


def test_duplicates_update_last_occurrence():
    text = 'A=1\nB=0\nA=2\n'
    entries = dotenv.parse(text)
    assert dotenv.duplicates(entries) == ['A']
    new, changed, added = dotenv.update(entries, {'A': '3'})
    assert dotenv.render(new) == 'A=1\nB=0\nA=3\n' and changed == ['A'] and added == []


@pytest.mark.parametrize('text, expected', [
    ('', 'N=v\n'),
    ('A=1\n', 'A=1\nN=v\n'),
    ('A=1', 'A=1\nN=v\n'),
    ('A=1\r\n', 'A=1\r\nN=v\r\n'),
    ('A=1\r\nB=2', 'A=1\r\nB=2\r\nN=v\r\n'),
    ('# c', '# c\nN=v\n'),
])
def test_missing_keys_are_appended(text, expected):
    new, changed, added = dotenv.update(dotenv.parse(text), {'N': 'v'})
    assert dotenv.render(new) == expected and changed == added == ['N']


def test_comment_right_after_equals_gets_a_blank():
    new = dotenv.update(dotenv.parse('A=#note\n'), {'A': 'v'})[0]
    assert dotenv.render(new) == 'A=v #note\n'
    assert dotenv.values(new) == {'A': 'v'}


def test_multiline_value_replaced_as_one_entry():
    text = 'P="-----BEGIN\nabc\n-----END"\nQ=1\n'
    new = dotenv.update(dotenv.parse(text), {'P': 'short'})[0]
    assert dotenv.render(new) == 'P="short"\nQ=1\n'


def test_remove_drops_every_assignment_only():
    text = '# keep\nA=1\nB=2\nA=3\n'
    new, removed = dotenv.remove(dotenv.parse(text), ['A', 'missing'])
    assert dotenv.render(new) == '# keep\nB=2\n' and removed == ['A']


@pytest.mark.parametrize('name, ok', [('CHAT_X', True), ('a.b-c', True), ('', False), ('A B', False), ('A=B', False), ('$A', False)])
def test_is_key(name, ok):
    assert dotenv.is_key(name) is ok


def test_sha256_hex_known_answer():
    assert dotenv.sha256_hex('test') == '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
