"""docker-compose.yaml scales the tracker out (no Docker engine needed: parsed and run by sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from orderdesk.config import load_settings

COMPOSE = Path(__file__).parents[2] / "docker-compose.yaml"


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def test_services_that_scale_have_no_fixed_name_or_host_port():
    for name in ("producer", "tracker"):
        service = _services()[name]
        assert service["profiles"] == ["services"]
        assert "container_name" not in service
        for port in service.get("ports", []):
            assert ":" not in str(port), f"{name}: a fixed host port stops a second replica"


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_each_tracker_replica_gets_its_own_id_and_log_folder():
    tracker = _services()["tracker"]
    assert tracker["entrypoint"][0].endswith("sh")
    # What compose hands the shell ($$ is compose's escape for $), with `orderdesk` replaced
    # by a look at the settings the tracker would load.
    script = tracker["command"][0].replace("$$", "$")
    assert script.rstrip().endswith("exec orderdesk --tracker")
    script = script.replace("exec orderdesk --tracker", "env")
    seen = []
    for hostname in ("3f2a9c1b7d10", "9e8d7c6b5a40"):
        done = subprocess.run(
            ["sh", "-c", script],
            env={"HOSTNAME": hostname, "PATH": os.environ.get("PATH", "")},
            capture_output=True,
            text=True,
            check=True,
        )
        environ = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        environ.update(tracker["environment"])
        settings = load_settings(environ={k: str(v) for k, v in environ.items()})
        instance = settings.tracker.instance_id
        assert hostname in instance and hostname in settings.kafka.client_id
        assert settings.log_dir == Path("/data/logs") / hostname
        assert settings.metrics.port == 9464
        seen.append(instance)
    assert len(set(seen)) == 2
