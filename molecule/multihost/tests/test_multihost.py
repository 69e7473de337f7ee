"""Separate web, chat (two) and database hosts on a private LAN (198.18.0.0/24), Redis on chat1.

Checked from inside the containers, over their LAN addresses only: where each part listens, what the web
host's .env and Nginx upstream point at, a real Socket.IO client through the web host's Nginx, a visitor
on chat1 reaching an agent on chat2 and back (Socket.IO's Redis adapter), PostgreSQL and Redis letting
the chat hosts in. Then a new release is deployed one chat host at a time, and a release that fails its
health gate on the first chat host stops the rolling deploy there: that host returns to its previous
release by itself and the second chat host is left untouched.
The tests run in file order; the last two deploy.
"""

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import testinfra

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
EXAMPLE = REPO / "examples" / "chat-server"
BASE = "/opt/livechat"
CHAT_ENV = f"{BASE}/shared/.env"
SITE_ENV = "/var/www/Website-new/.env"
UPSTREAM = "/etc/nginx/conf.d/livechat-upstream.conf"
HOST_HEADER = "admin1167.com"
ORIGIN = "https://admin1167.com"
ADMIN_ORIGIN = "https://admin1167.net"
PM2 = "runuser -u livechat -- env PM2_HOME=/home/livechat/.pm2 HOME=/home/livechat /usr/local/bin/pm2"
ADDRESS = {
    "web": "198.18.0.10",
    "chat1": "198.18.0.21",
    "chat2": "198.18.0.22",
    "db": "198.18.0.30",
}
CHATS = ("chat1", "chat2")


def _inventory():
    return str(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory")


@pytest.fixture(scope="module")
def hosts():
    return {name: testinfra.get_host(f"ansible://livechat-multihost-{name}", ansible_inventory=_inventory())
            for name in ADDRESS}


def sh(host, cmd):
    res = host.run(cmd)
    assert res.rc == 0, f"{cmd}: rc {res.rc}\n{res.stdout}\n{res.stderr}"
    return res.stdout


def env_value(host, path, key):
    """One key of a dotenv file (the line is read on the host; only that line travels)."""
    res = host.run(f"grep -E '^{key}=' {path}")
    return res.stdout.strip().split("=", 1)[1] if res.rc == 0 else None


def current_release(host):
    return os.path.basename(sh(host, f"readlink {BASE}/current").strip())


def health(host, address):
    res = host.run(f"curl -s -m 10 -w '\\n%{{http_code}}' http://{address}:4000/chat/health")
    body, _sep, code = res.stdout.rpartition("\n")
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    return code.strip(), data


def diagnostics(host):
    parts = []
    for cmd in (f"{PM2} ls", f"ls -la {BASE} {BASE}/releases", f"tail -n 30 {BASE}/logs/chat-server.log",
                "ss -ltn"):
        res = host.run(cmd)
        parts.append(f"$ {cmd}\n{res.stdout}{res.stderr}")
    return "\n".join(parts)


def run_playbook(tmp_path, playbook, extra_vars, *args):
    """A playbook of the collection against the scenario's inventory, with extra vars, as an operator runs it."""
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(extra_vars))
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".cache" / "collections")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(
        ["ansible-playbook", "-i", _inventory(), str(playbook), "-e", f"@{extra}", *args],
        env=env, capture_output=True, text=True, timeout=1800, check=False,
    )
    out = proc.stdout + proc.stderr
    print(out[-6000:])
    return proc.returncode, out


def run_deploy(tmp_path, extra_vars, *args):
    return run_playbook(tmp_path, REPO / "molecule" / "shared" / "converge.yml", extra_vars, *args)


def recap_changed(out):
    """changed= of each host in the PLAY RECAP."""
    return dict(re.findall(r"^(livechat-multihost-\w+)\s*:\s*ok=\d+\s+changed=(\d+)", out.split("PLAY RECAP")[-1], re.M))


def chat_play_batches(out):
    """Hosts named in each "Chat server" play section of the output, in order (one section per batch)."""
    sections = re.split(r"^PLAY \[", out, flags=re.M)[1:]
    return [sorted(set(re.findall(r"\[(livechat-multihost-\w+)\]", s))) for s in sections
            if s.startswith("Chat server]")]


def example_copy(tmp_path, name, note):
    """A copy of the example chat-server that is a new release (its content differs by a NOTE file)."""
    src = tmp_path / name
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("node_modules", ".env", ".git"))
    (src / "NOTE").write_text(note + "\n")
    return src


# --- where each part listens ----------------------------------------------------------------------

@pytest.mark.parametrize("name", CHATS)
def test_chat_server_listens_on_its_lan_address_only(hosts, name):
    host = hosts[name]
    assert env_value(host, CHAT_ENV, "CHAT_SERVER_HOST") == ADDRESS[name]
    assert host.socket(f"tcp://{ADDRESS[name]}:4000").is_listening, diagnostics(host)
    assert not host.socket("tcp://0.0.0.0:4000").is_listening
    assert not host.socket("tcp://127.0.0.1:4000").is_listening
    code, data = health(host, ADDRESS[name])
    assert code == "200" and data.get("db") == "ok", diagnostics(host)


def test_both_chat_hosts_run_the_same_release(hosts):
    releases = {name: current_release(hosts[name]) for name in CHATS}
    assert releases["chat1"] == releases["chat2"], releases
    for name in CHATS:
        assert health(hosts[name], ADDRESS[name])[1].get("release") == releases[name]


def test_web_host_reaches_the_first_chat_host_internally(hosts):
    assert env_value(hosts["web"], SITE_ENV, "CHAT_SERVER_INTERNAL_URL") == f"http://{ADDRESS['chat1']}:4000"
    # and it answers there, from the web host
    code = sh(hosts["web"], f"curl -s -m 10 -o /dev/null -w '%{{http_code}}' http://{ADDRESS['chat1']}:4000/chat/health")
    assert code.strip() == "200"


def test_nginx_upstream_lists_both_chat_hosts_sticky(hosts):
    upstream = hosts["web"].file(UPSTREAM).content_string
    assert re.search(r"^\s*ip_hash;", upstream, re.M), upstream
    servers = re.findall(r"^\s*server\s+(\S+);", upstream, re.M)
    assert servers == [f"{ADDRESS['chat1']}:4000", f"{ADDRESS['chat2']}:4000"], upstream


def test_postgres_listens_on_its_lan_address_and_lets_the_chat_hosts_in(hosts):
    db = hosts["db"]
    assert db.socket(f"tcp://{ADDRESS['db']}:5432").is_listening
    assert db.socket("tcp://127.0.0.1:5432").is_listening
    assert not db.socket("tcp://0.0.0.0:5432").is_listening
    hba = sh(db, "cat \"$(runuser -u postgres -- psql -XtAc 'SHOW hba_file')\"")
    for name in CHATS:
        assert re.search(rf"^host\s+chat\s+chat\s+{re.escape(ADDRESS[name])}/32\s+scram-sha-256\s*$", hba, re.M), hba
    assert ADDRESS["web"] not in hba
    # the chat role's sessions come from the chat hosts' addresses
    clients = sh(db, "runuser -u postgres -- psql -XtAc \"SELECT DISTINCT client_addr FROM pg_stat_activity "
                     "WHERE usename = 'chat' AND client_addr IS NOT NULL\"").split()
    assert set(clients) <= {ADDRESS["chat1"], ADDRESS["chat2"]} and clients, clients


REDIS_PROBE = """
import json, socket, urllib.parse
url = [l.split('=', 1)[1].strip() for l in open('%s') if l.startswith('CHAT_REDIS_URL=')][0]
u = urllib.parse.urlsplit(url)
def ask(payload, replies):
    s = socket.create_connection((u.hostname, u.port), timeout=5)
    s.sendall(payload)
    data = b''
    while data.count(b'\\r\\n') < replies:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode(errors='replace').split('\\r\\n')[:replies]
print(json.dumps({'host': u.hostname, 'port': u.port,
                  'without': ask(b'PING\\r\\n', 1),
                  'with': ask(b'AUTH ' + urllib.parse.unquote(u.password).encode() + b'\\r\\nPING\\r\\n', 2)}))
""" % CHAT_ENV


@pytest.mark.parametrize("name", CHATS)
def test_redis_requires_the_password(hosts, name):
    """From each chat host, at the address of its CHAT_REDIS_URL: PING is refused without the password and
    answered with it (the password is read from the chat-server's .env on the host, never shown)."""
    script = base64.b64encode(REDIS_PROBE.encode()).decode()
    out = json.loads(sh(hosts[name], f"echo {script} | base64 -d | python3 -"))
    assert out["host"] == ("127.0.0.1" if name == "chat1" else ADDRESS["chat1"]), out
    assert out["port"] == 6379
    assert out["without"][0].startswith("-NOAUTH"), out
    assert out["with"] == ["+OK", "+PONG"], out


def test_redis_listens_on_loopback_and_lan_only(hosts):
    chat1 = hosts["chat1"]
    assert chat1.socket("tcp://127.0.0.1:6379").is_listening
    assert chat1.socket(f"tcp://{ADDRESS['chat1']}:6379").is_listening
    assert not chat1.socket("tcp://0.0.0.0:6379").is_listening
    assert chat1.service("redis-server").is_enabled
    conf = chat1.file("/etc/redis/livechat.conf")
    assert conf.mode == 0o640 and conf.group == "redis"
    assert not hosts["chat2"].package("redis-server").is_installed


# --- Socket.IO ----------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_socketio_roundtrip_through_the_web_hosts_nginx(hosts, transport):
    """A real socket.io-client on chat1, through Nginx on the web host (the site's Host header and
    Origin): visitor message to the agent and the reply back. Polling needs the sticky upstream."""
    cmd = ["node", f"{BASE}/current/scripts/chat-client.js", "roundtrip", "--url", f"http://{ADDRESS['web']}",
           "--host-header", HOST_HEADER, "--origin", ORIGIN, "--admin-origin", ADMIN_ORIGIN,
           "--env-file", CHAT_ENV, "--transport", transport]
    res = hosts["chat1"].run(shlex.join(cmd))
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert res.rc == 0 and out["ok"], out


def test_visitor_on_chat1_reaches_agent_on_chat2_and_back(hosts):
    """Only the Redis adapter carries a message from one chat host's Socket.IO server to another's."""
    chat1 = hosts["chat1"]
    script = base64.b64encode((HERE / "cross_node.js").read_bytes()).decode()
    sh(chat1, f"echo {script} | base64 -d > /tmp/cross_node.js")
    for visitor, agent in (("chat1", "chat2"), ("chat2", "chat1")):
        cmd = ["node", "/tmp/cross_node.js", f"http://{ADDRESS[visitor]}:4000", f"http://{ADDRESS[agent]}:4000",
               ORIGIN, ADMIN_ORIGIN, CHAT_ENV]
        res = chat1.run(shlex.join(cmd))
        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert res.rc == 0 and out["ok"], (visitor, agent, out)


# --- check mode and verify ------------------------------------------------------------------------

def test_check_mode_with_diff_changes_nothing_and_shows_no_secret(hosts, tmp_path):
    secrets = hosts["chat1"].ansible.get_variables()
    rc, out = run_deploy(tmp_path, {}, "--check", "--diff")
    assert rc == 0, out[-4000:]
    changed = recap_changed(out)
    assert sorted(changed) == sorted(f"livechat-multihost-{name}" for name in ADDRESS), out[-3000:]
    assert set(changed.values()) == {"0"}, changed
    for key in ("vault_livechat_redis_password", "vault_livechat_db_password", "vault_livechat_admin_jwt_secret"):
        assert secrets[key] not in out, key


def test_verify_passes_on_separate_hosts(tmp_path):
    """The spec's self-check across the hosts: each chat-server where it listens, Nginx on the web host,
    the two .env secrets compared across hosts, migrations against the remote database."""
    rc, out = run_playbook(tmp_path, REPO / "playbooks" / "verify.yml", {})
    assert rc == 0, out[-5000:]
    assert f"{ADDRESS['chat1']}:4000" in out and f"{ADDRESS['chat2']}:4000" in out, out[-5000:]


# --- rolling deploys --------------------------------------------------------------------------------

def test_new_release_is_deployed_one_chat_host_at_a_time(hosts, tmp_path):
    before = {name: current_release(hosts[name]) for name in CHATS}
    src = example_copy(tmp_path, "chat-server-rolling", "rolling deploy")
    rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "local", "path": str(src)}})
    assert rc == 0, out[-4000:]
    # one "Chat server" play section per batch, one chat host in each, chat1 first
    assert chat_play_batches(out) == [["livechat-multihost-chat1"], ["livechat-multihost-chat2"]], out[-4000:]
    after = {name: current_release(hosts[name]) for name in CHATS}
    assert after["chat1"] == after["chat2"] != before["chat1"], (before, after)
    for name in CHATS:
        code, data = health(hosts[name], ADDRESS[name])
        assert code == "200" and data.get("release") == after[name], diagnostics(hosts[name])


def test_rollback_to_previous_on_every_chat_host(hosts, tmp_path):
    previous = {name: os.path.basename(sh(hosts[name], f"readlink {BASE}/previous").strip()) for name in CHATS}
    assert previous["chat1"] == previous["chat2"] != current_release(hosts["chat1"]), previous
    rc, out = run_playbook(tmp_path, REPO / "playbooks" / "rollback.yml", {"livechat_rollback_to": "previous"})
    assert rc == 0, out[-5000:]
    for name in CHATS:
        assert current_release(hosts[name]) == previous[name]
        code, data = health(hosts[name], ADDRESS[name])
        assert code == "200" and data.get("release") == previous[name], diagnostics(hosts[name])


def test_failed_release_stops_the_rolling_deploy_at_the_first_chat_host(hosts, tmp_path):
    """Healthy as the candidate, 500 on the real port after the switch: chat1 switches back to its
    previous release by itself, the deploy stops there, chat2 never sees the release."""
    before = {name: current_release(hosts[name]) for name in CHATS}
    releases_chat2 = sh(hosts["chat2"], f"ls {BASE}/releases").split()
    src = example_copy(tmp_path, "chat-server-500", "health 500 on the real port")
    app = src / "src" / "app.js"
    code = app.read_text()
    hook = "if (pathname === '/chat/health' && (req.method === 'GET' || req.method === 'HEAD')) {"
    assert code.count(hook) == 1, "the health handler of the example moved: update this test"
    app.write_text(code.replace(hook, "if (pathname === '/chat/health' && process.env.CHAT_SERVER_PORT === '4000') "
                                      "return sendJson(res, 500, { status: 'error', release: config.releaseId });\n    "
                                      + hook))
    rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "local", "path": str(src)},
                                    "chat_server_health_timeout": 20})
    assert rc != 0, out[-4000:]
    flat = " ".join(out.split())
    assert "failed at step 'post-switch health gate'" in flat, out[-4000:]
    assert chat_play_batches(out) == [["livechat-multihost-chat1"]], out[-4000:]
    assert "PLAY [Main site .env and Nginx]" not in out
    # chat1 is back on its previous release, by itself
    assert current_release(hosts["chat1"]) == before["chat1"]
    code, data = health(hosts["chat1"], ADDRESS["chat1"])
    assert code == "200" and data.get("release") == before["chat1"], diagnostics(hosts["chat1"])
    # chat2 was never touched
    assert current_release(hosts["chat2"]) == before["chat2"]
    assert sh(hosts["chat2"], f"ls {BASE}/releases").split() == releases_chat2
    code, data = health(hosts["chat2"], ADDRESS["chat2"])
    assert code == "200" and data.get("release") == before["chat2"]
    # and the stack still answers through Nginx
    res = hosts["web"].run(f"curl -s -m 10 -H 'Host: {HOST_HEADER}' http://127.0.0.1/chat/health")
    assert json.loads(res.stdout).get("release") == before["chat1"]
