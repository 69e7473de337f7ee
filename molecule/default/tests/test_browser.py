"""The spec's section 5 step 1 in a real browser, from the host.

Headless Chromium (Debian's package, driven by playwright-core: tests/browser/) opens the main site's home
page, clicks the Live bubble, sees "Connecting..." then "Online", sends a message and sees it acknowledged.
The container's port 80 is published on the host's loopback only (base molecule config); Chromium resolves
the site's names to that address (--host-resolver-rules) and no other name at all, so the page's Origin is
the site's own (http://admin1167.com, in livechat_allowed_origins) and nothing leaves the machine.
The screenshot lands in .cache/artifacts/ (git-ignored); its path is printed.
"""

import json
import os
import pathlib
import re
import subprocess

import pytest

PROJECT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[3]))
RUNNER = PROJECT / "tests" / "browser" / "run"
CHROMIUM = os.environ.get("LIVECHAT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = PROJECT / ".cache" / "artifacts"
SITE_URL = "http://admin1167.com/"
REFUSED_URL = "http://www.admin1167.com/"  # same server block, an origin not in livechat_allowed_origins
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _loopback_port(container):
    """Host port publishing the container's port 80 on 127.0.0.1 (never the container's own address)."""
    res = subprocess.run(["docker", "port", container, "80/tcp"], capture_output=True, text=True, check=False)
    for line in res.stdout.split():
        address, port = line.rsplit(":", 1)
        if address == "127.0.0.1" and port.isdigit():
            return int(port)
    pytest.fail(f"port 80 of {container} is not published on 127.0.0.1: {res.stdout!r} {res.stderr!r}")
    return None


@pytest.fixture(scope="module")
def browser_run(host):
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} not found: apt-get install chromium to run the browser check (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    port = _loopback_port(host.backend.get_hostname())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "chat-bubble-default.png"
    if shot.exists():
        shot.unlink()
    res = subprocess.run(
        [str(RUNNER), "--connect", f"127.0.0.1:{port}", "--url", SITE_URL, "--refused-url", REFUSED_URL,
         "--screenshot", str(shot), "--timeout-ms", "30000"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    try:
        out = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        out = {}
    return {"res": res, "out": out, "shot": shot}


def test_bubble_goes_connecting_then_online_and_the_message_is_acknowledged(browser_run, capsys):
    res, out, shot = browser_run["res"], browser_run["out"], browser_run["shot"]
    with capsys.disabled():
        print(f"\nbrowser check screenshot: {shot}")
    assert res.returncode == 0 and out.get("ok") is True, res.stdout + res.stderr
    assert out["page"]["http_status"] == 200
    assert out["states"] == ["Connecting...", "Online"]
    assert out["final_state"] == "Online"
    assert out["transport"] == "websocket"
    assert out["ack"]["state"] == "acked"
    assert UUID.match(out["ack"]["id"]) and UUID.match(out["ack"]["conversationId"]), out["ack"]
    assert out["page"]["console"] == [], out["page"]["console"]
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_acknowledged_message_is_stored_with_the_page_origin(host, browser_run):
    out = browser_run["out"]
    ack = out.get("ack") or {}
    assert UUID.match(ack.get("id") or ""), out
    row = host.run(
        "runuser -u postgres -- psql -d chat -tA -F '|' -c %s",
        "SELECT m.text, m.sender, c.visitor_origin FROM messages m JOIN conversations c "
        f"ON c.id = m.conversation_id WHERE m.id = '{ack['id']}' AND c.id = '{ack['conversationId']}'",
    )
    assert row.rc == 0, row.stderr
    assert row.stdout.strip() == f"{ack['text']}|VISITOR|http://admin1167.com"


def test_the_browser_went_through_nginx_over_websocket(host, browser_run):
    out = browser_run["out"]
    assert out.get("ok") is True, out
    log = host.file("/var/log/nginx/access.log").content_string
    chrome = [line for line in log.splitlines() if "HeadlessChrome/" in line]
    assert any(re.search(r'"GET / HTTP/1\.1" 200 ', line) for line in chrome), chrome[-10:]
    assert any(re.search(r'"GET /ws-visitor/socket\.io\.min\.js HTTP/1\.1" 200 ', line) for line in chrome), chrome[-10:]
    assert any(re.search(r'"GET /ws-visitor/\?EIO=4&transport=websocket HTTP/1\.1" 101 ', line) for line in chrome), chrome[-10:]


def test_a_page_from_an_origin_not_allowed_stays_offline(browser_run):
    """The spec's section 6: the bubble stays Offline when CHAT_ALLOWED_ORIGINS lacks the page's origin."""
    out = browser_run["out"]
    refused = out.get("refused") or {}
    assert refused.get("http_status") == 200, out
    assert refused["states"] == ["Connecting...", "Offline"]
    assert refused["detail"] == "origin refused: http://www.admin1167.com is not in CHAT_ALLOWED_ORIGINS"
