# Copyright: (c) 2026, livechat.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.livechat.stack.plugins.module_utils import chat_probe

NGINX_502 = ('<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n'
             '<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.26.3</center>\r\n</body>\r\n</html>\r\n')


@pytest.mark.parametrize('body, excerpt', [
    (NGINX_502, '502 Bad Gateway'),
    ('{"code":3,"message":"Bad request"}', '{"code":3,"message":"Bad request"}'),
    ('', ''),
    ('  many\n  lines\n', 'many lines'),
    ('x' * 500, 'x' * 157 + '...'),
])
def test_body_excerpt(body, excerpt):
    assert chat_probe._body_excerpt(body) == excerpt  # pylint: disable=protected-access


@pytest.mark.parametrize('kw, address, port, host, sni, prefix', [
    (dict(url='http://127.0.0.1:4000'), '127.0.0.1', 4000, '127.0.0.1:4000', '127.0.0.1', ''),
    (dict(url='https://127.0.0.1', host_header='admin1167.com'), '127.0.0.1', 443, 'admin1167.com', 'admin1167.com', ''),
    (dict(url='https://127.0.0.1:8443/app/', host_header='a.example:8443'), '127.0.0.1', 8443, 'a.example:8443', 'a.example', '/app'),
    (dict(url='https://127.0.0.1', host_header='a.example', server_name='b.example'), '127.0.0.1', 443, 'a.example', 'b.example', ''),
    (dict(url='http://[::1]:4000'), '::1', 4000, '[::1]:4000', '::1', ''),
])
def test_target(kw, address, port, host, sni, prefix):
    target = chat_probe.Target(**kw)
    assert (target.address, target.port, target.host_header, target.server_name, target.prefix) == (
        address, port, host, sni, prefix)


@pytest.mark.parametrize('url', ['127.0.0.1:4000', 'ftp://h', 'http://', ''])
def test_target_refuses(url):
    with pytest.raises(ValueError):
        chat_probe.Target(url)
