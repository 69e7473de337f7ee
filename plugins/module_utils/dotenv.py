# -*- coding: utf-8 -*-
# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Byte-preserving dotenv parsing and editing (pure functions, no I/O).

The grammar follows the ``dotenv`` npm package (what Next.js and most Node.js
services read): ``[export ]KEY=value`` or ``KEY: value``; values unquoted
(trimmed, ``#`` starts a comment), single quoted (literal), double quoted
(``\\n`` and ``\\r`` expanded) or backtick quoted (literal); quoted values may
span several lines; the last occurrence of a key wins.

A document is kept as a list of :class:`Entry` objects whose ``raw`` texts
concatenate to the original text exactly, so an edit touches only the value
bytes of the entries it changes.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    'Entry', 'parse', 'is_key', 'choose_style', 'duplicates', 'values', 'render', 'unquote', 'quote_value', 'can_quote',
    'detect_newline', 'update', 'remove', 'effective', 'sha256_hex',
    'STYLES', 'DotenvError',
]

# dotenv's key charset is [\w.-]; python's \w is unicode aware like JS's is not,
# so spell it out.
_KEY = r'[A-Za-z0-9_.-]+'
_ASSIGN_RE = re.compile(
    r'(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<key>' + _KEY + r')'
    r'(?P<sep>[ \t]*=[ \t]*|:[ \t]+)'
)
_TRAIL_RE = re.compile(r'[ \t]*(?:#[^\n]*)?$')
_QUOTES = ("'", '"', '`')
_SHELL_SAFE_RE = re.compile(r'^[A-Za-z0-9_./:@,+=%~^-]*$')

#: Quoting styles, in the order a new value tries them.
STYLES = ('none', 'single', 'double', 'backtick')
_STYLE_CHAR = {'single': "'", 'double': '"', 'backtick': '`'}
_CHAR_STYLE = dict((v, k) for k, v in _STYLE_CHAR.items())


class DotenvError(ValueError):
    """A value cannot be written in any dotenv quoting style."""


class Entry(object):
    """One piece of a dotenv document.

    ``raw`` is the exact text (including the line ending); for assignments
    ``key`` is set and ``raw == lead + key + sep + value_raw + trail + eol``.
    """

    __slots__ = ('raw', 'key', 'lead', 'sep', 'value_raw', 'trail', 'eol')

    def __init__(self, raw, key=None, lead='', sep='', value_raw='', trail='', eol=''):
        self.raw = raw
        self.key = key
        self.lead = lead
        self.sep = sep
        self.value_raw = value_raw
        self.trail = trail
        self.eol = eol

    @property
    def style(self):
        """Quoting style of the current value: none, single, double or backtick."""
        stripped = self.value_raw.strip()
        if len(stripped) >= 2 and stripped[0] in _QUOTES and stripped[-1] == stripped[0]:
            return _CHAR_STYLE[stripped[0]]
        return 'none'

    @property
    def value(self):
        """The value as dotenv reads it (None for non-assignment lines)."""
        if self.key is None:
            return None
        return unquote(self.value_raw)

    def with_value_raw(self, value_raw):
        """Return a copy whose value bytes are replaced, everything else kept."""
        return Entry(self.lead + self.key + self.sep + value_raw + self.trail + self.eol,
                     self.key, self.lead, self.sep, value_raw, self.trail, self.eol)

    def __repr__(self):
        return 'Entry(%r, key=%r)' % (self.raw, self.key)


def is_key(name):
    """True for a name dotenv can assign."""
    return bool(re.match(r'^' + _KEY + r'$', name or ''))


def _split_lines(text):
    """Split keeping line endings; the last line may have none."""
    return re.findall(r'[^\n]*\n|[^\n]+$', text)


def _split_eol(line):
    if line.endswith('\r\n'):
        return line[:-2], '\r\n'
    if line.endswith('\n'):
        return line[:-1], '\n'
    return line, ''


def parse(text):
    """Parse dotenv ``text`` into a list of :class:`Entry` (``render`` gives ``text`` back)."""
    lines = _split_lines(text)
    entries = []
    i = 0
    while i < len(lines):
        body, eol = _split_eol(lines[i])
        match = _ASSIGN_RE.match(body)
        if not match:
            entries.append(Entry(lines[i]))
            i += 1
            continue
        rest = body[match.end():]
        lead, key, sep = match.group('lead'), match.group('key'), match.group('sep')
        consumed = _match_quoted(rest, eol, lines, i)
        if consumed is not None:
            value_raw, trail, eol, i = consumed
        else:
            value_raw, trail = _split_unquoted(rest)
            i += 1
        raw = lead + key + sep + value_raw + trail + eol
        entries.append(Entry(raw, key, lead, sep, value_raw, trail, eol))
    return entries


def _match_quoted(rest, eol, lines, index):
    """Try to read a quoted value starting ``rest`` (possibly over several lines).

    Returns ``(value_raw, trail, eol, next_index)`` or None when the value is
    not a complete quoted value followed only by blanks and a comment.
    """
    stripped = rest.lstrip(' \t')
    if not stripped or stripped[0] not in _QUOTES:
        return None
    quote = stripped[0]
    pad = rest[:len(rest) - len(stripped)]
    # Accumulate the logical text until a closing quote (not escaped) is found.
    buf = stripped
    cur_eol = eol
    j = index
    while True:
        end = _find_close(buf, quote)
        if end is not None:
            after = buf[end + 1:]
            if '\n' in after:
                return None
            if _TRAIL_RE.match(after) and _TRAIL_RE.match(after).end() == len(after):
                return pad + buf[:end + 1], after, cur_eol, j + 1
            return None
        # No closing quote on this line: continue on the next one.
        if j + 1 >= len(lines) or not cur_eol:
            return None
        j += 1
        nxt, nxt_eol = _split_eol(lines[j])
        buf = buf + cur_eol + nxt
        cur_eol = nxt_eol


def _find_close(buf, quote):
    """Index of the quote closing ``buf[0]``; ``\\<quote>`` does not close (dotenv's regex)."""
    k = 1
    while k < len(buf):
        c = buf[k]
        if c == '\\' and k + 1 < len(buf) and buf[k + 1] == quote:
            k += 2
            continue
        if c == quote:
            return k
        k += 1
    return None


def _split_unquoted(rest):
    """Unquoted value: up to ``#``; trailing blanks and the comment are the trail."""
    hash_at = rest.find('#')
    value_part = rest if hash_at < 0 else rest[:hash_at]
    comment = '' if hash_at < 0 else rest[hash_at:]
    value_raw = value_part.rstrip(' \t\r')
    return value_raw, value_part[len(value_raw):] + comment


def render(entries):
    """Concatenate entries back to text."""
    return ''.join(e.raw for e in entries)


def unquote(value_raw):
    """Value of a raw dotenv value as the dotenv package reads it."""
    value = value_raw.strip().replace('\r\n', '\n')
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
        quote = value[0]
        value = value[1:-1]
        if quote == '"':
            value = value.replace('\\n', '\n').replace('\\r', '\r')
    return value


def can_quote(value, style):
    """True when ``value`` can be written in ``style`` and read back unchanged."""
    if style == 'none':
        return bool(_SHELL_SAFE_RE.match(value))
    if style == 'double':
        encoded = value.replace('\n', '\\n').replace('\r', '\\r')
        return ('"' not in value and '\\n' not in value and '\\r' not in value
                and not encoded.endswith('\\'))
    quote = _STYLE_CHAR[style]
    return (quote not in value and '\n' not in value and '\r' not in value
            and not value.endswith('\\'))


def quote_value(value, style):
    """Raw text for ``value`` in ``style`` (the caller checked :func:`can_quote`)."""
    if style == 'none':
        return value
    if style == 'double':
        return '"' + value.replace('\n', '\\n').replace('\r', '\\r') + '"'
    quote = _STYLE_CHAR[style]
    return quote + value + quote


def choose_style(value, preferred=None):
    """Preferred style when it can hold ``value``, else the first one that can."""
    order = list(STYLES)
    if preferred in order:
        order.remove(preferred)
        order.insert(0, preferred)
    for style in order:
        if can_quote(value, style):
            return style
    # No quote fits (for example a trailing backslash): dotenv still reads an
    # unquoted value unchanged when it has no '#', line break, edge blanks or
    # leading quote, even if a shell would not.
    if (value == value.strip() and '#' not in value and '\n' not in value and '\r' not in value
            and value[:1] not in _QUOTES):
        return 'none'
    raise DotenvError('value cannot be written in any dotenv quoting style')


def detect_newline(text):
    """The file's line ending: CRLF when its first line ends so, else LF."""
    first = text.find('\n')
    if first > 0 and text[first - 1] == '\r':
        return '\r\n'
    return '\n'


def effective(entries):
    """Map key -> index of its effective (last) entry."""
    found = {}
    for idx, entry in enumerate(entries):
        if entry.key is not None:
            found[entry.key] = idx
    return found


def duplicates(entries):
    """Keys assigned more than once, in order of first appearance."""
    seen = {}
    for entry in entries:
        if entry.key is not None:
            seen[entry.key] = seen.get(entry.key, 0) + 1
    return [k for k, n in seen.items() if n > 1]


def update(entries, values):
    """Set keys to values.

    Existing keys change in place (their last occurrence, keeping the quoting
    style when it can hold the new value); missing keys are appended at the
    end in the order given, in the file's line ending. Returns
    ``(new_entries, changed_keys, added_keys)``.
    """
    new = list(entries)
    where = effective(new)
    changed, added = [], []
    for key, value in values.items():
        if key in where:
            entry = new[where[key]]
            if entry.value == value:
                continue
            style = choose_style(value, entry.style)
            new_raw = quote_value(value, style)
            # keep blanks that sat between the separator and the old quote
            old = entry.value_raw
            pad = old[:len(old) - len(old.lstrip(' \t'))] if entry.style != 'none' else ''
            replaced = entry.with_value_raw(pad + new_raw)
            if not entry.value_raw and entry.trail.startswith('#'):
                # ``KEY=#note`` -> ``KEY=value #note``: a comment needs a blank before it
                replaced = Entry(replaced.raw, key, entry.lead, entry.sep, replaced.value_raw,
                                 ' ' + entry.trail, entry.eol)
                replaced.raw = entry.lead + key + entry.sep + replaced.value_raw + replaced.trail + entry.eol
            new[where[key]] = replaced
            changed.append(key)
        else:
            text = render(new)
            newline = detect_newline(text)
            if text and not text.endswith('\n'):
                last = new[-1]
                new[-1] = Entry(last.raw + newline, last.key, last.lead, last.sep,
                                last.value_raw, last.trail, newline)
            value_raw = quote_value(value, choose_style(value))
            new.append(Entry(key + '=' + value_raw + newline, key, '', '=', value_raw, '', newline))
            where[key] = len(new) - 1
            changed.append(key)
            added.append(key)
    return new, changed, added


def remove(entries, keys):
    """Drop every assignment of ``keys``; returns ``(new_entries, removed_keys)``."""
    keys = set(keys)
    removed = []
    new = []
    for entry in entries:
        if entry.key is not None and entry.key in keys:
            if entry.key not in removed:
                removed.append(entry.key)
            continue
        new.append(entry)
    return new, removed


def values(entries):
    """Dict of effective values."""
    return dict((k, entries[i].value) for k, i in effective(entries).items())


def sha256_hex(value):
    """sha256 hex digest of a value (UTF-8), to compare values without showing them."""
    return hashlib.sha256(value.encode('utf-8', 'surrogateescape')).hexdigest()
