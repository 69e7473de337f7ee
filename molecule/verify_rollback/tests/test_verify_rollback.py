"""playbooks/verify.yml and playbooks/rollback.yml against the deployed stack (one host in all groups).

The playbooks run with ansible-playbook on this scenario's molecule inventory, as an operator runs them.
The stack is broken one way at a time (database stopped, chat-server stopped, a /ws-* location missing,
an origin missing from CHAT_ALLOWED_ORIGINS, the two secrets different): verify must fail and name the
cause; each test puts the stack back and proves it healthy again. Then playbooks/rotate_secret.yml rotates
CHAT_ADMIN_JWT_SECRET to a random value and back, then a second release is deployed and rolled back to
the previous one, then the spec's rollback runs, and a deploy brings Live Chat back.
The tests run in file order and depend on it (each one leaves the stack healthy, except the last two,
which remove Live Chat and bring it back).
"""

import base64
import contextlib
import hashlib
import json
import os
import pathlib
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time

import pytest

PROJECT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[3]))
SITE_ROOT = "/var/www/Website-new"
SITE_ENV = f"{SITE_ROOT}/.env"
SITE_NGINX = "/etc/nginx/sites-available/admin1167.com"
BASE = "/opt/livechat"
CHAT_ENV = f"{BASE}/shared/.env"
SNIPPET = "/etc/nginx/snippets/livechat-locations.conf"
HOST = "admin1167.com"
PM2 = "runuser -u livechat -- env PM2_HOME=/home/livechat/.pm2 HOME=/home/livechat /usr/local/bin/pm2"
PSQL = "runuser -u postgres -- psql -d chat -tAc"
CLIENT = f"{BASE}/current/scripts/chat-client.js"
# failing checks are retried for this long by verify; short here, the failures are meant
FAST = ["-e", "chat_verify_deadline=3"]
# the operator's site restart hook, given to the rotation runs; it leaves one line per restart
RESTART_HOOK = "date +%s.%N >> .livechat-restarts"
RESTARTS = f"{SITE_ROOT}/.livechat-restarts"
# the inventory's own secret (molecule base config): what the rotation tests rotate back to
INVENTORY_SECRET = "molecule-only-jwt-secret-0123456789abcdef"
# carried from the spec rollback test to the deploy after it (molecule runs pytest without its cache)
STORED = {}


# --- helpers ----------------------------------------------------------------------------------------

def _ansible_env():
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(PROJECT / ".cache" / "collections"))
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    inv = os.environ.get("MOLECULE_INVENTORY_FILE")
    if inv:
        cfg = pathlib.Path(inv).parent.parent / "ansible.cfg"
        if cfg.exists():
            env["ANSIBLE_CONFIG"] = str(cfg)
    return env


def _inventory():
    inv = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inv, "run through molecule (MOLECULE_INVENTORY_FILE is not set)"
    return str(pathlib.Path(inv).parent)  # the folder: the hosts file and molecule's group_vars


def playbook(name, *args, timeout=1200):
    """Run a playbook of the collection; return (rc, output, seconds). The output is printed on failure."""
    exe = pathlib.Path(sys.executable).parent / "ansible-playbook"
    cmd = [str(exe) if exe.exists() else "ansible-playbook", "-i", _inventory(), str(PROJECT / "playbooks" / name), *args]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=_ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    seconds = time.monotonic() - start
    print(f"$ {shlex.join(cmd)}\n(rc {proc.returncode}, {seconds:.1f}s)\n{proc.stdout}")
    return proc.returncode, proc.stdout, seconds


def recap_changed(output):
    """Sum of changed= over the PLAY RECAP lines."""
    return sum(int(n) for n in re.findall(r"\bchanged=(\d+)", output.split("PLAY RECAP")[-1]))


def sh(host, cmd, check=True):
    res = host.run(cmd)
    if check:
        assert res.rc == 0, f"{cmd}: rc {res.rc}\n{res.stdout}\n{res.stderr}"
    return res


def put(host, path, data):
    """Write bytes to path in place (owner and mode kept: the inode stays)."""
    sh(host, f"echo {base64.b64encode(data).decode()} | base64 -d > {shlex.quote(path)}")


def health(host, url="http://127.0.0.1:4000", host_header=None):
    hdr = f"-H 'Host: {host_header}' " if host_header else ""
    res = host.run(f"curl -s -m 5 -o /dev/stdout -w '\\n%{{http_code}}' {hdr}{url}/chat/health")
    body, _sep, code = res.stdout.rpartition("\n")
    try:
        return int(code), json.loads(body)
    except ValueError:
        return int(code or 0), {}


def wait_healthy(host, deadline=90):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        code, body = health(host)
        if code == 200 and body.get("db") == "ok":
            return body
        time.sleep(1)
    pytest.fail(f"chat-server not healthy within {deadline}s: {health(host)}\n{host.run(PM2 + ' logs chat-server --nostream --lines 40').stdout}")


def current_release(host):
    return host.run(f"readlink -f {BASE}/current").stdout.strip().rsplit("/", 1)[-1]


def pm2_names(host):
    out = host.run(f"{PM2} jlist").stdout
    lines = [line for line in out.splitlines() if line.lstrip().startswith("[")]
    return [p["name"] for p in json.loads(lines[-1])] if lines else []


def message_count(host):
    return int(sh(host, f"{PSQL} 'SELECT count(*) FROM messages'").stdout.strip())


def secret_digest(host, path):
    """sha256 of CHAT_ADMIN_JWT_SECRET in a .env on the host (the value stays in this process)."""
    for line in host.file(path).content_string.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().removeprefix("export ").strip() == "CHAT_ADMIN_JWT_SECRET":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            return hashlib.sha256(value.encode()).hexdigest()
    return None


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def chat_server_env(host):
    """The PM2 environment and pid of the running chat-server."""
    out = host.run(f"{PM2} jlist").stdout
    lines = [line for line in out.splitlines() if line.lstrip().startswith("[")]
    procs = json.loads(lines[-1]) if lines else []
    proc = next((p for p in procs if p["name"] == "chat-server"), {})
    return dict(proc.get("pm2_env", {}), pid=proc.get("pid"))


def restart_count(host):
    res = host.run(f"wc -l < {RESTARTS}")
    return int(res.stdout.strip()) if res.rc == 0 else 0


@contextlib.contextmanager
def extra_vars_file(tmp_path, values):
    """A -e @file for ansible-playbook, mode 0600 from the start, deleted afterwards."""
    path = tmp_path / "rotate-vars.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(values, fh)
    try:
        yield f"@{path}"
    finally:
        path.unlink()


def agent(host, env_file, expect, via_nginx=False):
    """An agent token signed with the secret of env_file, on /ws-admin with the real client; rc 0 when as expected."""
    where = ["--url", "http://127.0.0.1", "--host-header", HOST] if via_nginx else ["--url", "http://127.0.0.1:4000"]
    return host.run(" ".join(shlex.quote(a) for a in [
        "node", CLIENT, "admin", *where, "--admin-origin", "https://admin1167.net", "--env-file", env_file,
        "--expect", expect]))


def assert_secret_not_in(output, *values):
    leaked = [i for i, value in enumerate(values) if value in output]
    assert not leaked, "a secret appears in the playbook output"


def assert_fails_naming(output, rc, *needles):
    assert rc != 0, "verify passed on a broken stack"
    flat = " ".join(output.split())  # the yaml callback wraps long lines
    for needle in needles:
        assert needle in flat, f"verify output does not name {needle!r}"


# --- verify on the healthy stack --------------------------------------------------------------------

def test_verify_passes_on_the_healthy_stack(host):
    wait_healthy(host)
    rc, out, _err = playbook("verify.yml")
    assert rc == 0
    assert re.search(r"all \d+ checks passed", out)
    assert "FAIL " not in out
    for check in ("PM2 process online", "PM2 restart count stable", "PM2 runs one chat-server", "PM2 reboot-safe",
                  "nginx -t",
                  "nginx location /ws-visitor/", "secrets equal (digest)", "no pending migration",
                  "release answering", "process newer than .env", "health via CHAT_SERVER_INTERNAL_URL"):
        # the table truncates a check name to 30 characters
        assert re.search(r"OK\s+\|[^|]*\|\s*" + re.escape(check[:29]), out), check


def test_verify_changes_nothing_in_check_mode(host):
    rc, out, _err = playbook("verify.yml", "--check", "--diff")
    assert rc == 0
    assert recap_changed(out) == 0


# --- verify names the cause, one failure at a time --------------------------------------------------

def test_verify_names_a_stopped_database(host):
    sh(host, "systemctl stop postgresql")
    try:
        rc, out, _err = playbook("verify.yml", *FAST)
        assert_fails_naming(out, rc, "[db_down]", "cannot reach its database", "提示「chat-server returned 5xx」")
    finally:
        sh(host, "systemctl start postgresql")
    wait_healthy(host)


def test_verify_names_a_stopped_chat_server(host):
    sh(host, f"{PM2} stop chat-server")
    try:
        rc, out, _err = playbook("verify.yml", *FAST)
        assert_fails_naming(out, rc, "[pm2_not_online]", "[chat_server_down]", "[proxy_upstream_down]",
                            "后台提示「Live Chat 服务未连接」")
    finally:
        sh(host, f"{PM2} start chat-server")
    wait_healthy(host)


def test_verify_names_a_missing_ws_location(host):
    original = host.file(SNIPPET).content
    text = original.decode()
    broken = re.sub(r"(?ms)^[ \t]*location[ \t]+/ws-visitor/[ \t]*\{.*?^[ \t]*\}[ \t]*\n", "", text, count=1)
    assert broken != text, "the snippet has no location /ws-visitor/ block to remove"
    put(host, SNIPPET, broken.encode())
    sh(host, "nginx -t && systemctl reload nginx")
    try:
        rc, out, _err = playbook("verify.yml", *FAST)
        assert_fails_naming(out, rc, "[nginx_location_missing_visitor]", "/ws-visitor is not proxied by Nginx",
                            "[proxy_handshake_failed]", "前台气泡点开一直 Offline")
    finally:
        put(host, SNIPPET, original)
        sh(host, "nginx -t && systemctl reload nginx")
    assert health(host, "http://127.0.0.1", HOST)[0] == 200


def test_verify_names_an_origin_missing_from_chat_allowed_origins(host):
    original = host.file(CHAT_ENV).content
    text = original.decode()
    broken = re.sub(r"(?m)^CHAT_ALLOWED_ORIGINS=.*$", "CHAT_ALLOWED_ORIGINS=https://elsewhere.example", text)
    assert broken != text
    put(host, CHAT_ENV, broken.encode())
    sh(host, f"{PM2} restart chat-server")
    try:
        wait_healthy(host)
        rc, out, _err = playbook("verify.yml", *FAST)
        assert_fails_naming(out, rc, "[origin_refused]", "CHAT_ALLOWED_ORIGINS does not contain https://admin1167.com",
                            "`CHAT_ALLOWED_ORIGINS` 未包含当前站点 https://admin1167.com")
    finally:
        put(host, CHAT_ENV, original)
        sh(host, f"{PM2} restart chat-server")
    wait_healthy(host)


def test_verify_names_a_crash_loop(host):
    original = host.file(CHAT_ENV).content
    text = original.decode()
    # a malformed origin makes the chat-server exit at start; PM2 restarts it again and again
    broken = re.sub(r"(?m)^CHAT_ALLOWED_ORIGINS=.*$", "CHAT_ALLOWED_ORIGINS=not-an-origin", text)
    put(host, CHAT_ENV, broken.encode())
    sh(host, f"{PM2} restart chat-server")
    try:
        rc, out, _err = playbook("verify.yml", *FAST)
        assert_fails_naming(out, rc, "[pm2_restart_loop]", "crashes in a loop", "[chat_server_down]")
    finally:
        put(host, CHAT_ENV, original)
        # `pm2 restart` races PM2's own restart of a crashing process ("pid already exists"), and in cluster
        # mode a stop + start can leave a second worker behind (polling requests of one client then land on
        # a worker that never saw its handshake: HTTP 400); start it again from the release's own PM2 file
        sh(host, f"{PM2} delete chat-server && {PM2} start {BASE}/current/.livechat/chat-server.json && {PM2} save")
    wait_healthy(host)


def test_verify_names_a_second_pm2_process(host):
    # PM2's cluster balancing is not sticky: a second worker makes polling clients fail now and then
    sh(host, f"{PM2} scale chat-server 2")
    try:
        rc, out, _err = playbook("verify.yml", *FAST)
        assert_fails_naming(out, rc, "[pm2_extra_processes]", "more than one chat-server process",
                            "2 processes named chat-server", "pm2 scale chat-server 1")
    finally:
        sh(host, f"{PM2} scale chat-server 1")
    wait_healthy(host)
    rc, out, _err = playbook("verify.yml")
    assert rc == 0, "the stack did not come back healthy"


def test_verify_names_different_secrets(host):
    original = host.file(SITE_ENV).content
    text = original.decode()
    broken = re.sub(r"(?m)^(CHAT_ADMIN_JWT_SECRET=).*$", r"\1another-secret-of-the-main-site-0123456789", text)
    assert broken != text
    put(host, SITE_ENV, broken.encode())
    try:
        rc, out, _err = playbook("verify.yml", *FAST)
        assert_fails_naming(out, rc, "[secrets_differ]", "the site .env differs from the vault",
                            "[admin_token_refused]", "客服连不上 /ws-admin")
        assert "another-secret-of-the-main-site" not in out
    finally:
        put(host, SITE_ENV, original)
    rc, out, _err = playbook("verify.yml")
    assert rc == 0, "the stack did not come back healthy"


# --- secret rotation --------------------------------------------------------------------------------

def test_rotate_secret_refuses_a_weak_secret(host, tmp_path):
    before = secret_digest(host, CHAT_ENV), secret_digest(host, SITE_ENV)
    weak = "replace-me-with-a-real-secret-0123456789"
    with extra_vars_file(tmp_path, {"vault_livechat_admin_jwt_secret": weak}) as extra:
        rc, out, _err = playbook("rotate_secret.yml", "-e", extra)
    assert_fails_naming(out, rc, "livechat_admin_jwt_secret looks like a placeholder")
    assert_secret_not_in(out, weak)
    assert (secret_digest(host, CHAT_ENV), secret_digest(host, SITE_ENV)) == before


def test_rotate_secret_in_check_mode_changes_nothing(host, tmp_path):
    before = secret_digest(host, CHAT_ENV), secret_digest(host, SITE_ENV)
    process = chat_server_env(host)
    restarts = restart_count(host)
    new = secrets.token_hex(32)
    values = {"vault_livechat_admin_jwt_secret": new, "site_env_restart_command": RESTART_HOOK}
    with extra_vars_file(tmp_path, values) as extra:
        rc, out, _err = playbook("rotate_secret.yml", "--check", "--diff", "-e", extra)
    assert rc == 0
    assert_secret_not_in(out, new, INVENTORY_SECRET)
    flat = " ".join(out.split())
    assert "Would write /opt/livechat/shared/.env" in flat
    # the site's .env: the changed key by name (the yaml callback doubles the quotes)
    assert re.search(r"\.env: changed \['+CHAT_ADMIN_JWT_SECRET'+\]", flat)
    assert (secret_digest(host, CHAT_ENV), secret_digest(host, SITE_ENV)) == before
    after = chat_server_env(host)
    assert (after["pid"], after["CHAT_ENV_DIGEST"]) == (process["pid"], process["CHAT_ENV_DIGEST"])
    assert restart_count(host) == restarts


def test_rotate_secret_that_fails_its_health_gate_changes_nothing(host, tmp_path):
    """The chat-server refuses to start with the new .env: the previous .env comes back, the main site is untouched."""
    before = secret_digest(host, CHAT_ENV), secret_digest(host, SITE_ENV)
    env_before = host.file(CHAT_ENV).content
    process = chat_server_env(host)
    restarts = restart_count(host)
    new = secrets.token_hex(32)
    values = {"vault_livechat_admin_jwt_secret": new, "site_env_restart_command": RESTART_HOOK,
              # below the example chat-server's minimum: it exits at start, so the candidate never answers
              "chat_server_env_extra": {"CHAT_HEALTH_TIMEOUT_MS": "1"}, "chat_server_health_timeout": 6}
    with extra_vars_file(tmp_path, values) as extra:
        rc, out, _err = playbook("rotate_secret.yml", "-e", extra)
    assert_fails_naming(out, rc, "failed at step 'candidate health gate'")
    assert_secret_not_in(out, new, INVENTORY_SECRET)
    assert host.file(CHAT_ENV).content == env_before
    assert (secret_digest(host, CHAT_ENV), secret_digest(host, SITE_ENV)) == before
    after = chat_server_env(host)
    assert (after["pid"], after["CHAT_ENV_DIGEST"]) == (process["pid"], process["CHAT_ENV_DIGEST"])
    assert "chat-server-candidate" not in pm2_names(host)
    assert sh(host, f"find {BASE}/shared -name '.env?*'").stdout.split() == []
    assert restart_count(host) == restarts
    assert wait_healthy(host, deadline=5)


def test_rotate_secret_reaches_both_env_files_and_both_processes(host, tmp_path):
    inventory_digest = sha256(INVENTORY_SECRET)
    assert secret_digest(host, CHAT_ENV) == secret_digest(host, SITE_ENV) == inventory_digest
    # the chat-server's .env as it is now (0600, on the host): agents' tokens signed with the old secret
    old_env = "/root/livechat-old-secret.env"
    sh(host, f"install -m 0600 {CHAT_ENV} {old_env}")
    process = chat_server_env(host)
    restarts = restart_count(host)
    new = secrets.token_hex(32)
    try:
        values = {"vault_livechat_admin_jwt_secret": new, "site_env_restart_command": RESTART_HOOK}
        with extra_vars_file(tmp_path, values) as extra:
            rc, out, _err = playbook("rotate_secret.yml", "--diff", "-e", extra)
            assert rc == 0
            assert_secret_not_in(out, new, INVENTORY_SECRET)
            assert re.search(r"all \d+ checks passed", out), "verify did not pass after the rotation"

            # both .env files hold the new secret
            assert secret_digest(host, CHAT_ENV) == secret_digest(host, SITE_ENV) == sha256(new)
            # chat-server was reloaded with the new .env: same release, new process, new .env digest
            after = chat_server_env(host)
            env_sha = sh(host, f"sha256sum {CHAT_ENV}").stdout.split()[0]
            assert after["CHAT_ENV_DIGEST"] == env_sha != process["CHAT_ENV_DIGEST"]
            assert after["CHAT_RELEASE_ID"] == process["CHAT_RELEASE_ID"]
            assert after["pid"] != process["pid"]
            assert "chat-server-candidate" not in pm2_names(host)
            # no copy of the .env with the old secret is left beside it
            assert sh(host, f"find {BASE}/shared -name '.env?*'").stdout.split() == []
            # the main site's restart hook ran once
            assert restart_count(host) == restarts + 1

            # agents: a token signed with the new secret connects, one signed with the old one is refused,
            # on the chat-server directly and through Nginx
            for via_nginx in (False, True):
                res = agent(host, CHAT_ENV, "connected", via_nginx)
                assert res.rc == 0, res.stdout + res.stderr
                res = agent(host, old_env, "refused", via_nginx)
                assert res.rc == 0, res.stdout + res.stderr

            # a second run with the same secret changes nothing and restarts nothing
            rc, out, _err = playbook("rotate_secret.yml", "-e", extra)
            assert rc == 0
            assert recap_changed(out) == 0
            assert chat_server_env(host)["pid"] == after["pid"]
            assert restart_count(host) == restarts + 1
    finally:
        # back to the inventory's secret, for the tests after this one
        with extra_vars_file(tmp_path, {"site_env_restart_command": RESTART_HOOK}) as extra:
            rc, out, _err = playbook("rotate_secret.yml", "-e", extra)
        sh(host, f"rm -f {old_env}")
    assert rc == 0, "rotating back to the inventory's secret failed"
    assert secret_digest(host, CHAT_ENV) == secret_digest(host, SITE_ENV) == inventory_digest
    res = agent(host, CHAT_ENV, "connected", via_nginx=True)
    assert res.rc == 0, res.stdout + res.stderr


# --- release rollback -------------------------------------------------------------------------------

def test_rollback_to_the_previous_release(host, tmp_path):
    first = current_release(host)
    # a second release: the example with one changed file
    src = tmp_path / "chat-server"
    shutil.copytree(PROJECT / "examples" / "chat-server", src, ignore=shutil.ignore_patterns("node_modules", ".env"))
    with open(src / "README.md", "a", encoding="utf-8") as fh:
        fh.write("\nSecond release for the rollback test.\n")
    source = json.dumps({"livechat_source": {"type": "local", "path": str(src)}})
    rc, _out, _err = playbook("deploy.yml", "-e", source)
    assert rc == 0
    second = current_release(host)
    # (the deploy reuses an earlier release of the same source, so its id need not be the newest)
    assert second != first
    assert host.file(f"{BASE}/previous").linked_to == f"{BASE}/releases/{first}"
    assert wait_healthy(host)["release"] == second

    rc, out, seconds = playbook("rollback.yml", "-e", "livechat_rollback_to=previous")
    assert rc == 0
    assert current_release(host) == first
    body = wait_healthy(host, deadline=5)
    assert body["release"] == first
    print(f"release rollback took {seconds:.1f}s (whole ansible-playbook run)")
    assert seconds < 90
    assert f"to {first}" in out

    # idempotent: the previous release already serves
    rc, out, _err = playbook("rollback.yml", "-e", "livechat_rollback_to=previous")
    assert rc == 0
    assert recap_changed(out) == 0
    assert "already serving" in out

    # an unknown release is refused without any change
    rc, out, _err = playbook("rollback.yml", "-e", "livechat_rollback_to=19990101T000000Z-000000000000")
    assert rc != 0 and "does not exist" in out
    assert current_release(host) == first

    rc, out, _err = playbook("verify.yml")
    assert rc == 0, "verify fails after the release rollback"


# --- the spec's rollback, and back --------------------------------------------------------------------

def test_spec_rollback_keeps_site_env_and_messages(host):
    # at least one stored message, through Nginx with the real client
    res = host.run(" ".join(shlex.quote(a) for a in [
        "node", CLIENT, "roundtrip", "--url", "http://127.0.0.1", "--host-header", HOST,
        "--origin", "https://admin1167.com", "--admin-origin", "https://admin1167.net", "--env-file", CHAT_ENV]))
    assert res.rc == 0, res.stdout + res.stderr
    messages = message_count(host)
    assert messages > 0
    env_before = host.file(SITE_ENV).content
    site_before = sh(host, f"curl -s -m 5 -H 'Host: {HOST}' http://127.0.0.1/").stdout

    rc, out, _err = playbook("rollback.yml")
    assert rc == 0
    STORED["messages"] = messages

    assert "chat-server" not in pm2_names(host)
    dump = json.loads(host.file("/home/livechat/.pm2/dump.pm2").content_string or "[]")
    assert "chat-server" not in [p.get("name") for p in dump]
    assert not host.file(SNIPPET).exists
    assert SNIPPET not in host.file(SITE_NGINX).content_string
    sh(host, "nginx -t")
    # the main site still answers, /chat/ is no longer proxied, its .env is byte for byte the same
    assert sh(host, f"curl -s -m 5 -H 'Host: {HOST}' http://127.0.0.1/").stdout == site_before
    assert "db" not in health(host, "http://127.0.0.1", HOST)[1]  # the site's own answer, not the chat-server's
    assert host.file(SITE_ENV).content == env_before
    # the database and its data are untouched
    assert host.service("postgresql").is_running
    assert message_count(host) == messages

    # idempotent, and verify now names what is missing
    rc, out, _err = playbook("rollback.yml")
    assert rc == 0 and recap_changed(out) == 0
    rc, out, _err = playbook("verify.yml", *FAST)
    assert_fails_naming(out, rc, "[pm2_not_online]", "[nginx_location_missing_chat]")


def test_deploy_after_the_spec_rollback_brings_live_chat_back(host):
    rc, _out, _err = playbook("deploy.yml")
    assert rc == 0
    wait_healthy(host)
    rc, _out, _err = playbook("verify.yml")
    assert rc == 0
    assert message_count(host) >= STORED.get("messages", 1)
    res = host.run(" ".join(shlex.quote(a) for a in [
        "node", CLIENT, "roundtrip", "--url", "http://127.0.0.1", "--host-header", HOST,
        "--origin", "https://admin1167.com", "--admin-origin", "https://admin1167.net", "--env-file", CHAT_ENV]))
    assert res.rc == 0, res.stdout + res.stderr


def test_rollback_is_safe_when_nothing_is_deployed(host):
    """Both modes on a host without the service user, PM2 or releases: no change, no crash."""
    rc, out, _err = playbook("rollback.yml", "-e", "chat_rollback_user=nobody-here", "-e", "chat_rollback_base_dir=/nonexistent",
                             "-e", '{"chat_rollback_nginx_sites": [], "chat_rollback_nginx_files": []}')
    assert rc == 0 and recap_changed(out) == 0
    rc, out, _err = playbook("rollback.yml", "-e", "livechat_rollback_to=previous", "-e", "chat_rollback_base_dir=/nonexistent")
    assert rc != 0 and "no release is deployed" in out
    assert wait_healthy(host, deadline=5)
