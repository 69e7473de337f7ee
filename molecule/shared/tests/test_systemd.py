"""Checks every scenario shares: the test container really boots systemd as PID 1."""


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_system_is_running(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    failed = host.run("systemctl --failed --no-legend --plain").stdout
    assert state in ("running", "degraded"), state
    assert state == "running", f"failed units:\n{failed}"
