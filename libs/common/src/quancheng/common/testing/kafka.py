"""A private single-node Apache Kafka (KRaft, broker and controller in one JVM) on 127.0.0.1.

The broker's jars come from Maven Central through ``mvn`` on first use and are kept in the test
cache; only Java 17+ and Maven need to be installed.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from quancheng.common.testing.cache import apt_install, cache_dir, free_ports

KAFKA_VERSION = "4.1.1"
# The log4j2 that Kafka's own server module brings; the SLF4J binding must match it.
LOG4J_VERSION = "2.24.3"

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.quancheng</groupId>
  <artifactId>kafka-test-server</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
"""

_JVM_OPTIONS = (
    "-Xmx512m",
    "-Xms128m",
    # A short-lived broker on a small machine: cheap GC and JIT threads matter more than peak speed.
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def install() -> Path:
    """The directory holding the broker's jars; fetches them with Maven the first time."""
    home = cache_dir() / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    with _locked(cache_dir() / f"kafka-{KAFKA_VERSION}.lock"):
        if (home / "installed").exists():
            return libs
        if shutil.which("mvn") is None or shutil.which("java") is None:
            apt_install("maven", "openjdk-17-jre-headless")
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError(f"Maven is needed to fetch Apache Kafka {KAFKA_VERSION}")
        with tempfile.TemporaryDirectory(prefix="quancheng-kafka-install-") as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(_POM)
            staging = Path(tmp) / "libs"
            command = [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                raise RuntimeError(
                    f"fetching Kafka {KAFKA_VERSION} with Maven failed:\n{done.stdout[-4000:]}"
                    f"{done.stderr[-4000:]}"
                )
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            shutil.move(staging, libs)
        (home / "installed").write_text(f"{KAFKA_VERSION}\n")
    return libs


def _cluster_id() -> str:
    """A random cluster id in Kafka's form (URL-safe base64 of 16 bytes, not starting with '-')."""
    while True:
        encoded = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not encoded.startswith("-"):
            return encoded


def _brokers_in_metadata(port: int, timeout: float) -> int:
    """How many live brokers a Metadata request (v4, no topics) to 127.0.0.1:port reports."""
    client_id = b"quancheng-test"
    # api key 3 (Metadata), version 4, correlation id, client id; no topics, no auto-creation
    body = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        header = _receive(sock, 4)
        response = _receive(sock, struct.unpack(">i", header)[0])
    # correlation id, throttle time, then the broker array's length
    _correlation, _throttle, brokers = struct.unpack_from(">iii", response)
    count: int = brokers
    return count


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data


class KafkaServer:
    """A private Kafka cluster of one node; its log dirs and ports survive a broker restart."""

    def __init__(self, *, ready_timeout: float = 120.0) -> None:
        self.port, self.controller_port = free_ports(2)
        self._ready_timeout = ready_timeout
        self._dir = Path(tempfile.mkdtemp(prefix="quancheng-kafka-"))
        self._libs: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self._dir / "server.log"

    @property
    def _properties(self) -> Path:
        return self._dir / "server.properties"

    def start(self) -> None:
        """Install if needed, format the storage and start the broker."""
        self._libs = install()
        self._write_config()
        self._java(
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _cluster_id(),
            "--config",
            str(self._properties),
        )
        self.start_broker()

    def stop(self) -> None:
        try:
            self.stop_broker()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def restart(self) -> None:
        self.stop_broker()
        self.start_broker()

    def start_broker(self) -> None:
        """Start the broker on the formatted storage and wait until it serves metadata."""
        if self._process is not None:
            raise RuntimeError("the broker is already running")
        self._output = (self._dir / "stdout.log").open("ab")
        self._process = subprocess.Popen(
            self._command("kafka.Kafka", str(self._properties)),
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready(self._process)
        except BaseException:
            self.stop_broker()
            raise

    def stop_broker(self, timeout: float = 60.0) -> None:
        """Shut the broker down (SIGTERM: a controlled shutdown), killing it if it hangs."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Kafka exited with {process.returncode}{self._log_tail()}")
            with contextlib.suppress(OSError, struct.error):
                if _brokers_in_metadata(self.port, timeout=5.0) > 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kafka was not ready in {self._ready_timeout:.0f}s")
            time.sleep(0.5)

    def _log_tail(self) -> str:
        try:
            return "; server.log ends with:\n" + self.log_file.read_text()[-4000:]
        except OSError:
            return ""

    def _command(self, main_class: str, *args: str) -> list[str]:
        if self._libs is None:
            raise RuntimeError("the server is not started")
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("Java 17 or later is needed to run Kafka: install a JDK or JRE 17")
        return [
            java,
            *_JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={self._dir / 'log4j2.properties'}",
            "-cp",
            f"{self._libs}{os.sep}*",
            main_class,
            *args,
        ]

    def _java(self, main_class: str, *args: str) -> None:
        done = subprocess.run(
            self._command(main_class, *args), capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{main_class} failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}")

    def _write_config(self) -> None:
        listeners = (
            f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        )
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": listeners,
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self._dir / "data"),
            # Clients must create their topics, as they must against production brokers.
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "offsets.topic.num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        self._properties.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        (self._dir / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {self.log_file}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = file\n"
        )
