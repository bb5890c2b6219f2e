"""A real DynamoDB-compatible server on 127.0.0.1 for the store's tests: moto's standalone
server (from the ``dev`` extra), started as a separate process by ``serial_moto_server.py``,
which applies one request at a time as DynamoDB applies a conditional write atomically.

The tests talk to it through boto3 exactly as Lambda talks to DynamoDB (``dynamodb://TABLE``
with an ``endpoint`` option); nothing reaches AWS. Each test gets its own table, created like
template.yaml's (pk/sk string keys, on-demand, TTL on ``expires_at``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REGION = "eu-west-1"
# Fake credentials: moto accepts anything, and they keep boto3 from looking for real ones.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_tables = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DynamoDBServer:
    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self):  # -> botocore client
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        ).client("dynamodb", endpoint_url=self.endpoint)

    def create_table(self, name: str | None = None) -> str:
        """A fresh table shaped like template.yaml's; returns its name."""
        name = name or f"breedbot-test-{next(_tables)}"
        client = self.client()
        client.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
        return name

    def store_url(self, table: str) -> str:
        """The ``BREEDBOT_STORE`` value for ``table`` on this server."""
        return f"dynamodb://{table}?region={REGION}&endpoint={self.endpoint}"


@contextlib.contextmanager
def dynamodb_server(timeout: float = 30.0) -> Iterator[DynamoDBServer]:
    port = free_port()
    env = {**os.environ, **AWS_ENV}
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("serial_moto_server.py")), str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the moto DynamoDB server did not start")
            time.sleep(0.05)
        yield DynamoDBServer(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """An endpoint that accepts connections and never answers (a store that hangs): yields
    its ``http://127.0.0.1:PORT`` URL."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = listener.accept()
                held.append(connection)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        listener.close()


def refusing_endpoint() -> str:
    """An endpoint where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"
