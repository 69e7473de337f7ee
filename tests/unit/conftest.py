# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.livechat.stack`` importable when pytest runs from the repository.

``scripts/env.sh`` and ``ansible-test units`` already provide the path; otherwise
the same symlink env.sh makes (``.cache/collections``, git-ignored) is created here.
"""

from __future__ import annotations

import os
import sys


def _ensure_collection_path():
    try:
        import ansible_collections.livechat.stack.plugins.module_utils.dotenv  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    root = os.path.join(repo, '.cache', 'collections')
    ns = os.path.join(root, 'ansible_collections', 'livechat')
    link = os.path.join(ns, 'stack')
    os.makedirs(ns, exist_ok=True)
    if not os.path.exists(link):
        os.symlink(repo, link)
    sys.path.insert(0, root)
    for name in [m for m in sys.modules if m.startswith('ansible_collections')]:
        del sys.modules[name]


_ensure_collection_path()
