"""The warm runner's pure parts: socket paths, the secrets that keep a run off the socket,
the code fingerprint, file descriptors over the socket and the peer's user."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from seamline.orchestration.warm_client import (
    MAX_SOCKET_PATH,
    MessageReader,
    code_fingerprint,
    holds_secrets,
    peer_is_us,
    send,
    socket_path,
)


def test_long_state_paths_get_no_socket_and_never_one_in_a_shared_folder(
    tmp_path: Path,
) -> None:
    assert socket_path(tmp_path / ("d" * 120)) is None
    short = socket_path(tmp_path)
    assert short is not None and len(str(short)) <= MAX_SOCKET_PATH
    assert short.is_relative_to(tmp_path)


def test_secrets_keep_a_run_off_the_socket() -> None:
    assert holds_secrets({"SEAMLINE_COSIGN_PASSWORD": "x", "PATH": "/bin"}) == [
        "SEAMLINE_COSIGN_PASSWORD"
    ]
    assert holds_secrets({"PREFECT_API_AUTH_STRING": "a:b", "GITHUB_TOKEN": "t"}) != []
    assert holds_secrets({"PATH": "/bin", "SEAMLINE_STATE_DIR": "/x"}) == []
    assert holds_secrets({"SSH_AUTH_SOCK": "/tmp/ssh", "XAUTHORITY": "/x", "HOME": "/r"}) == []
    assert holds_secrets({"HTTPS_PROXY": "http://u:p@proxy:3128", "CI_JWT": "x"}) == [
        "CI_JWT",
        "HTTPS_PROXY",
    ]


def test_a_socket_of_this_user_is_ours() -> None:
    left, right = socket.socketpair()
    with left, right:
        assert peer_is_us(left)  # same process, same user


@pytest.mark.skipif(os.getuid() != 0, reason="only root can connect as another user")
def test_a_socket_of_another_user_is_told_nothing() -> None:
    folder = Path(tempfile.mkdtemp(prefix="seamline-peer-"))
    try:
        os.chmod(folder, 0o755)  # noqa: S103 - another user must reach the socket
        path = folder / "other.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(1)
        listener.settimeout(10)
        os.chmod(path, 0o777)  # noqa: S103 - another user must be able to connect
        child = os.fork()
        if child == 0:  # a process of another user connects, then waits for the close
            try:
                os.setuid(65534)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(10)
                    sock.connect(str(path))
                    sock.recv(1)
            finally:
                os._exit(0)
        conn, _ = listener.accept()
        with conn, listener:
            assert not peer_is_us(conn)
        os.waitpid(child, 0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_fingerprint_follows_module_changes(tmp_path: Path) -> None:
    for package in ("seamline", "flows", "tasks", "deployments"):
        (tmp_path / package).mkdir()
    module = tmp_path / "tasks" / "stage.py"
    module.write_text("x = 1\n")
    first = code_fingerprint(tmp_path)
    assert code_fingerprint(tmp_path) == first
    module.write_text("x = 22\n")
    assert code_fingerprint(tmp_path) != first


def test_messages_carry_file_descriptors() -> None:
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    with left, right:
        send(left, {"op": "run", "n": 1}, fds=[write_end])
        send(left, {"op": "ping"})
        reader = MessageReader(right)
        assert reader.next() == {"op": "run", "n": 1}
        assert reader.next() == {"op": "ping"}
        assert len(reader.fds) == 1
        os.write(reader.fds[0], b"through the socket")
        assert os.read(read_end, 100) == b"through the socket"
        for fd in (*reader.fds, read_end, write_end):
            os.close(fd)
