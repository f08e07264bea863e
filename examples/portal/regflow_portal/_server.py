"""The HTTP server `python -m regflow_portal` runs: Werkzeug's, without its `Server` banner.

Werkzeug's request handler (Python's `http.server`) names itself and the Python version in a
`Server` header on every answer, which tells a scanner which known holes to try. This one
sends the status line and `Date` only. Behind a reverse proxy, hide the proxy's own banner
too (docs/operations.md, "Running the reference portal").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from flask import Flask


class BannerlessRequestHandler(WSGIRequestHandler):
    """`WSGIRequestHandler` that does not send `Server`."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def portal_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """A threaded server for `app` on `host:port` (0: any free port, see `.port`)."""
    return make_server(host, port, app, threaded=True, request_handler=BannerlessRequestHandler)
