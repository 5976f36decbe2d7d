"""A stand-in for MAST on 127.0.0.1: the Portal API that astroquery speaks, answering from
the replayed tables of ``tests/fixtures/mast``, and the file download endpoint, serving the
real light curves of ``../shared/realdata`` by name.

The Portal API part follows the documented protocol (https://mast.stsci.edu/api/v0/): a
form-encoded ``request`` JSON object POSTed to ``/api/v0/invoke``, answered with ``status``,
``fields``, ``data`` and ``paging``; column configurations come from
``/portal/Mashup/Mashup.asmx/columnsconfig``. Point astroquery at it with its own setting,
``[mast] server = <FakeMast.root>`` in ``$XDG_CONFIG_HOME/astropy/astroquery.cfg``.
The same files are served at ``/files/<name>``, a stand-in for ExoFOP and CDS downloads.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
from astropy.table import Table

FIXTURES = Path(__file__).parent / "fixtures" / "mast"
STALL_S = 3.0  # a stalled answer; the handler thread is a daemon, nobody waits for it
DOWNLOAD_PATH = "/api/v0.1/Download/file"
_PORTAL_TYPES = {"i": ("int", "int"), "f": ("double", "float"), "U": ("char", "string")}


class FakeMast(ThreadingHTTPServer):
    """MAST on loopback. ``files`` maps file names to the files served for download.

    ``script[name]`` lists answers to give to downloads of ``name`` before the file: an HTTP
    status, or ``"stall"`` (no answer for longer than the client's timeout). ``requested``
    lists the downloaded names, ``services`` the Portal services asked, in order.
    """

    daemon_threads = True

    def __init__(self, files: dict[str, Path]) -> None:
        super().__init__(("127.0.0.1", 0), FakeMastHandler)
        self.files, self.script, self.requested, self.services = files, {}, [], []
        self.tables = {name: Table.read(FIXTURES / f"{name}.ecsv")
                       for name in ("observations", "products", "tic")}
        self.root = f"http://127.0.0.1:{self.server_address[1]}"
        self.url = self.root + DOWNLOAD_PATH

    def __enter__(self) -> FakeMast:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()

    def write_astroquery_config(self, config_home: Path) -> None:
        """Point astroquery (and so transitflow) at this server for processes whose
        ``XDG_CONFIG_HOME`` is ``config_home``."""
        (config_home / "astropy").mkdir(parents=True, exist_ok=True)
        (config_home / "astropy" / "astroquery.cfg").write_text(
            f"[mast]\nserver = {self.root}\n")

    def column_config(self, name: str) -> dict:
        table = self.tables["tic" if "Tess" in name else "observations"]
        return {column: {"vot.datatype": _PORTAL_TYPES[table[column].dtype.kind][0]}
                for column in table.colnames}

    def invoke(self, request: dict) -> dict:
        service, params = request["service"], request["params"]
        self.services.append(service)
        if service == "Mast.Catalogs.All.Tic":
            return {"data": {"Tables": [{"ExtendedProperties": {
                "discreteHistogram": {}, "continuousHistogram": {}}}]}}
        if service == "Mast.Caom.Filtered":
            return _answer(_filtered(self.tables["observations"], params["filters"]))
        if service == "Mast.Caom.Products":
            products = self.tables["products"]
            return _answer(products[np.isin(products["obsID"], params["obsid"].split(","))])
        if service == "Mast.Catalogs.Filtered.Tic.Rows":
            return _answer(_filtered(self.tables["tic"], params["filters"]))
        return {"status": "ERROR", "msg": f"unknown service {service}"}


def _filtered(table: Table, filters: list[dict]) -> Table:
    """The rows of ``table`` that pass Mashup filters (discrete: any of ``values``)."""
    keep = np.ones(len(table), bool)
    for entry in filters:
        cells = np.array([str(value) for value in table[entry["paramName"]]])
        keep &= np.isin(cells, entry["values"])
    return table[keep]


def _answer(table: Table) -> dict:
    """A complete one-page Portal API answer holding ``table``."""
    fields = [{"name": name, "type": _PORTAL_TYPES[table[name].dtype.kind][1]}
              for name in table.colnames]
    rows = [{name: (None if np.ma.is_masked(row[name]) else row[name].item())
             for name in table.colnames} for row in table]
    return {"status": "COMPLETE", "msg": "", "fields": fields, "data": rows,
            "paging": {"page": 1, "pageSize": len(rows), "pagesFiltered": 1,
                       "rows": len(rows), "rowsFiltered": len(rows), "rowsTotal": len(rows)}}


class FakeMastHandler(BaseHTTPRequestHandler):
    server: FakeMast

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == DOWNLOAD_PATH:
            name = parse_qs(url.query)["uri"][0].rsplit("/", 1)[-1]
        elif url.path.startswith("/files/"):
            name = url.path.removeprefix("/files/")
        else:
            self.send_error(404)
            return
        self.server.requested.append(name)
        steps = self.server.script.get(name, [])
        answer = steps.pop(0) if steps else 200
        if answer == "stall":
            time.sleep(STALL_S)
        elif answer != 200 or name not in self.server.files:
            self.send_error(answer if answer != 200 else 404)
        else:
            self._send(self.server.files[name].read_bytes())

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        if self.path.endswith("/columnsconfig"):
            answer = self.server.column_config(form["colConfigId"][0])
        elif self.path == "/api/v0/invoke":
            answer = self.server.invoke(json.loads(form["request"][0]))
        else:
            self.send_error(404)
            return
        self._send(json.dumps(answer).encode())

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass
