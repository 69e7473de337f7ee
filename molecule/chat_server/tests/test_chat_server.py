"""chat_database + chat_server on one Debian 13 host: layout, PM2 (cluster mode), health,
migrations, reboot, a rotated secret, a release switch under load that loses no request, releases
failing their health gates (before and after the switch) and a failing migration, each leaving the
previous release serving.

Tests run in file order; the last ones change the host (restart, failed deploy, new secret).
Every probe of the service runs inside the container against 127.0.0.1.
"""

import hashlib
import json
import os
import shutil
import re
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

USER = "livechat"
BASE = "/opt/livechat"
PM2_HOME = f"/home/{USER}/.pm2"
CONTAINER = "livechat-chat_server"
HERE = Path(__file__).resolve().parent
REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "chat-server"


def pm2(host, args):
    return host.run(f"sudo -u {USER} env PM2_HOME={PM2_HOME} HOME=/home/{USER} pm2 {args}")


def diagnostics(host):
    """What a red run needs to explain itself: PM2 state, logs, journal."""
    parts = []
    for cmd in (
        f"sudo -u {USER} env PM2_HOME={PM2_HOME} pm2 ls",
        f"ls -la {BASE} {BASE}/releases",
        f"tail -n 40 {BASE}/logs/chat-server.log",
        f"tail -n 20 {BASE}/logs/chat-server.err.log",
        f"tail -n 20 {PM2_HOME}/pm2.log",
        "journalctl -u pm2-livechat --no-pager -n 40",
        "journalctl -u postgresql* --no-pager -n 20",
    ):
        res = host.run(cmd)
        parts.append(f"$ {cmd}\n{res.stdout}{res.stderr}")
    return "\n".join(parts)


def health(host, port=4000):
    res = host.run(f"curl -s -o /tmp/health.json -w '%{{http_code}}' http://127.0.0.1:{port}/chat/health")
    body = host.run("cat /tmp/health.json").stdout
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    return res.stdout.strip(), data


def wait_healthy(host, timeout=120):
    deadline = time.time() + timeout
    code, data = "", {}
    while time.time() < deadline:
        code, data = health(host)
        if code == "200":
            return code, data
        time.sleep(3)
    return code, data


OLD_SECRET = "molecule-only-jwt-secret-0123456789abcdef"  # .config/molecule/config.yml
DB_PASSWORD = "molecule-only-db-password"  # .config/molecule/config.yml


def agent_api_status(host, secret):
    """Status of the agent REST API with a token signed (inside the container) with secret."""
    sign = (
        f"printf %s '{secret}' | node -e \""
        "const {sign} = require('/opt/livechat/current/src/jwt.js');"
        "let s = ''; process.stdin.on('data', d => s += d).on('end', () =>"
        " console.log(sign({role: 'admin', sub: 'molecule'}, s, {expiresInSec: 300})));\""
    )
    token = host.run(sign).stdout.strip()
    assert token.count(".") == 2, "could not sign a token"
    return host.run(
        "curl -s -o /dev/null -w '%{http_code}' -H @- http://127.0.0.1:4000/chat/conversations"
        f" <<'EOF'\nAuthorization: Bearer {token}\nEOF"
    ).stdout.strip()


def current_release(host):
    return host.run(f"readlink {BASE}/current").stdout.strip().rsplit("/", 1)[-1]


def run_deploy(tmp_path, extra_vars, *args):
    """Run the user's deploy playbook against the scenario's inventory with extra vars."""
    inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(extra_vars))
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".cache" / "collections")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.setdefault("ANSIBLE_CALLBACK_RESULT_FORMAT", "yaml")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(REPO / "molecule" / "shared" / "converge.yml"),
         "-e", f"@{extra}", *args],
        env=env, capture_output=True, text=True, timeout=1200, check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


# --- layout -------------------------------------------------------------------------------

def test_service_user_is_unprivileged(host):
    user = host.user(USER)
    assert user.exists
    assert user.uid != 0
    assert user.home == f"/home/{USER}"


def test_env_file_is_private(host):
    env = host.file(f"{BASE}/shared/.env")
    assert env.is_file
    assert env.user == USER
    assert env.mode == 0o600
    assert host.file(f"{BASE}/shared").mode == 0o700
    keys = {line.split("=", 1)[0] for line in env.content_string.splitlines() if "=" in line and not line.startswith("#")}
    assert {"CHAT_SERVER_PORT", "CHAT_DATABASE_URL", "CHAT_ADMIN_JWT_SECRET",
            "CHAT_ALLOWED_ORIGINS", "ADMIN_ALLOWED_ORIGINS"} <= keys


def test_current_release_layout(host):
    current = host.file(f"{BASE}/current")
    assert current.is_symlink
    release = current_release(host)
    rdir = f"{BASE}/releases/{release}"
    assert host.file(f"{rdir}/REVISION").content_string.strip() == release
    assert host.file(f"{rdir}/.env").linked_to == f"{BASE}/shared/.env"
    assert not host.file(f"{rdir}/.failed").exists
    eco = host.file(f"{rdir}/.livechat/chat-server.json")
    assert eco.mode == 0o600 and eco.user == USER
    assert "CHAT_ADMIN_JWT_SECRET" not in eco.content_string
    assert "CHAT_DATABASE_URL" not in eco.content_string


# --- PM2 ---------------------------------------------------------------------------------

def test_pm2_unit_enabled_and_running(host):
    unit = host.service("pm2-livechat")
    assert unit.is_enabled
    assert unit.is_running, diagnostics(host)
    assert "After=postgresql.service" in host.file(
        "/etc/systemd/system/pm2-livechat.service.d/livechat.conf").content_string


def test_chat_server_runs_as_service_user(host):
    procs = json.loads(pm2(host, "jlist").stdout)
    names = [p["name"] for p in procs]
    assert names == ["chat-server"], diagnostics(host)
    proc = procs[0]
    assert proc["pm2_env"]["status"] == "online"
    assert proc["pm2_env"]["CHAT_RELEASE_ID"] == current_release(host)
    pid = proc["pid"]
    assert host.run(f"ps -o user= -p {pid}").stdout.strip() == USER
    assert not host.run("pgrep -u root -f '^PM2 v'").stdout.strip(), "a root PM2 daemon runs"


def test_runs_in_cluster_mode_from_the_release_script(host):
    """package.json's start script is "node src/server.js": PM2 runs that file itself in cluster
    mode, through the current link (so a reload picks up a new release), and waits for its ready."""
    proc = json.loads(pm2(host, "jlist").stdout)[0]
    env = proc["pm2_env"]
    assert env["exec_mode"] == "cluster_mode", diagnostics(host)
    assert env["pm_exec_path"] == f"{BASE}/current/src/server.js"
    assert env["wait_ready"] is True
    assert env["listen_timeout"] == 90000
    # the worker runs in the release current points at (its own user may read its cwd; root here lacks ptrace)
    cwd = host.run(f"sudo -u {USER} readlink /proc/{proc['pid']}/cwd").stdout.strip()
    assert cwd == f"{BASE}/releases/{current_release(host)}"


def test_env_digest_matches_env_file(host):
    proc = json.loads(pm2(host, "jlist").stdout)[0]
    digest = host.run(f"sha256sum {BASE}/shared/.env").stdout.split()[0]
    assert proc["pm2_env"]["CHAT_ENV_DIGEST"] == digest


def test_pm2_dump_saved_with_chat_server(host):
    dump = json.loads(host.file(f"{PM2_HOME}/dump.pm2").content_string)
    assert [p["name"] for p in dump] == ["chat-server"]


def test_pm2_logs_rotated(host):
    conf = host.file("/etc/logrotate.d/livechat-pm2")
    assert conf.exists
    res = host.run("logrotate -d /etc/logrotate.d/livechat-pm2")
    assert res.rc == 0, res.stderr


# --- the running service -----------------------------------------------------------------

def test_start_log_lines(host):
    log = host.file(f"{BASE}/logs/chat-server.log").content_string
    for line in ("SERVER_OK port=4000", "DB_OK", "WS_OK visitor=/ws-visitor admin=/ws-admin"):
        assert line in log, diagnostics(host)


def test_health_200_reports_release(host):
    code, data = health(host)
    assert code == "200", diagnostics(host)
    assert data.get("status") == "ok"
    assert data.get("db") == "ok"
    assert data.get("release") == current_release(host)


def test_listens_only_where_expected(host):
    # no web host other than this one: CHAT_SERVER_HOST is the loopback
    listen = [line.split("=", 1)[1] for line in host.file(f"{BASE}/shared/.env").content_string.splitlines()
              if line.startswith("CHAT_SERVER_HOST=")]
    assert listen == ["127.0.0.1"]
    assert host.socket("tcp://127.0.0.1:4000").is_listening, diagnostics(host)
    assert not host.socket("tcp://0.0.0.0:4000").is_listening
    assert not host.socket("tcp://127.0.0.1:4001").is_listening, "candidate left running"


def test_migrations_applied(host):
    applied = host.run(
        "sudo -u postgres psql -d chat -XtAc "
        "\"select count(*) from _prisma_migrations where finished_at is not null and rolled_back_at is null\"")
    assert applied.rc == 0, applied.stderr
    expected = len([d for d in (EXAMPLE / "prisma" / "migrations").iterdir() if d.is_dir()])
    assert int(applied.stdout.strip()) == expected


def test_database_role_is_not_superuser(host):
    res = host.run("sudo -u postgres psql -XtAc \"select rolsuper from pg_roles where rolname='chat'\"")
    assert res.stdout.strip() == "f"


def test_postgres_listens_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening


# --- reboot ------------------------------------------------------------------------------

def test_restarted_container_comes_back_healthy(host):
    before = current_release(host)
    subprocess.run(["docker", "restart", CONTAINER], check=True, timeout=120, capture_output=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if subprocess.run(["docker", "exec", CONTAINER, "systemctl", "is-system-running"],
                          capture_output=True, text=True, check=False).stdout.strip() in ("running", "degraded"):
            break
        time.sleep(2)
    code, data = wait_healthy(host)
    assert code == "200", diagnostics(host)
    assert data.get("release") == before


# --- check mode on a deployed host ------------------------------------------------------

def test_check_mode_with_diff_changes_nothing(host, tmp_path):
    rc, out = run_deploy(tmp_path, {}, "--check", "--diff")
    assert rc == 0, out[-4000:]
    recap = re.search(r"livechat-chat_server\s*:\s*ok=\d+\s+changed=(\d+)", out)
    assert recap and recap.group(1) == "0", out[-4000:]
    assert OLD_SECRET not in out
    assert DB_PASSWORD not in out


# --- other source types ------------------------------------------------------------------

def copy_example_into_container(dest):
    """The example (without node_modules) into dest inside the container, owned by livechat."""
    subprocess.run(["docker", "exec", CONTAINER, "mkdir", "-p", dest], check=True)
    tar = subprocess.run(["tar", "-C", str(EXAMPLE), "--exclude=node_modules", "--exclude=.env",
                          "--exclude=.git", "-cf", "-", "."], check=True, capture_output=True)
    subprocess.run(["docker", "exec", "-i", CONTAINER, "tar", "-C", dest, "--no-same-owner", "-xf", "-"],
                   input=tar.stdout, check=True)
    subprocess.run(["docker", "exec", CONTAINER, "chown", "-R", f"{USER}:{USER}", dest], check=True)


def test_remote_source_with_same_content_reuses_release(host, tmp_path):
    """The release id is a digest of the content: the same code from a path on the host is
    the same release, and nothing changes."""
    before = current_release(host)
    copy_example_into_container("/srv/chat-remote")
    rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "remote", "path": "/srv/chat-remote"}})
    assert rc == 0, out[-4000:]
    recap = re.search(r"livechat-chat_server\s*:\s*ok=\d+\s+changed=(\d+)", out)
    assert recap and recap.group(1) == "0", out[-4000:]
    assert current_release(host) == before


def test_git_source_deploys_a_new_release(host, tmp_path):
    before = current_release(host)
    copy_example_into_container("/srv/chat-git/services/chat-server")
    subprocess.run(["docker", "exec", CONTAINER, "chown", "-R", f"{USER}:{USER}", "/srv/chat-git"], check=True)
    host.run("apt-get install -y -q git >/dev/null")
    res = host.run(
        f"sudo -u {USER} sh -c 'cd /srv/chat-git && git init -q -b main && git add -A "
        "&& git -c user.name=t -c user.email=t@example.invalid commit -qm init && git rev-parse HEAD:services/chat-server'")
    assert res.rc == 0, res.stderr
    tree = res.stdout.strip()
    rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "git", "repo": "/srv/chat-git", "version": "main",
                                                        "subdir": "services/chat-server"}})
    assert rc == 0, out[-4000:]
    release = current_release(host)
    assert release != before
    assert release.endswith("-" + tree[:12])
    assert host.file(f"{BASE}/previous").linked_to == f"{BASE}/releases/{before}"
    code, data = health(host)
    assert code == "200" and data.get("release") == release, diagnostics(host)
    # back to the example from the controller: the earlier release is reused, not rebuilt
    stamp = f"{BASE}/releases/{before}/.livechat/installed"
    installed_at = host.file(stamp).mtime
    rc, out = run_deploy(tmp_path, {})
    assert rc == 0, out[-4000:]
    assert current_release(host) == before
    assert host.file(stamp).mtime == installed_at, "npm ci ran again for a known release"
    code, data = health(host)
    assert code == "200" and data.get("release") == before, diagnostics(host)


# --- PM2 keeps old environments: a rotated secret must reach the process -----------------

def test_rotated_secret_reaches_the_process(host, tmp_path):
    before_pid = json.loads(pm2(host, "jlist").stdout)[0]["pid"]
    release = current_release(host)
    new_secret = hashlib.sha256(os.urandom(32)).hexdigest()
    assert agent_api_status(host, OLD_SECRET) == "200", diagnostics(host)
    rc, out = run_deploy(tmp_path, {"vault_livechat_admin_jwt_secret": new_secret})
    assert rc == 0, out[-4000:]
    assert new_secret not in out, "secret printed in the playbook output"
    assert DB_PASSWORD not in out
    proc = json.loads(pm2(host, "jlist").stdout)[0]
    digest = host.run(f"sha256sum {BASE}/shared/.env").stdout.split()[0]
    assert proc["pm2_env"]["CHAT_ENV_DIGEST"] == digest
    assert proc["pid"] != before_pid
    assert current_release(host) == release
    # the process environment has no secret; the app read it from the new .env
    environ = host.run(f"cat /proc/{proc['pid']}/environ").stdout
    assert new_secret not in environ
    code, data = health(host)
    assert code == "200" and data.get("release") == release
    # the running app uses the new secret: old agent tokens are refused, new ones accepted
    assert agent_api_status(host, new_secret) == "200", diagnostics(host)
    assert agent_api_status(host, OLD_SECRET) == "401"


# --- zero-downtime switch, and releases failing their health gate ------------------------

def example_copy(tmp_path, name, note):
    """A copy of the example (a new release: its content differs by a NOTE file)."""
    src = tmp_path / name
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("node_modules", ".env", ".git"))
    (src / "NOTE").write_text(note + "\n")
    return src


def pm2_app(host):
    procs = json.loads(pm2(host, "jlist").stdout)
    assert [p["name"] for p in procs] == ["chat-server"], diagnostics(host)
    return procs[0]["pm2_env"]


def test_release_switch_under_load_loses_no_request(host, tmp_path):
    """A new release is deployed while 25 probes a second and 20 Socket.IO visitors run against the
    chat-server (inside the container, loopback): no probe fails, both releases answered probes (the
    switch happened under load), every visitor was disconnected by the old process and is connected
    again at the end, and its message is acknowledged."""
    before = current_release(host)
    src = example_copy(tmp_path, "chat-server", "release switch under load")
    subprocess.run(["docker", "cp", str(HERE / "switch_load.js"), f"{CONTAINER}:/root/switch_load.js"], check=True)
    stop = "/root/switch-load.stop"
    host.run(f"rm -f {stop}")
    load = subprocess.Popen(
        ["docker", "exec", CONTAINER, "node", "/root/switch_load.js", "--port=4000", "--rate=25", "--clients=20",
         f"--stop-file={stop}", "--max-seconds=900"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = load.stdout.readline()
        assert ready.strip() == "READY 20/20", ready
        rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "local", "path": str(src)}})
    finally:
        host.run(f"touch {stop}")
        stdout, stderr = load.communicate(timeout=180)
    assert rc == 0, out[-4000:]
    assert load.returncode == 0, stderr
    result = json.loads(stdout.strip().splitlines()[-1])
    # the figures, for whoever wants them after a green run
    (Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", str(tmp_path))) / "switch_load.json").write_text(json.dumps(result))
    release = current_release(host)
    assert release != before
    assert result["stopped_by"] == "stop-file", result
    assert result["probes"]["failed"] == 0, result
    assert set(result["probes"]["releases"]) == {before, release}, result
    assert result["clients_disconnected"] == 20, result
    assert "io server disconnect" not in result["disconnect_reasons"], result
    assert result["clients_connected_at_end"] == 20, result
    assert result["clients_acked_at_end"] == 20, result
    env = pm2_app(host)
    assert env["exec_mode"] == "cluster_mode"
    assert env["CHAT_RELEASE_ID"] == release


def test_release_failing_its_candidate_gate_never_serves(host, tmp_path):
    """A release that exits at start fails as the candidate: current never moves, the release
    and its candidate process are gone, the previous release answers all along."""
    before = current_release(host)
    releases_before = set(host.run(f"ls {BASE}/releases").stdout.split())
    src = example_copy(tmp_path, "chat-server-exits", "exits at start")
    (src / "src" / "server.js").write_text(
        "'use strict';\nprocess.stderr.write('chat-server: this release cannot start\\n');\nprocess.exit(3);\n")
    rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "local", "path": str(src)},
                                    "chat_server_health_timeout": 20})
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert "failed at step 'candidate health gate'" in flat, out[-3000:]
    assert f"The previous release {before} keeps serving" in flat, out[-3000:]
    assert current_release(host) == before
    code, data = health(host)
    assert code == "200" and data.get("release") == before, diagnostics(host)
    assert set(host.run(f"ls {BASE}/releases").stdout.split()) == releases_before
    env = pm2_app(host)
    assert env["status"] == "online" and env["CHAT_RELEASE_ID"] == before


def test_release_failing_after_the_switch_returns_to_the_previous_one(host, tmp_path):
    """A release healthy as the candidate but answering 500 on the real port fails the post-switch
    gate: the deploy switches current back and reloads the previous release by itself, which
    answers again; the failed release is kept, marked failed."""
    before = current_release(host)
    src = example_copy(tmp_path, "chat-server-500", "health 500 on the real port")
    app = src / "src" / "app.js"
    code = app.read_text()
    hook = "if (pathname === '/chat/health' && (req.method === 'GET' || req.method === 'HEAD')) {"
    assert code.count(hook) == 1, "the health handler of the example moved: update this test"
    app.write_text(code.replace(hook, "if (pathname === '/chat/health' && process.env.CHAT_SERVER_PORT === '4000') "
                                      "return sendJson(res, 500, { status: 'error', release: config.releaseId });\n    " + hook))
    rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "local", "path": str(src)},
                                    "chat_server_health_timeout": 20})
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert "failed at step 'post-switch health gate'" in flat, out[-3000:]
    assert f"Switched back to the previous release {before} automatically: it answers /chat/health again" in flat, \
        out[-3000:]
    failed = re.search(r"deploy of release (\S+) failed", flat).group(1)
    assert failed != before
    assert current_release(host) == before
    code, data = health(host)
    assert code == "200" and data.get("release") == before, diagnostics(host)
    assert host.file(f"{BASE}/releases/{failed}/.failed").exists
    env = pm2_app(host)
    assert env["status"] == "online" and env["CHAT_RELEASE_ID"] == before
    assert env["exec_mode"] == "cluster_mode"


# --- acceptance: a broken migration fails at migrate, previous release keeps serving ----

@pytest.fixture()
def broken_copy(tmp_path):
    """A copy of the example with a failing migration, as a .tar.gz with a top folder
    (so the tarball source path with strip_components is exercised too)."""
    src = tmp_path / "chat-server"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("node_modules", ".env", ".git"))
    mig = src / "prisma" / "migrations" / "20990101000000_broken"
    mig.mkdir()
    mig.joinpath("migration.sql").write_text(
        'CREATE TABLE "ShouldNotStay" ("id" TEXT PRIMARY KEY);\nTHIS IS NOT SQL;\n')
    archive = tmp_path / "chat-server-broken.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="chat-server")
    return archive


def test_broken_migration_keeps_previous_release_serving(host, tmp_path, broken_copy):
    before = current_release(host)
    releases_before = set(host.run(f"ls {BASE}/releases").stdout.split())
    rc, out = run_deploy(tmp_path, {"livechat_source": {"type": "local", "path": str(broken_copy),
                                                        "strip_components": 1}})
    assert rc != 0, out[-3000:]
    assert "failed at step 'prisma migrate deploy'" in " ".join(out.split()), out[-3000:]
    assert "prisma migrate resolve" in out
    assert "-migrate.log" in out
    assert current_release(host) == before
    code, data = health(host)
    assert code == "200", diagnostics(host)
    assert data.get("release") == before
    # the never-activated release is gone, no candidate is left behind
    assert set(host.run(f"ls {BASE}/releases").stdout.split()) == releases_before
    names = [p["name"] for p in json.loads(pm2(host, "jlist").stdout)]
    assert names == ["chat-server"]
    # the failed migration is recorded for the operator, never resolved automatically
    failed = host.run("sudo -u postgres psql -d chat -XtAc "
                      "\"select count(*) from _prisma_migrations where migration_name='20990101000000_broken'"
                      " and finished_at is null and rolled_back_at is null\"")
    assert failed.stdout.strip() == "1"
