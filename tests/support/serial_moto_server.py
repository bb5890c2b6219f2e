"""moto's DynamoDB server with each request applied whole before the next begins.

Real DynamoDB evaluates a conditional write atomically: of eight racing ``PutItem`` calls with
``attribute_not_exists(pk)`` exactly one succeeds. moto's standalone server answers on many
threads and its in-memory table checks the condition and writes the item without a lock, so two
racers can both win (seen in CI: ``test_racing_threads_claim_an_update_exactly_once[dynamodb]``
got two claims). This launcher serves the same moto app behind one lock, which restores the
guarantee the store relies on; the store's requests still race on the wire.

Run as a script: ``python serial_moto_server.py PORT`` (see ``dynamodb_local.dynamodb_server``).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class Serialised:
    """A WSGI app that lets one request at a time into ``app`` (its whole body is built inside)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            body = self.app(environ, start_response)
            try:
                return list(body)
            finally:
                if hasattr(body, "close"):  # WSGI: the server must close what the app returned
                    body.close()


def main(port: int) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = Serialised(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(int(sys.argv[1]))
