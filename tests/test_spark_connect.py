"""The Spark engine through a Spark Connect server gives the release the DuckDB engine gives
(docs/scaling.md, "Through Spark Connect").

`sovereignty connect-server` starts a local Spark Connect server for a home of the small demo (a
free port, the pipeline's settings); `SOVEREIGNTY_SPARK_MASTER=sc://localhost:<port> sovereignty
run` then builds dbt's models and seeds, reads the computed layer's input and runs the checks
through it. Its extracts are compared with the DuckDB engine's uninterrupted run, as
tests/test_engines.py compares a local Spark's. A run that fell back to a Spark of its own could
not open the home's Spark catalogue (an embedded Derby database the server holds), so a passing
run went through the server.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.runs import environment, fresh_home, no_traceback, release_differences, sovereignty, sovereignty_command

pytestmark = pytest.mark.slow

SERVER_START_SECONDS = 120  # a JVM and Spark's start on a busy 2-core machine: about 15 s


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Spark Connect server exited with {server.returncode}: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"the Spark Connect server did not listen on port {port} within {SERVER_START_SECONDS} s: {log.read_text()}")


@pytest.fixture(scope="module")
def connect_home(demo_inbox, tmp_path_factory) -> Path:
    home = fresh_home(demo_inbox, tmp_path_factory.mktemp("spark_connect"))
    port = free_port()
    settings = {"SOVEREIGNTY_SPARK_MASTER": f"sc://localhost:{port}"}
    server_log = home.parent / "server.log"
    with server_log.open("w") as log:
        server = subprocess.Popen(sovereignty_command("connect-server"), env={**environment(home, "spark"), **settings},
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(port, server, server_log)
        result = sovereignty(home, "run", engine="spark", settings=settings)
    finally:
        server.terminate()
        server.wait(timeout=60)
    (home.parent / "run.stdout").write_text(result.stdout + result.stderr)
    no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def test_a_run_through_spark_connect_publishes_the_release_duckdb_publishes(uninterrupted, connect_home):
    assert not release_differences(uninterrupted, connect_home)


def test_connect_server_refuses_a_master_that_is_not_a_connect_url_and_prints_its_command(tmp_path):
    refused = sovereignty(tmp_path, "connect-server", engine="spark")
    assert refused.returncode == 2 and "is not a Spark Connect URL" in refused.stderr and "Traceback" not in refused.stderr
    printed = sovereignty(tmp_path, "connect-server", "--print", engine="spark",
                          settings={"SOVEREIGNTY_SPARK_MASTER": "sc://localhost:15123"})
    assert printed.returncode == 0, printed.stderr
    command = printed.stdout
    for setting in ("spark.connect.grpc.binding.port=15123", "spark.sql.catalogImplementation=hive",
                    f"spark.sql.warehouse.dir={tmp_path / 'spark' / 'warehouse'}", "spark.sql.timestampType=TIMESTAMP_NTZ"):
        assert setting in command, command
