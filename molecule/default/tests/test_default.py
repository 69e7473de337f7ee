"""Full stack next to an existing site: one host in chat_databases, chat_servers and web_servers.

Everything is checked from inside the container against 127.0.0.1 (through Nginx with the site's Host
header), with the real socket.io-client of examples/chat-server/scripts/chat-client.js.
"""

import hashlib
import json
import os
import pathlib
import re
import shlex
import subprocess
import tempfile

import pytest

SITE_ROOT = "/var/www/Website-new"
SITE_ENV = f"{SITE_ROOT}/.env"
CHAT_ENV = "/opt/livechat/shared/.env"
SITE_NGINX = "/etc/nginx/sites-available/admin1167.com"
SNIPPET = "/etc/nginx/snippets/livechat-locations.conf"
UPSTREAM = "/etc/nginx/conf.d/livechat-upstream.conf"
UPGRADE_MAP = "/etc/nginx/conf.d/livechat-upgrade-map.conf"
HOST = "admin1167.com"
VISITOR_ORIGIN = "https://admin1167.com"
ADMIN_ORIGIN = "https://admin1167.net"
MANAGED = ("CHAT_ADMIN_JWT_SECRET", "CHAT_SERVER_INTERNAL_URL", "NEXT_PUBLIC_CHAT_SERVER_URL")

PROJECT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[3]))
FIXTURE_ENV = PROJECT / "examples" / "demo-site" / "env"
FIXTURE_NGINX = PROJECT / "examples" / "demo-site" / "admin1167.com.conf"
CLIENT = "/opt/livechat/current/scripts/chat-client.js"


def _key_of(line):
    """Name assigned by a dotenv line (`[export ]KEY=...`), else None."""
    m = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=", line)
    return m.group(1) if m else None


def _value_of(text, key):
    """Value of the last assignment of key (quotes removed), as dotenv reads it."""
    value = None
    for line in text.splitlines():
        if _key_of(line) == key:
            raw = line.split("=", 1)[1].strip()
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"`":
                raw = raw[1:-1]
            value = raw
    return value


def _sha(value):
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture(scope="module")
def vault_secret(host):
    secret = host.ansible.get_variables()["vault_livechat_admin_jwt_secret"]
    assert len(secret) >= 32
    return secret


def _curl(host, path, extra=""):
    return host.run(f"curl -sS -m 10 -o /dev/stdout -w '\\n%{{http_code}}' {extra} -H 'Host: {HOST}' http://127.0.0.1{path}")


def _client(host, mode, *args):
    cmd = ["node", CLIENT, mode, "--url", "http://127.0.0.1", "--host-header", HOST, "--transport", "websocket", *args]
    res = host.run(" ".join(shlex.quote(a) for a in cmd))
    try:
        out = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        out = {}
    return res, out


# --- the main site's .env -------------------------------------------------------------------------

def test_same_secret_in_both_env_files(host, vault_secret):
    site = host.file(SITE_ENV).content_string
    chat = host.file(CHAT_ENV).content_string
    assert _value_of(site, "CHAT_ADMIN_JWT_SECRET") is not None
    assert _sha(_value_of(site, "CHAT_ADMIN_JWT_SECRET")) == _sha(_value_of(chat, "CHAT_ADMIN_JWT_SECRET"))
    assert _sha(_value_of(site, "CHAT_ADMIN_JWT_SECRET")) == _sha(vault_secret)


def test_site_env_values(host):
    site = host.file(SITE_ENV).content_string
    assert _value_of(site, "CHAT_SERVER_INTERNAL_URL") == "http://127.0.0.1:4000"
    assert _value_of(site, "NEXT_PUBLIC_CHAT_SERVER_URL") == ""


def test_site_env_other_lines_byte_identical(host):
    """Every line the role does not own is kept byte for byte, in order; the stale key changed in place."""
    before = FIXTURE_ENV.read_bytes().split(b"\n")
    after = host.file(SITE_ENV).content.split(b"\n")
    keep = [line for line in before if _key_of(line.decode()) not in MANAGED]
    kept = [line for line in after if _key_of(line.decode()) not in MANAGED]
    assert kept == keep
    # CHAT_SERVER_INTERNAL_URL existed: it is rewritten where it was, not appended
    pos_before = [i for i, line in enumerate(before) if line.startswith(b"CHAT_SERVER_INTERNAL_URL=")]
    pos_after = [i for i, line in enumerate(after) if line.startswith(b"CHAT_SERVER_INTERNAL_URL=")]
    assert pos_before == pos_after
    for key in MANAGED:
        assert sum(1 for line in after if _key_of(line.decode()) == key) == 1, key


def test_site_env_owner_and_mode_kept(host):
    f = host.file(SITE_ENV)
    assert f.user == "website"
    assert f.group == "website"
    assert f.mode == 0o640


def test_hooks_ran_once(host):
    """Rebuild and restart ran once for the first deploy, and not again on the idempotence run."""
    restarts = host.file(f"{SITE_ROOT}/.livechat-restarts")
    builds = host.file(f"{SITE_ROOT}/.next/build.log")
    assert restarts.user == "website" and builds.user == "website"
    assert len(restarts.content_string.split()) == 1
    assert len(builds.content_string.split()) == 1
    digest = host.file(f"{SITE_ROOT}/.next/livechat-public.sha256").content_string.strip()
    assert digest == _sha("NEXT_PUBLIC_CHAT_SERVER_URL=\n")


# --- Nginx ------------------------------------------------------------------------------------------

def test_nginx_files(host):
    snippet = host.file(SNIPPET).content_string
    for location in ("/chat/", "/ws-visitor/", "/ws-admin/"):
        assert f"location {location} {{" in snippet
    # no URI part on proxy_pass (it would strip the location prefix)
    assert re.findall(r"^\s*proxy_pass\s+([^;]+);", snippet, re.M) == ["http://livechat_chat_server"] * 3
    assert snippet.count("proxy_read_timeout 3600s;") == 2
    assert snippet.count("Connection $connection_upgrade;") == 2
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in snippet
    upstream = host.file(UPSTREAM).content_string
    assert "server 127.0.0.1:4000;" in upstream
    assert "ip_hash" not in upstream  # one chat host: no sticky needed
    assert "map $http_upgrade $connection_upgrade" in host.file(UPGRADE_MAP).content_string


def test_site_nginx_file_only_gains_the_include(host):
    before = FIXTURE_NGINX.read_text().splitlines()
    after = host.file(SITE_NGINX).content_string.splitlines()
    added = [line for line in after if line not in before]
    assert added == [f"    include {SNIPPET}; # managed by livechat.stack chat_proxy"]
    assert [line for line in after if line in before] == before
    # the include sits right after the server block's opening line
    assert after[after.index("server {") + 1] == added[0]


def test_nginx_config_valid_and_running(host):
    assert host.run("nginx -t").rc == 0
    assert host.service("nginx").is_running


def test_site_own_locations_still_answer(host):
    home = _curl(host, "/")
    body, status = home.stdout.rsplit("\n", 1)
    assert status == "200"
    assert "<p>main site home</p>" in body and 'id="livechat-bubble"' in body
    assert _curl(host, "/chat-bubble.js").stdout.endswith("\n200")
    api = _curl(host, "/api/")
    assert api.stdout.rsplit("\n", 1) == ['{"site":"api"}\n', "200"]


def test_chat_health_through_nginx_answered_by_chat_server(host):
    res = _curl(host, "/chat/health")
    body, status = res.stdout.rsplit("\n", 1)
    assert status == "200", res.stdout + res.stderr
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["db"] == "ok"
    revision = host.file("/opt/livechat/current/REVISION").content_string.strip()
    assert health["release"] == revision != "unknown"


# --- Socket.IO through Nginx over WebSocket -----------------------------------------------------------

def test_visitor_from_allowed_origin_connects(host):
    res, out = _client(host, "visitor", "--origin", VISITOR_ORIGIN)
    assert res.rc == 0 and out.get("result") == "connected", res.stdout + res.stderr


def test_visitor_from_other_origin_refused(host):
    res, out = _client(host, "visitor", "--origin", "https://evil.invalid", "--expect", "refused")
    assert res.rc == 0 and out.get("result") == "refused", res.stdout + res.stderr


def test_websocket_went_through_nginx(host):
    log = host.file("/var/log/nginx/access.log").content_string
    assert re.search(r'"GET /ws-visitor/\?EIO=4&transport=websocket HTTP/1\.1" 101 ', log), log[-2000:]


@pytest.fixture()
def vault_secret_env_file(host, vault_secret):
    """A 0600 dotenv file in the container holding the vault secret (copied, never on a command line)."""
    with tempfile.NamedTemporaryFile("w", delete=False) as tmp:
        os.chmod(tmp.name, 0o600)
        tmp.write(f"CHAT_ADMIN_JWT_SECRET={vault_secret}\n")
    dest = "/root/.livechat-test-agent.env"
    try:
        subprocess.run(["docker", "cp", tmp.name, f"{host.backend.get_hostname()}:{dest}"], check=True)
    finally:
        os.unlink(tmp.name)
    host.run(f"chown root:root {dest} && chmod 0600 {dest}")
    yield dest
    host.run(f"rm -f {dest}")


def test_agent_with_vault_secret_connects(host, vault_secret_env_file):
    res, out = _client(host, "admin", "--admin-origin", ADMIN_ORIGIN, "--env-file", vault_secret_env_file)
    assert res.rc == 0 and out.get("result") == "connected", res.stdout + res.stderr


def test_agent_with_other_secret_refused(host):
    res, out = _client(host, "admin", "--admin-origin", ADMIN_ORIGIN, "--bad-secret", "--expect", "refused")
    assert res.rc == 0 and out.get("result") == "refused", res.stdout + res.stderr


def test_roundtrip_through_nginx(host):
    res, out = _client(host, "roundtrip", "--origin", VISITOR_ORIGIN, "--admin-origin", ADMIN_ORIGIN,
                       "--env-file", SITE_ENV)
    assert res.rc == 0 and out.get("ok") is True, res.stdout + res.stderr


# --- Ansible runs from the test (slow ones last) ------------------------------------------------------

def _ansible_playbook(*args, extra_vars=None):
    env = dict(os.environ)
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *args]
    tmp = None
    if extra_vars is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
            os.chmod(tmp.name, 0o600)
            json.dump(extra_vars, tmp)
        cmd += ["-e", f"@{tmp.name}"]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    finally:
        if tmp is not None:
            os.unlink(tmp.name)


def test_redeploy_verbose_diff_changes_nothing_and_never_shows_the_secret(host, vault_secret):
    res = _ansible_playbook(str(PROJECT / "playbooks" / "deploy.yml"), "-v", "--diff")
    output = res.stdout + res.stderr
    assert res.returncode == 0, output[-4000:]
    assert vault_secret not in output
    recap = re.search(r"livechat-default\s*:.*changed=(\d+).*failed=(\d+)", output)
    assert recap and recap.group(1) == "0" and recap.group(2) == "0", output[-3000:]


def test_check_diff_masks_a_new_secret(host, tmp_path):
    """A rotated secret and a new public URL in check mode: the diff shows the URL, masks the secret, names the
    changed keys, writes nothing."""
    new_secret = hashlib.sha256(os.urandom(16)).hexdigest()
    before = host.file(SITE_ENV).content
    play = tmp_path / "site_env.yml"
    play.write_text(
        "- name: Rotate the site secret (check mode)\n  hosts: web_servers\n  become: true\n"
        "  roles:\n    - role: livechat.stack.site_env\n"
    )
    res = _ansible_playbook(str(play), "--check", "--diff", "-vv",
                            extra_vars={"vault_livechat_admin_jwt_secret": new_secret,
                                        "livechat_public_url": "https://chat.admin1167.com"})
    output = res.stdout + res.stderr
    assert res.returncode == 0, output[-4000:]
    assert new_secret not in output
    assert "CHAT_ADMIN_JWT_SECRET=********" in output
    assert "+NEXT_PUBLIC_CHAT_SERVER_URL=https://chat.admin1167.com" in output
    assert re.search(r"changed \['+CHAT_ADMIN_JWT_SECRET'+, '+NEXT_PUBLIC_CHAT_SERVER_URL'+\]", output), output[-4000:]
    assert host.file(SITE_ENV).content == before


def test_bad_extra_location_is_refused_and_config_restored(host):
    """nginx -t fails on an invalid extra location: previous files back, no reload, error named."""
    files = (SNIPPET, UPSTREAM, UPGRADE_MAP, SITE_NGINX)
    before = {f: host.file(f).sha256sum for f in files}
    master_pid = host.file("/run/nginx.pid").content_string.strip()
    workers = host.run(f"ps --ppid {master_pid} -o pid=").stdout.split()
    assert workers
    play = PROJECT / "molecule" / "default" / "chat_proxy_only.yml"
    res = _ansible_playbook(str(play), extra_vars={"chat_proxy_extra_config": "location /bad/ { bogus_directive on; }"})
    output = res.stdout + res.stderr
    assert res.returncode != 0, output[-3000:]
    assert 'unknown directive "bogus_directive"' in output
    assert "previous files were restored" in output
    assert {f: host.file(f).sha256sum for f in files} == before
    assert "bogus" not in host.file(SNIPPET).content_string
    assert host.run("nginx -t").rc == 0
    # not reloaded: a reload replaces the worker processes
    assert host.run(f"ps --ppid {master_pid} -o pid=").stdout.split() == workers
    assert _curl(host, "/chat/health").stdout.endswith("\n200")
    assert _curl(host, "/api/").stdout.endswith("\n200")


def test_separate_chat_hosts_render_a_sticky_upstream(host, tmp_path):
    """With a second chat host (a documentation address, never contacted) the upstream gets ip_hash and both
    servers; shown in check mode, so nothing on the host changes."""
    before = host.file(UPSTREAM).sha256sum
    extra = tmp_path / "more-chat-hosts.yml"
    extra.write_text(
        "all:\n  children:\n    chat_servers:\n      hosts:\n        chat-b:\n"
        "          ansible_host: 192.0.2.10\n          livechat_advertise_address: 192.0.2.10\n"
    )
    play = PROJECT / "molecule" / "default" / "chat_proxy_only.yml"
    res = _ansible_playbook("-i", str(extra), str(play), "--check", "--diff")
    output = res.stdout + res.stderr
    assert res.returncode == 0, output[-3000:]
    assert "+    ip_hash;" in output
    assert "+    server 192.0.2.10:4000;" in output
    assert " server 127.0.0.1:4000;" in output
    assert host.file(UPSTREAM).sha256sum == before
