# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks of livechat.stack, measured in one run on this machine (driven by benchmarks/run).

Items (see benchmarks/README.md and docs/benchmarks.md for what each figure means):
  1 cold      cold deploy of the whole stack to a fresh container vs the spec's manual commands
  2 noop      a second deploy with nothing new: wall time and changed count
  3 release   a new release deployed under load (HTTP probes + Socket.IO visitors through Nginx)
  4 rollback  back to the previous release under the same load
  5 fanout    cold deploy to 1 vs N chat hosts (separate database and web hosts on a private LAN)

Containers are named livechat-bench-*, the LAN namespace is lc-bench; both are removed at the end
unless --keep. Every wait and every load loop is bounded; nothing here asserts a timing.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / 'benchmarks'
CACHE = Path(os.environ.get('LIVECHAT_CACHE_DIR', str(Path.home() / '.cache' / 'livechat.stack')))
IMAGE = os.environ.get('LIVECHAT_TEST_IMAGE', 'livechat-stack/debian13-systemd:latest')
PREFIX = 'livechat-bench-'
NETNS = 'lc-bench'
# 198.18.0.0/24: RFC 2544 benchmarking range, only inside our own namespace (scripts/lan); never docker's.
LAN = {'db': '198.18.0.10', 'web': '198.18.0.20', 'chat': '198.18.0.3{}'}
SITE_HOST = 'admin1167.com'
ORIGIN = 'https://admin1167.com'
ADMIN_ORIGIN = 'https://admin1167.net'
SITE_ROOT = '/var/www/Website-new'
NGINX_SITE = '/etc/nginx/sites-available/admin1167.com'
# Debian packages the deploy (or the manual procedure) installs: fetched into each container's apt
# cache before the timed part, so both sides time installing, not downloading (npm downloads are timed).
PREFETCH = ['postgresql', 'python3-psycopg2', 'nodejs', 'npm', 'tar', 'gzip', 'logrotate', 'nginx', 'redis-server']
ITEMS = ['cold', 'noop', 'release', 'rollback', 'fanout']
TITLES_ZH = {
    'cold': '1. 冷部署与手工命令对比',
    'noop': '2. 无变化的再次部署',
    'release': '3. 负载下发布新版本',
    'rollback': '4. 负载下回滚到上一版本',
    'fanout': '5. 扇出：1 台与 N 台 chat 主机',
}
TITLES = {
    'cold': '1. Cold deploy vs the manual commands',
    'noop': '2. Second deploy, nothing new',
    'release': '3. New release under load',
    'rollback': '4. Rollback to the previous release under load',
    'fanout': '5. Fan-out: 1 vs N chat hosts',
}


class BenchError(Exception):
    """A step of a benchmark failed (the message says which and where its log is)."""


def log(msg):
    stamp = datetime.datetime.now().strftime('%H:%M:%S')
    print(f'[bench {stamp}] {msg}', file=sys.stderr, flush=True)


def run(cmd, timeout=600, check=True, log_file=None, input_text=None, env=None):
    """Run a command (never with a secret in its arguments); bounded by timeout."""
    out = open(log_file, 'a', encoding='utf-8') if log_file else subprocess.PIPE
    try:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False,
                              input=input_text, text=True, env=env)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f'{" ".join(cmd[:4])}... did not finish within {timeout} s') from exc
    finally:
        if log_file:
            out.close()
    if check and proc.returncode != 0:
        where = f' (log: {log_file})' if log_file else f': {(proc.stdout or "")[-800:]}'
        raise BenchError(f'{" ".join(cmd[:4])}... exited {proc.returncode}{where}')
    return proc


def docker(*args, timeout=120, check=True, input_text=None):
    return run(['docker', *args], timeout=timeout, check=check, input_text=input_text)


def now_ms():
    return int(time.time() * 1000)


class Bench:
    """One benchmark run: its folder, containers, secrets, results."""

    def __init__(self, opts):
        self.opts = opts
        self.run_dir = Path(opts.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        self.results_file = self.run_dir / 'results.json'
        self.results = json.loads(self.results_file.read_text()) if self.results_file.exists() else {}
        self.started = []  # containers this process started
        self.lan_up = False
        self.single_state = {}
        self.apt_seed = CACHE / 'apt-archives' / 'bench'
        self.apt_seed.mkdir(parents=True, exist_ok=True)
        self.code = self._snapshot()
        self.pm2_version = self._role_default('chat_server', 'chat_server_pm2_version')
        self._secrets()
        self.redis = self._redis_mode()

    # --- setup ------------------------------------------------------------------------------------
    def _snapshot(self):
        """The collection as it is when the run starts (tracked and new files), used by every item of the run.

        Every deploy, the chat-server source and the site preparation come from this copy, so one run measures
        one version of the code even while the working tree changes; --resume keeps using it.
        """
        root = self.run_dir / 'collections'
        code = root / 'ansible_collections' / 'livechat' / 'stack'
        info = self.run_dir / 'code.json'
        if not code.is_dir():
            files = run(['git', '-C', str(REPO), 'ls-files', '-co', '--exclude-standard', '-z'], timeout=60).stdout
            for rel in filter(None, files.split('\0')):
                src = REPO / rel
                if src.is_file() and not src.is_symlink():
                    (code / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, code / rel)
            head = run(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'], timeout=60, check=False).stdout.strip()
            dirty = run(['git', '-C', str(REPO), 'status', '--porcelain', '--untracked-files=no'], timeout=60,
                        check=False).stdout.strip()
            info.write_text(json.dumps({'commit': head, 'uncommitted_changes': bool(dirty)}))
        os.environ['ANSIBLE_COLLECTIONS_PATH'] = str(root)
        return code

    def _role_default(self, role, key):
        text = (self.code / 'roles' / role / 'defaults' / 'main.yml').read_text()
        match = re.search(rf'^{key}:\s*"?([^"\n]+)"?\s*$', text, re.M)
        return match.group(1).strip() if match else ''

    def _redis_mode(self):
        if self.opts.redis == 'auto':
            return (self.code / 'roles' / 'chat_redis').is_dir()
        return self.opts.redis == 'on'

    def _secrets(self):
        """A vault like scripts/demo's (random values, encrypted) and a 0600 copy for the manual run."""
        self.vault = self.run_dir / 'vault.yml'
        self.vault_pass = self.run_dir / 'vault-password'
        self.secrets_env = self.run_dir / 'secrets.env'
        old = os.umask(0o077)
        try:
            if not self.vault.exists() or not self.secrets_env.exists():
                jwt, dbpw, redispw = secrets.token_hex(32), secrets.token_hex(24), secrets.token_hex(24)
                self.vault_pass.write_text(secrets.token_urlsafe(32) + '\n')
                plain = self.run_dir / 'vault.plain.yml'
                plain.write_text('---\n'
                                 f'vault_livechat_admin_jwt_secret: "{jwt}"\n'
                                 f'vault_livechat_db_password: "{dbpw}"\n'
                                 f'vault_livechat_redis_password: "{redispw}"\n')
                try:
                    run(['ansible-vault', 'encrypt', '--vault-password-file', str(self.vault_pass),
                         '--output', str(self.vault), str(plain)], timeout=60)
                finally:
                    plain.unlink()
                self.secrets_env.write_text(f'JWT_SECRET={jwt}\nDB_PASSWORD={dbpw}\n')
        finally:
            os.umask(old)

    def save(self):
        tmp = self.results_file.with_suffix('.tmp')
        tmp.write_text(json.dumps(self.results, indent=2, sort_keys=True))
        tmp.replace(self.results_file)

    # --- containers -------------------------------------------------------------------------------
    def _apt_dir(self, name):
        return CACHE / 'apt-archives' / f'bench-{name}'

    def start_container(self, name, publish=False):
        """A fresh systemd container from the test image, with its own apt cache seeded from the bench seed."""
        assert name.startswith(PREFIX)
        self.remove_container(name)
        apt_dir = self._apt_dir(name)
        shutil.rmtree(apt_dir, ignore_errors=True)
        (apt_dir / 'partial').mkdir(parents=True)
        for deb in self.apt_seed.glob('*.deb'):
            try:
                os.link(deb, apt_dir / deb.name)
            except OSError:
                shutil.copy2(deb, apt_dir / deb.name)
        args = ['run', '-d', '--name', name, '--hostname', name, '--label', 'livechat.bench=1',
                '--cap-add', 'SYS_ADMIN', '--cgroupns=host', '--security-opt', 'seccomp=unconfined',
                '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/run', '--tmpfs', '/run/lock', '--tmpfs', '/tmp',
                '-v', f'{apt_dir}:/var/cache/apt/archives:rw']
        if publish:
            args += ['-p', '127.0.0.1::80']  # loopback only
        docker(*args, IMAGE, '/sbin/init')
        self.started.append(name)
        log(f'started container {name}')

    def remove_container(self, name):
        assert name.startswith(PREFIX)
        docker('rm', '-f', name, check=False, timeout=120)
        self.harvest(name)
        if name in self.started:
            self.started.remove(name)

    def harvest(self, name):
        """Keep the .deb files a container downloaded in the bench seed, for the next containers."""
        apt_dir = self._apt_dir(name)
        if not apt_dir.is_dir():
            return
        for deb in apt_dir.glob('*.deb'):
            target = self.apt_seed / deb.name
            if not target.exists():
                try:
                    os.link(deb, target)
                except OSError:
                    shutil.copy2(deb, target)
        shutil.rmtree(apt_dir, ignore_errors=True)

    def published_port(self, name):
        out = docker('port', name, '80/tcp').stdout.strip().splitlines()
        for line in out:
            if line.startswith('127.0.0.1:'):
                return int(line.rsplit(':', 1)[1])
        raise BenchError(f'{name}: port 80 is not published on 127.0.0.1 ({out})')

    def prepare_hosts(self, names, inventory, web_hosts, log_name):
        """Untimed preparation: boot finished, apt index, Debian packages fetched, the existing main site."""
        def one(name):
            docker('exec', name, 'systemctl', 'is-system-running', '--wait', timeout=180, check=False)
            docker('exec', name, 'apt-get', 'update', '-qq', timeout=600)
            docker('exec', '-e', 'DEBIAN_FRONTEND=noninteractive', name, 'apt-get', 'install', '-y', '-qq',
                   '--download-only', *PREFETCH, timeout=900)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
            for fut in [pool.submit(one, n) for n in names]:
                fut.result()
        for name in names:  # later containers of this run start with these packages too
            apt_dir = self._apt_dir(name)
            for deb in apt_dir.glob('*.deb'):
                if not (self.apt_seed / deb.name).exists():
                    shutil.copy2(deb, self.apt_seed / deb.name)
        if web_hosts:
            self.playbook(inventory, str(self.code / 'examples' / 'prepare-demo-site.yml'), log_name, timeout=1200)

    def lan(self, specs):
        run([str(REPO / 'scripts' / 'lan'), 'up', NETNS, *specs], timeout=120)
        self.lan_up = True

    def lan_down(self):
        if self.lan_up:  # only a namespace this process made
            run([str(REPO / 'scripts' / 'lan'), 'down', NETNS], timeout=120, check=False)
        self.lan_up = False

    def cleanup(self):
        if self.opts.keep:
            log(f'--keep: containers left running: {" ".join(self.started) or "none"}')
            return
        for name in list(self.started):
            self.remove_container(name)
        self.lan_down()

    # --- inventories and playbooks ----------------------------------------------------------------
    def inventory(self, key, groups, host_vars=None, extra=None):
        """Write an inventory (YAML as JSON) for containers reached with docker exec; returns its path."""
        hosts = sorted({h for members in groups.values() for h in members})
        data_vars = {
            'ansible_connection': 'community.docker.docker',
            'ansible_user': 'root',
            'ansible_python_interpreter': '/usr/bin/python3',
            'livechat_admin_jwt_secret': '{{ vault_livechat_admin_jwt_secret }}',
            'livechat_port': 4000,
            'livechat_internal_url': '',
            'livechat_public_url': '',
            'livechat_allowed_origins': [ORIGIN],
            'livechat_admin_allowed_origins': [ADMIN_ORIGIN],
            'livechat_database_url': 'postgresql://chat:{{ vault_livechat_db_password }}@127.0.0.1:5432/chat',
            'livechat_source': {'type': 'local', 'path': str(self.code / 'examples' / 'chat-server')},
            'livechat_site_root': SITE_ROOT,
            'livechat_nginx_sites': [NGINX_SITE],
            # Prisma's engine host is unreachable here (as for scripts/demo): the offline bridge.
            'chat_server_prisma_offline_engine': True,
        }
        data_vars.update(extra or {})
        inv = {'all': {
            'vars': data_vars,
            'hosts': {h: dict({'ansible_host': h}, **(host_vars or {}).get(h, {})) for h in hosts},
            'children': {g: {'hosts': {h: None for h in members}} for g, members in groups.items()},
        }}
        path = self.run_dir / f'inventory-{key}.yml'
        path.write_text(json.dumps(inv, indent=2))
        return path

    def playbook(self, inventory, playbook, log_name, extra_args=(), timeout=3600):
        """Run ansible-playbook; returns wall seconds, rc and the changed counts of the play recap."""
        log_file = self.run_dir / f'{log_name}.log'
        cmd = ['ansible-playbook', '-i', str(inventory), '-e', f'@{self.vault}',
               '--vault-password-file', str(self.vault_pass), *extra_args, playbook]
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
        log(f'ansible-playbook {playbook} ({log_name}; log {log_file})')
        with open(log_file, 'a', encoding='utf-8') as fh:
            fh.write(f'\n#### {datetime.datetime.now().isoformat()} {" ".join(cmd)}\n')
        t0 = time.monotonic()
        proc = run(cmd, timeout=timeout, check=False, log_file=log_file, env=env)
        seconds = time.monotonic() - t0
        text = log_file.read_text(encoding='utf-8', errors='replace')
        text = text[text.rfind('\n#### '):]
        recap = {m.group(1): {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))}
                 for m in re.finditer(r'^(\S+)\s+:\s+(ok=.*)$', text, re.M)}
        result = {'seconds': round(seconds, 1), 'rc': proc.returncode,
                  'changed': sum(h.get('changed', 0) for h in recap.values()), 'recap': recap, 'log': str(log_file)}
        if proc.returncode != 0:
            raise BenchError(f'{playbook} failed (rc {proc.returncode}); log: {log_file}')
        return result

    # --- the single-host stack used by items 1-4 ----------------------------------------------------
    def single_inventory(self):
        groups = {g: ['livechat-bench-single'] for g in ('chat_databases', 'chat_servers', 'web_servers')}
        return self.inventory('single', groups)

    def health(self, port):
        req = urllib.request.Request(f'http://127.0.0.1:{port}/chat/health', headers={'Host': SITE_HOST})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # nosec: loopback only
                return json.loads(resp.read().decode())
        except (urllib.error.URLError, OSError, ValueError):
            return {}

    def single_ready(self):
        """The single-host stack is up (from this run or kept): its port and answering release, else None."""
        name = 'livechat-bench-single'
        state = docker('inspect', '-f', '{{.State.Running}}', name, check=False).stdout.strip()
        if state != 'true':
            return None
        if name not in self.started:
            self.started.append(name)
        port = self.published_port(name)
        release = self.health(port).get('release')
        return (port, release) if release else None

    def new_single(self):
        name = 'livechat-bench-single'
        self.start_container(name, publish=True)
        self.prepare_hosts([name], self.single_inventory(), True, 'single-prepare')
        return name

    def ensure_single_deployed(self):
        ready = self.single_ready()
        if ready:
            return ready
        log('setting up the single-host stack (untimed)')
        self.new_single()
        self.playbook(self.single_inventory(), 'livechat.stack.deploy', 'single-setup-deploy')
        ready = self.single_ready()
        if not ready:
            raise BenchError('the single-host stack does not answer /chat/health after its deploy')
        return ready

    def new_release_source(self, tag):
        """A copy of examples/chat-server with ONE changed file: a new source digest, hence a new release."""
        dest = self.run_dir / f'release-{tag}'
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(self.code / 'examples' / 'chat-server', dest, ignore=shutil.ignore_patterns('node_modules', '.env'))
        with open(dest / 'README.md', 'a', encoding='utf-8') as fh:
            fh.write(f'\n<!-- benchmark release {tag} {datetime.datetime.now(datetime.timezone.utc).isoformat()} -->\n')
        extra = self.run_dir / f'source-{tag}.json'
        extra.write_text(json.dumps({'livechat_source': {'type': 'local', 'path': str(dest)}}))
        return extra

    # --- load ----------------------------------------------------------------------------------------
    def start_load(self, port, log_name):
        node_path = os.environ.get('BENCH_NODE_PATH', '')
        env = dict(os.environ, NODE_PATH=node_path)
        cmd = ['node', str(BENCH_DIR / 'load.js'), '--port', str(port), '--host', SITE_HOST, '--origin', ORIGIN,
               '--rate', str(self.opts.rate), '--clients', str(self.opts.clients),
               '--transport', self.opts.transport, '--max-seconds', str(self.opts.load_max_seconds)]
        err = open(self.run_dir / f'{log_name}.load.err', 'w', encoding='utf-8')  # pylint: disable=consider-using-with
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=env)  # pylint: disable=consider-using-with
        line = [None]

        def read_ready():
            line[0] = proc.stdout.readline()
        reader = threading.Thread(target=read_ready, daemon=True)
        reader.start()
        reader.join(90)
        if not line[0] or not line[0].startswith('READY'):
            proc.kill()
            raise BenchError(f'the load generator did not get ready (see {err.name})')
        log(f'load ready: {line[0].strip()} clients, {self.opts.rate} probes/s')
        return proc, err

    def stop_load(self, proc, err, log_name):
        try:
            out = proc.communicate('stop\n', timeout=self.opts.load_max_seconds + 120)[0]
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            raise BenchError('the load generator did not stop') from exc
        finally:
            err.close()
        raw = self.run_dir / f'{log_name}.load.json'
        raw.write_text(out)
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise BenchError(f'the load generator printed no result (see {err.name})') from exc

    @staticmethod
    def analyse(load, t_start, t_end):
        """Figures of one loaded window: from the playbook's start to the end of the settle phase."""
        probes = [p for p in load['probes'] if p[0] >= t_start]
        failed = [p for p in probes if p[2] != 200]
        span = max((load['settled_at'] - t_start) / 1000.0, 0.001)
        outage, run_start = 0, None
        for p in sorted(probes):
            if p[2] != 200 and run_start is None:
                run_start = p[0]
            elif p[2] == 200 and run_start is not None:
                outage = max(outage, p[0] - run_start)
                run_start = None
        if run_start is not None:
            outage = max(outage, load['settled_at'] - run_start)
        reasons = {}
        for p in failed:
            key = f'{p[2]} {p[3]}'.strip() if p[2] else str(p[3])
            reasons[key] = reasons.get(key, 0) + 1
        releases = []  # [seconds from the start, release] at each change of the answering release
        for p in sorted(probes):
            if p[2] == 200 and (not releases or releases[-1][1] != p[3]):
                releases.append([round((p[0] - t_start) / 1000.0, 2), p[3]])
        clients = load['clients']
        gaps = [g[1] for c in clients for g in c['gaps'] if g[0] >= t_start]
        lost = [c for c in clients if not c['connected_at_settle']]
        return {
            'window_s': round(span, 1),
            'playbook_s': round((t_end - t_start) / 1000.0, 1),
            'probes': len(probes),
            'probe_rate': round(len(probes) / span, 1),
            'probes_failed': len(failed),
            'probe_failures': reasons,
            'longest_probe_outage_s': round(outage / 1000.0, 2),
            'releases_seen': releases,
            'clients': len(clients),
            'clients_ready': load['ready_connected'],
            'clients_disconnected': sum(1 for c in clients if any(d[0] >= t_start for d in c['disconnects'])),
            'disconnect_reasons': sorted({d[1] for c in clients for d in c['disconnects']}),
            'reconnects': len(gaps),
            'clients_lost': len(lost),
            'longest_reconnect_s': round(max(gaps) / 1000.0, 2) if gaps else 0.0,
            'messages_acked_after': sum(1 for c in clients if c['message_acked_at_end']),
            'stop_reason': load['stop_reason'],
        }

    @staticmethod
    def switch_times(seen, target):
        """Seconds until the target release first answered, and from when on only it answered."""
        first = next((t for t, r in seen if r == target), None)
        others = [t for t, r in seen if r != target]
        if first is None:
            return None, None
        # `seen` holds changes only: the last change to another release ends at the next change (to target)
        if not others:
            return first, first
        later = [t for t, r in seen if r == target and t >= others[-1]]
        return first, (later[0] if later else None)

    def loaded_playbook(self, port, inventory, playbook, log_name, extra_args=()):
        proc, err = self.start_load(port, log_name)
        t_start = now_ms()
        try:
            result = self.playbook(inventory, playbook, log_name, extra_args)
        except BenchError:
            proc.kill()
            err.close()
            raise
        t_end = now_ms()
        load = self.stop_load(proc, err, log_name)
        return result, self.analyse(load, t_start, t_end)

    # --- context -----------------------------------------------------------------------------------
    @staticmethod
    def others():
        """Containers of other people on this machine (only names; never touched)."""
        out = docker('ps', '--format', '{{.Names}}', check=False).stdout.split()
        return sorted(n for n in out if not n.startswith(PREFIX))

    @staticmethod
    def loadavg():
        try:
            return Path('/proc/loadavg').read_text().split()[:3]
        except OSError:
            return []

    # --- items ---------------------------------------------------------------------------------------
    def item_cold(self):
        ansible_host, manual_host = 'livechat-bench-single', 'livechat-bench-manual'
        self.start_container(ansible_host, publish=True)
        self.start_container(manual_host)
        inv_manual = self.inventory('manual', {g: [manual_host] for g in ('chat_databases', 'chat_servers', 'web_servers')})
        inv_single = self.single_inventory()
        log('preparing both fresh containers identically (untimed): apt index and packages fetched, the main site')
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futs = [pool.submit(self.prepare_hosts, [ansible_host], inv_single, True, 'cold-prepare-ansible'),
                    pool.submit(self.prepare_hosts, [manual_host], inv_manual, True, 'cold-prepare-manual')]
            for fut in futs:
                fut.result()
        # Ansible first: anything warmed on the way (proxy caches) favours the manual floor, not us.
        deploy = self.playbook(inv_single, 'livechat.stack.deploy', 'cold-deploy')
        manual = self.manual(manual_host)
        self.remove_container(manual_host)
        port = self.published_port(ansible_host)
        self.single_state = {'release_a': self.health(port).get('release', '')}
        return {
            'ansible_s': deploy['seconds'], 'ansible_changed': deploy['changed'], 'ansible_log': deploy['log'],
            'manual_s': manual['seconds'], 'manual_log': manual['log'],
            'ratio': round(deploy['seconds'] / manual['seconds'], 2) if manual['seconds'] else None,
            'release': self.single_state['release_a'],
        }

    def manual(self, name):
        """The spec's commands (benchmarks/manual.sh) on a prepared container; timed from the copy of the code."""
        log_file = self.run_dir / 'cold-manual.log'
        code_dir = f'{SITE_ROOT}/services/chat-server'
        bridge_dir = '/opt/prisma-engine-bridge'
        bridge_src = self.code / 'roles' / 'chat_server' / 'files' / 'prisma-engine-bridge'
        stage = self.run_dir / 'manual-stage'
        shutil.rmtree(stage, ignore_errors=True)
        shutil.copytree(self.code / 'examples' / 'chat-server', stage / 'chat-server', ignore=shutil.ignore_patterns('node_modules', '.env'))
        (stage / 'bridge').mkdir()
        for f in ('package.json', 'package-lock.json', 'bridge.js'):
            shutil.copy2(bridge_src / f, stage / 'bridge' / f)
        log(f'manual procedure on {name} (benchmarks/manual.sh; log {log_file})')
        t0 = time.monotonic()
        # the operator gets the code onto the host (here: docker cp, part of the timed span)
        docker('exec', name, 'mkdir', '-p', f'{SITE_ROOT}/services')
        docker('cp', str(stage / 'chat-server'), f'{name}:{code_dir}')
        docker('cp', str(stage / 'bridge'), f'{name}:{bridge_dir}')
        docker('cp', str(self.code / 'benchmarks' / 'manual.sh'), f'{name}:/root/manual.sh')
        # secrets through stdin into a 0600 file: never on a command line
        docker('exec', '-i', name, 'sh', '-c', 'umask 077; cat > /root/.bench-secrets',
               input_text=self.secrets_env.read_text())
        env = {'CODE_DIR': code_dir, 'BRIDGE_DIR': bridge_dir, 'SITE_ROOT': SITE_ROOT, 'NGINX_SITE': NGINX_SITE,
               'PM2_VERSION': self.pm2_version, 'SECRETS_FILE': '/root/.bench-secrets', 'ALLOWED_ORIGIN': ORIGIN,
               'ADMIN_ORIGIN': ADMIN_ORIGIN, 'SITE_HOST': SITE_HOST}
        env_args = [a for k, v in env.items() for a in ('-e', f'{k}={v}')]
        run(['docker', 'exec', *env_args, name, 'bash', '/root/manual.sh'], timeout=2400, log_file=log_file)
        seconds = time.monotonic() - t0
        if 'MANUAL_OK' not in log_file.read_text(encoding='utf-8', errors='replace'):
            raise BenchError(f'the manual procedure did not end healthy (log: {log_file})')
        return {'seconds': round(seconds, 1), 'log': str(log_file)}

    def item_noop(self):
        self.ensure_single_deployed()
        result = self.playbook(self.single_inventory(), 'livechat.stack.deploy', 'noop-deploy')
        return {'seconds': result['seconds'], 'changed': result['changed'], 'log': result['log']}

    def item_release(self):
        port, release_a = self.ensure_single_deployed()
        extra = self.new_release_source('b')
        result, figures = self.loaded_playbook(port, self.single_inventory(), 'livechat.stack.deploy', 'release-deploy',
                                               ['-e', f'@{extra}'])
        release_b = self.health(port).get('release', '')
        if release_b == release_a:
            raise BenchError(f'the new release was not activated (still {release_a})')
        self.single_state = {'release_a': release_a, 'release_b': release_b}
        first, only = self.switch_times(figures['releases_seen'], release_b)
        return dict(figures, deploy_s=result['seconds'], changed=result['changed'], log=result['log'],
                    release_before=release_a, release_after=release_b, new_release_answering_after_s=first,
                    only_new_release_after_s=only)

    def item_rollback(self):
        port, current = self.ensure_single_deployed()
        if not (self.single_state.get('release_b') == current and self.single_state.get('release_a')):
            log('deploying a second release first (untimed), so there is a previous one to return to')
            before = current
            extra = self.new_release_source('r')
            self.playbook(self.single_inventory(), 'livechat.stack.deploy', 'rollback-setup-deploy', ['-e', f'@{extra}'])
            current = self.health(port).get('release', '')
            self.single_state = {'release_a': before, 'release_b': current}
        target = self.single_state['release_a']
        result, figures = self.loaded_playbook(port, self.single_inventory(), 'livechat.stack.rollback', 'rollback',
                                               ['-e', 'livechat_rollback_to=previous'])
        after = self.health(port).get('release', '')
        if after != target:
            raise BenchError(f'after the rollback /chat/health answers {after!r}, expected {target!r}')
        first, only = self.switch_times(figures['releases_seen'], target)
        self.single_state = {}
        return dict(figures, rollback_s=result['seconds'], changed=result['changed'], log=result['log'],
                    release_before=current, release_after=after, old_release_answering_after_s=first,
                    only_old_release_after_s=only)

    def fanout_once(self, count, serial):
        db, web = f'{PREFIX}db', f'{PREFIX}web'
        chats = [f'{PREFIX}chat{i}' for i in range(1, count + 1)]
        names = [db, web, *chats]
        for n in names:
            self.start_container(n)
        addr = {db: LAN['db'], web: LAN['web']}
        addr.update({c: LAN['chat'].format(i) for i, c in enumerate(chats, 1)})
        self.lan([f'{n}={addr[n]}/24' for n in names])
        groups = {'chat_databases': [db], 'chat_servers': chats, 'web_servers': [web]}
        extra = {
            'livechat_database_url': 'postgresql://chat:{{ vault_livechat_db_password }}@' + LAN['db'] + ':5432/chat',
            'livechat_chat_serial': serial,
        }
        if self.redis:
            extra.update({'livechat_redis_enabled': True,
                          'livechat_redis_password': '{{ vault_livechat_redis_password }}',
                          # as in molecule/multihost: an unprivileged container cannot make the user
                          # namespace Debian's redis-server unit asks for
                          'chat_redis_service_overrides': {'PrivateUsers': 'false'}})
        host_vars = {n: {'livechat_advertise_address': addr[n]} for n in names}
        inv = self.inventory(f'fanout{count}', groups, host_vars, extra)
        log(f'fan-out with {count} chat host(s): preparing {len(names)} containers (untimed)')
        self.prepare_hosts(names, inv, True, f'fanout{count}-prepare')
        result = self.playbook(inv, 'livechat.stack.deploy', f'fanout{count}-deploy', timeout=5400)
        for n in names:
            self.remove_container(n)
        self.lan_down()
        return result

    def item_fanout(self):
        serial = self.opts.fanout_serial
        one = self.fanout_once(1, serial)
        many = self.fanout_once(self.opts.fanout_hosts, serial)
        deploy_yml = (self.code / 'playbooks' / 'deploy.yml').read_text()
        serial_line = re.search(r'^\s*serial:.*$', deploy_yml, re.M)
        return {'hosts': self.opts.fanout_hosts, 'serial': serial, 'redis': self.redis,
                'serial_in_deploy_yml': serial_line.group(0).strip() if serial_line else 'none (all chat hosts at once)',
                'one_s': one['seconds'], 'one_changed': one['changed'], 'one_log': one['log'],
                'many_s': many['seconds'], 'many_changed': many['changed'], 'many_log': many['log'],
                'ratio': round(many['seconds'] / one['seconds'], 2)}

    def run_items(self, items):
        for item in items:
            if self.opts.resume and 'error' not in self.results.get(item, {'error': 1}):
                log(f'{TITLES[item]}: done in this run already, skipped (--resume)')
                continue
            log(f'==== {TITLES[item]}')
            context = {'started': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                       'others_before': self.others(), 'loadavg_before': self.loadavg()}
            t0 = time.monotonic()
            try:
                figures = getattr(self, f'item_{item}')()
            except BenchError as exc:
                log(f'{TITLES[item]} FAILED: {exc}')
                figures = {'error': str(exc)}
            context.update({'others_after': self.others(), 'loadavg_after': self.loadavg(),
                            'item_s': round(time.monotonic() - t0, 1)})
            self.results[item] = dict(figures, context=context)
            self.save()


# --- machine description and report ---------------------------------------------------------------
def machine():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ''
    cpu = ''
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('model name'):
            cpu = line.split(':', 1)[1].strip()
            break
    mem_kb = int(re.search(r'MemTotal:\s+(\d+)', Path('/proc/meminfo').read_text()).group(1))
    osname = ''
    if Path('/etc/os-release').exists():
        match = re.search(r'^PRETTY_NAME="?([^"\n]+)', Path('/etc/os-release').read_text(), re.M)
        osname = match.group(1) if match else ''
    ansible_v = first(['ansible', '--version']).splitlines()
    return {
        'cpu': cpu or platform.processor(),
        'cores': os.cpu_count(),
        'ram_gib': round(mem_kb / 1024 / 1024, 1),
        'kernel': f'{platform.system()} {platform.release()}',
        'os': osname,
        'docker': first(['docker', 'version', '--format', '{{.Server.Version}}']),
        'ansible_core': ansible_v[0] if ansible_v else '',
        'python': platform.python_version(),
        'node': first(['node', '--version']),
        'image': IMAGE,
    }


def fmt_s(value):
    return '-' if value is None else f'{value:.1f} s'


def rows(results, lang):
    """(item, measure, figure) rows of the results table, in English or Chinese."""
    zh = lang == 'zh'
    out = []

    def add(item, en, cn, figure):
        out.append((item, cn if zh else en, figure))

    def failed(item, res):
        add(item, 'FAILED', '失败', res['error'].replace('|', '/'))

    res = results.get('cold')
    if res and 'error' in res:
        failed(1, res)
    elif res:
        add(1, 'cold deploy, `ansible-playbook livechat.stack.deploy`', '冷部署，`ansible-playbook livechat.stack.deploy`',
            f'{fmt_s(res["ansible_s"])} (changed={res["ansible_changed"]})')
        add(1, 'the spec\'s manual commands (`benchmarks/manual.sh`), the floor', '规范中的手工命令（`benchmarks/manual.sh`），下限',
            fmt_s(res['manual_s']))
        add(1, 'ratio Ansible / manual', '比值 Ansible / 手工', f'{res["ratio"]:.2f}x')
    res = results.get('noop')
    if res and 'error' in res:
        failed(2, res)
    elif res:
        add(2, 'second deploy, nothing new', '第二次部署（无变化）', f'{fmt_s(res["seconds"])}, changed={res["changed"]}')
    for num, key in ((3, 'release'), (4, 'rollback')):
        res = results.get(key)
        if res and 'error' in res:
            failed(num, res)
            continue
        if not res:
            continue
        if key == 'release':
            add(3, 'deploy of a new release under load (playbook)', '负载下部署新版本（playbook 用时）',
                f'{fmt_s(res["deploy_s"])} (changed={res["changed"]})')
            add(3, 'new release answering /chat/health: first, then alone', '新版本应答 /chat/health：首次，此后仅新版本',
                f'{fmt_s(res["new_release_answering_after_s"])}, {fmt_s(res.get("only_new_release_after_s"))}')
        else:
            add(4, 'rollback to the previous release (playbook)', '回滚到上一版本（playbook 用时）',
                f'{fmt_s(res["rollback_s"])} (changed={res["changed"]})')
            add(4, 'old release answering /chat/health: first, then alone', '旧版本重新应答 /chat/health：首次，此后仅旧版本',
                f'{fmt_s(res["old_release_answering_after_s"])}, {fmt_s(res.get("only_old_release_after_s"))}')
        add(num, 'HTTP probes through Nginx: failed / sent (rate)', '经 Nginx 的 HTTP 探测：失败 / 总数（速率）',
            f'{res["probes_failed"]} / {res["probes"]} ({res["probe_rate"]}/s)')
        add(num, 'longest run of failed probes', '连续失败探测的最长时段', f'{res["longest_probe_outage_s"]:.2f} s')
        add(num, 'Socket.IO visitors: connected / lost for good', 'Socket.IO 访客：已连接 / 永久丢失',
            f'{res["clients_ready"]} / {res["clients_lost"]}')
        add(num, 'visitors disconnected, longest reconnect', '断开的访客数，最长重连间隔',
            f'{res["clients_disconnected"]}, {res["longest_reconnect_s"]:.2f} s')
        add(num, 'visitors whose message was acknowledged afterwards', '之后消息被确认的访客',
            f'{res["messages_acked_after"]} / {res["clients"]}')
    res = results.get('fanout')
    if res and 'error' in res:
        failed(5, res)
    elif res:
        add(5, 'cold deploy, db + web + 1 chat host', '冷部署，数据库 + Web + 1 台 chat 主机',
            f'{fmt_s(res["one_s"])} (changed={res["one_changed"]})')
        add(5, f'cold deploy, db + web + {res["hosts"]} chat hosts', f'冷部署，数据库 + Web + {res["hosts"]} 台 chat 主机',
            f'{fmt_s(res["many_s"])} (changed={res["many_changed"]})')
        add(5, f'ratio {res["hosts"]} / 1 (serial={res["serial"]}, Redis {"on" if res["redis"] else "off"})',
            f'比值 {res["hosts"]} / 1（serial={res["serial"]}，Redis {"开" if res["redis"] else "关"}）',
            f'{res["ratio"]:.2f}x')
    return out


def table(rows_):
    lines = ['| # | measure | figure |', '|---|---|---|']
    lines += [f'| {i} | {m} | {f} |' for i, m, f in rows_]
    return '\n'.join(lines)


def render(results, mach, opts, lang):
    zh = lang == 'zh'
    ctx = [r.get('context', {}) for r in results.values()]
    others = sorted({n for c in ctx for n in c.get('others_before', []) + c.get('others_after', [])})
    loads = [c.get('loadavg_before') for c in ctx if c.get('loadavg_before')] + \
            [c.get('loadavg_after') for c in ctx if c.get('loadavg_after')]
    loads_1 = sorted((x[0] for x in loads), key=float)
    loads_1 = [loads_1[0], loads_1[-1]] if loads_1 else []
    dates = sorted(c.get('started', '') for c in ctx if c.get('started'))
    date = dates[0][:10] if dates else datetime.date.today().isoformat()
    total = sum(c.get('item_s', 0) for c in ctx)
    missing = [(TITLES_ZH if zh else TITLES)[i] for i in ITEMS if i not in results]
    fan = results.get('fanout', {})
    code = mach.get('code', {})
    tbl = table(rows(results, lang))
    if zh:
        tbl = tbl.replace('| # | measure | figure |', '| # | 测量项 | 结果 |')
    mtable = '\n'.join([
        '| | |', '|---|---|',
        f'| CPU | {mach["cpu"]}, {mach["cores"]} {"核" if zh else "cores"} |',
        f'| RAM | {mach["ram_gib"]} GiB |',
        f'| {"内核" if zh else "kernel"} | {mach["kernel"]} ({mach["os"]}) |',
        f'| Docker | {mach["docker"]} |',
        f'| ansible-core | {mach["ansible_core"].replace("ansible [core ", "").rstrip("]")} |',
        f'| Python / Node.js | {mach["python"]} / {mach["node"]} |',
        f'| {"被测代码" if zh else "code measured"} | livechat.stack {code.get("commit", "?")}'
        f'{(" + 未提交的修改" if zh else " + uncommitted changes") if code.get("uncommitted_changes") else ""} |',
        f'| {"测试镜像" if zh else "test image"} | `{mach["image"]}` (Debian 13, systemd) |',
        f'| {"负载（1 分钟平均）" if zh else "load average (1 min)"} | '
        f'{" - ".join(loads_1) or "-"} |',
        f'| {"同时运行的其他容器" if zh else "other containers running"} | {", ".join(others) or ("无" if zh else "none")} |',
    ])
    serial_note = fan.get('serial', opts.fanout_serial)
    serial_line = fan.get('serial_in_deploy_yml', 'serial: ...')
    if 'livechat_chat_serial' in serial_line:
        serial_line = 'serial: livechat_chat_serial | default(1)'
    if zh:
        head = [
            '# 基准测试',
            '',
            f'由 `benchmarks/run` 于 {date} 在下述机器上一次运行测得（各项共用时约 {round(total / 60)} 分钟）。'
            '本页由该命令生成，数字每次运行都会变化；测试套件从不断言耗时。',
            '英文版：[benchmarks.md](benchmarks.md)。',
            '',
            '## 机器',
            '',
            mtable,
            '',
            '## 结果',
            '',
            tbl,
            '',
        ]
        if missing:
            head += ['未运行：' + '；'.join(missing), '']
        head += [
            '## 测量方法',
            '',
            '- 每项都从测试镜像启动全新的 systemd 容器（与 `scripts/demo` 相同）。未计时的准备：等待 systemd 启动、'
            '`apt-get update`、把要安装的 Debian 软件包预先下载到该容器自己的 apt 缓存，以及 '
            '`examples/prepare-demo-site.yml`（已有主站：Nginx、server 块、.env）。因此双方计时的都是安装而不是下载；'
            'npm 下载两边都计时。',
            '- 1：Ansible 一侧计时 `ansible-playbook livechat.stack.deploy`（含 preflight 与最后经 Nginx 的健康检查）。'
            '手工一侧在另一台同样准备好的容器里，从复制代码开始，按规范逐条执行 `benchmarks/manual.sh`'
            '（apt 安装、建库、`npm ci`、`prisma generate`、`migrate deploy`、`pm2 start/save/status`、'
            '.env 三个键、Nginx 三个 location、`nginx -t`、reload、curl 自检）。'
            'Prisma 原生引擎的下载地址不可达，两边都以同样方式使用离线引擎桥 '
            '（`roles/chat_server/files/prisma-engine-bridge`，`PRISMA_SCHEMA_ENGINE_BINARY`），手工脚本把它复制进去。'
            '先跑 Ansible、后跑手工，代理缓存等预热只会让手工下限更快。',
            '- 2：同一台主机立即再部署一次，记录用时和 PLAY RECAP 中 changed 之和。',
            f'- 3：部署源码只改了一个文件的副本（新摘要 → 新版本）。部署期间从本机经回环地址'
            f'（容器 80 端口只发布在 127.0.0.1）以每秒 {opts.rate} 次请求 `GET /chat/health`'
            f'（Host: {SITE_HOST}），并保持 {opts.clients} 个 Socket.IO 访客（{opts.transport}，Origin {ORIGIN}）连接。'
            'playbook 结束后最多再等 45 秒让断开的访客重连；仍未连上的算「永久丢失」。最后每个访客发一条消息并等待确认。',
            '- 4：`ansible-playbook livechat.stack.rollback -e livechat_rollback_to=previous`，负载同上；'
            '「旧版本重新应答」是从 playbook 开始到第一次以旧版本号应答 200 的时间，以及到此后只有旧版本应答的时间'
            '（进程逐个替换时，新旧版本可能同时应答）。第 3 项对新版本给出同样两个时间。',
            f'- 5：数据库、Web 与 chat 主机各是独立容器，经 `scripts/lan up {NETNS}`（198.18.0.0/24，仅在我们自己的网络命名空间内）'
            f'相连，`livechat_advertise_address` 为其 LAN 地址。分别冷部署到 1 台与 {fan.get("hosts", opts.fanout_hosts)} 台 chat 主机。'
            f'chat-server 的 play 按 deploy.yml 的滚动方式运行（`{serial_line}`，`max_fail_percentage: 0`），'
            f'此处 livechat_chat_serial={serial_note}（一次一台，每台都经过健康门）。',
            '- 所有负载循环在次数和时间上都有上限；容器（livechat-bench-*）和命名空间在结束时删除。',
            '',
            '## 重新运行',
            '',
            '```bash',
            'benchmarks/run                 # 全部五项（2 核上约 20-30 分钟），生成本页与英文版',
            'benchmarks/run --items 3,4     # 只跑部分项目',
            'benchmarks/run --help',
            '```',
        ]
        return '\n'.join(head) + '\n'
    head = [
        '# Benchmarks',
        '',
        f'Measured by `benchmarks/run` in one run on {date} on the machine below (items took about '
        f'{round(total / 60)} minutes together). This page is generated by that command; the figures change from '
        'run to run, and the test suite never asserts a timing. 中文：[benchmarks.zh-CN.md](benchmarks.zh-CN.md).',
        '',
        '## Machine',
        '',
        mtable,
        '',
        '## Results',
        '',
        tbl,
        '',
    ]
    if missing:
        head += ['Not run: ' + '; '.join(missing), '']
    head += [
        '## How each figure is measured',
        '',
        '- Every item starts fresh systemd containers from the test image (as `scripts/demo` does). Untimed '
        'preparation: systemd boot, `apt-get update`, the Debian packages to be installed fetched into the '
        'container\'s own apt cache, and `examples/prepare-demo-site.yml` (the existing main site: Nginx, its server '
        'block, its .env). Both sides therefore time installing, not downloading; npm downloads are timed on both.',
        '- 1: the Ansible side times `ansible-playbook livechat.stack.deploy` (preflight and the final health check '
        'through Nginx included). The manual side runs `benchmarks/manual.sh` on an identically prepared container, '
        'timed from copying the code in: the spec\'s commands literally (apt install, database, `npm ci`, '
        '`prisma generate`, `migrate deploy`, `pm2 start/save/status`, the three .env keys, the three Nginx '
        'locations, `nginx -t`, reload, curl self-check). Prisma\'s native engine host is unreachable, so both use '
        'the offline engine bridge (`roles/chat_server/files/prisma-engine-bridge` via `PRISMA_SCHEMA_ENGINE_BINARY`) '
        'the same way; the manual script copies it in. Ansible runs first, so anything warmed on the way (proxy '
        'caches) helps the manual floor. The manual floor has no service user, no releases, no health gate, no '
        'boot persistence (`pm2 startup`), no check of its inputs.',
        '- 2: the same host deployed again at once: wall time and the sum of `changed` in the play recap.',
        f'- 3: the source is a copy of the chat-server with one changed file (new digest, hence a new release). '
        f'During the deploy, from this machine over the loopback only (the container\'s port 80 is published on '
        f'127.0.0.1): `GET /chat/health` at {opts.rate}/s (Host: {SITE_HOST}) and {opts.clients} Socket.IO '
        f'visitors ({opts.transport} transport, Origin {ORIGIN}) through Nginx. After the playbook, disconnected '
        'visitors get at most 45 s to reconnect; those still down are "lost for good". Then each visitor sends one '
        'message and waits for its acknowledgement. Figures count from the playbook\'s start to the end of that '
        'settle phase.',
        '- 4: `ansible-playbook livechat.stack.rollback -e livechat_rollback_to=previous` under the same load; '
        '"old release answering" is the time from the playbook\'s start to the first 200 naming the old release, '
        'and to the moment from which only the old release answers (while processes are replaced one by one, '
        'both may answer). Same two times for the new release in item 3.',
        f'- 5: database, web and chat hosts are separate containers on a private LAN (`scripts/lan up {NETNS}`, '
        f'198.18.0.0/24, inside a network namespace of our own) with `livechat_advertise_address` set to their LAN '
        f'address; a cold deploy to 1 and to {fan.get("hosts", opts.fanout_hosts)} chat hosts. The chat-server play '
        f'is rolling as deploy.yml runs it (`{serial_line}`, `max_fail_percentage: 0`), here '
        f'livechat_chat_serial={serial_note} (one chat host at a time, each health-gated), so the ratio is expected '
        'to grow with the number of chat hosts.',
        '- Every load loop is bounded in count and time; the containers (livechat-bench-*) and the namespace are '
        'removed at the end. Raw logs and timelines stay under `.cache/bench/runs/<run>/`.',
        '',
        '## Run it again',
        '',
        '```bash',
        'benchmarks/run                 # all five items (about 20-30 minutes on 2 cores); writes this page and the 中文 one',
        'benchmarks/run --items 3,4     # some items only',
        'benchmarks/run --help',
        '```',
    ]
    return '\n'.join(head) + '\n'


def parse_items(text):
    out = []
    for part in text.split(','):
        part = part.strip()
        if not part:
            continue
        if part.isdigit() and 1 <= int(part) <= len(ITEMS):
            part = ITEMS[int(part) - 1]
        if part not in ITEMS:
            raise argparse.ArgumentTypeError(f'unknown item {part!r} (1-5 or {", ".join(ITEMS)})')
        if part not in out:
            out.append(part)
    return sorted(out, key=ITEMS.index)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='benchmarks/run',
        description='Measure livechat.stack on this machine, print a table and write docs/benchmarks.md '
                    '(+ docs/benchmarks.zh-CN.md). Items: 1 cold, 2 noop, 3 release, 4 rollback, 5 fanout.')
    parser.add_argument('--items', type=parse_items, default=list(ITEMS),
                        help='comma-separated items to run, by number or name (default: all)')
    parser.add_argument('--keep', action='store_true', help='keep the containers (livechat-bench-*) at the end')
    parser.add_argument('--out', default=str(REPO / 'docs' / 'benchmarks.md'),
                        help='Markdown output (the 中文 page goes next to it as <name>.zh-CN.md); "-" for none')
    parser.add_argument('--run-dir', help='folder of this run (logs, raw timelines, results.json); '
                        'default: a new one under .cache/bench/runs/')
    parser.add_argument('--resume', action='store_true',
                        help='continue the latest run (or --run-dir): skip items it already measured')
    parser.add_argument('--report-only', action='store_true', help='only print and write the report of the run')
    parser.add_argument('--rate', type=int, default=25, help='HTTP probes per second during items 3-4 (>= 20)')
    parser.add_argument('--clients', type=int, default=20, help='connected Socket.IO visitors during items 3-4 (>= 20)')
    parser.add_argument('--transport', choices=['websocket', 'polling'], default='websocket',
                        help='Socket.IO transport of the visitors')
    parser.add_argument('--load-max-seconds', type=int, default=1500, help='hard bound of one load run')
    parser.add_argument('--fanout-hosts', type=int, default=3, help='chat hosts of the larger fan-out deploy')
    parser.add_argument('--fanout-serial', type=int, default=1, help='livechat_chat_serial of the fan-out deploys')
    parser.add_argument('--redis', choices=['auto', 'on', 'off'], default='auto',
                        help='Redis in the fan-out deploys (auto: on when roles/chat_redis exists)')
    opts = parser.parse_args(argv)
    if not 1 <= opts.rate <= 200 or not 0 <= opts.clients <= 500 or not 1 <= opts.fanout_hosts <= 9:
        parser.error('--rate 1-200, --clients 0-500, --fanout-hosts 1-9')
    runs = REPO / '.cache' / 'bench' / 'runs'
    if not opts.run_dir:
        previous = sorted(p for p in runs.glob('*') if p.is_dir()) if runs.is_dir() else []
        if (opts.resume or opts.report_only) and previous:
            opts.run_dir = str(previous[-1])
        else:
            opts.run_dir = str(runs / datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ'))
    bench = Bench(opts)
    log(f'run folder {bench.run_dir}')

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    mach_file = bench.run_dir / 'machine.json'
    try:
        if not opts.report_only:
            mach_file.write_text(json.dumps(machine(), indent=2))
            bench.run_items(opts.items)
    finally:
        bench.cleanup()
    mach = json.loads(mach_file.read_text()) if mach_file.exists() else machine()
    code_file = bench.run_dir / 'code.json'
    mach['code'] = json.loads(code_file.read_text()) if code_file.exists() else {}
    print()
    print(table(rows(bench.results, 'en')))
    print()
    if opts.out != '-':
        out = Path(opts.out)
        out.write_text(render(bench.results, mach, opts, 'en'))
        zh = out.with_name(out.stem + '.zh-CN.md')
        zh.write_text(render(bench.results, mach, opts, 'zh'))
        log(f'wrote {out} and {zh}')
    return 1 if any('error' in r for r in bench.results.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
