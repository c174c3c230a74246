"""A recording fake of the few Meilisearch routes Ticketry calls, on 127.0.0.1.

It is NOT Meilisearch (none can be installed here): it records every request so
tests can check the documents, settings and search parameters we send, and
answers in Meilisearch's response shapes. Its "search" is a naive word match
over the documents it was sent, filtered by ``tenant_id = N`` only, enough to
exercise our response handling. ``fail = True`` makes every route answer 500.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPEN, CLOSE = "\ue000", "\ue001"


class RecordingMeili:
    def __init__(self):
        self.requests: list[tuple[str, str, object]] = []
        self.indexes: dict[str, dict] = {}  # uid -> {"settings": {}, "docs": {id: doc}}
        self.fail = False
        self.task = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw.strip() else None
                fake.requests.append((method, self.path, body))
                if fake.fail:
                    return self._reply(500, {"message": "fake failure", "code": "internal", "type": "internal",
                                             "link": ""})
                status, answer = fake.route(method, self.path.split("?")[0], body)
                return self._reply(status, answer)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

            def do_PATCH(self):
                self._handle("PATCH")

            def do_DELETE(self):
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- what was sent --------------------------------------------------------------------
    def sent(self, method: str, path_suffix: str) -> list:
        return [body for m, p, body in self.requests if m == method and p.split("?")[0].endswith(path_suffix)]

    def documents(self, uid: str) -> dict:
        return self.indexes.get(uid, {}).get("docs", {})

    # -- routes ------------------------------------------------------------------------------
    def _task(self, uid, kind):
        self.task += 1
        return 202, {"taskUid": self.task, "indexUid": uid, "status": "enqueued", "type": kind,
                     "enqueuedAt": "2026-01-01T00:00:00.000000Z"}

    def route(self, method, path, body):
        parts = [p for p in path.split("/") if p]
        if parts == ["indexes"] and method == "POST":
            self.indexes.setdefault(body["uid"], {"settings": {}, "docs": {}})
            return self._task(body["uid"], "indexCreation")
        if len(parts) < 2 or parts[0] != "indexes":
            return 404, {"message": "not found", "code": "not_found", "type": "invalid_request", "link": ""}
        uid, rest = parts[1], parts[2:]
        if rest == ["documents"] and method in ("POST", "PUT"):  # like Meilisearch: adding creates the index
            self.indexes.setdefault(uid, {"settings": {}, "docs": {}})
        index = self.indexes.get(uid)
        if index is None:
            return 404, {"message": f"Index `{uid}` not found.", "code": "index_not_found",
                         "type": "invalid_request", "link": ""}
        if not rest and method == "GET":
            return 200, {"uid": uid, "primaryKey": "id", "createdAt": "2026-01-01T00:00:00.000000Z",
                         "updatedAt": "2026-01-01T00:00:00.000000Z"}
        if rest == ["settings"] and method == "PATCH":
            index["settings"].update(body)
            return self._task(uid, "settingsUpdate")
        if rest == ["documents"] and method in ("POST", "PUT"):
            for doc in body:
                index["docs"][doc["id"]] = doc
            return self._task(uid, "documentAdditionOrUpdate")
        if rest == ["documents", "delete"] and method == "POST":
            return self._task(uid, "documentDeletion")  # recorded, not applied (no filter engine here)
        if rest == ["documents", "fetch"] and method == "POST":
            docs = self._tenant_docs(index, body.get("filter"))
            offset, limit = body.get("offset", 0), body.get("limit", 20)
            fields = body.get("fields")
            page = [{k: d[k] for k in fields} if fields else d for d in docs[offset:offset + limit]]
            return 200, {"results": page, "offset": offset, "limit": limit, "total": len(docs)}
        if rest == ["search"] and method == "POST":
            return 200, self._search(index, body)
        return 404, {"message": "not found", "code": "not_found", "type": "invalid_request", "link": ""}

    @staticmethod
    def _tenant_docs(index, filters) -> list:
        text = " AND ".join(filters) if isinstance(filters, list) else (filters or "")
        match = re.search(r"tenant_id = (\d+)", text)
        docs = list(index["docs"].values())
        if match:
            docs = [d for d in docs if d.get("tenant_id") == int(match.group(1))]
        return sorted(docs, key=lambda d: d["id"])

    def _search(self, index, body) -> dict:
        words = [w.lower() for w in re.findall(r"\w+", body.get("q") or "")]
        docs = self._tenant_docs(index, body.get("filter"))
        fields = body.get("attributesToHighlight") or []
        hits = []
        for doc in docs:
            text = " ".join(str(doc.get(f, "")) for f in fields).lower()
            if all(w in text for w in words):
                formatted = {}
                for f in fields:
                    value = str(doc.get(f, ""))
                    for w in words:
                        value = re.sub(f"(?i)({re.escape(w)}\\w*)", body.get("highlightPreTag", OPEN) + r"\1"
                                       + body.get("highlightPostTag", CLOSE), value)
                    formatted[f] = value
                keep = body.get("attributesToRetrieve") or list(doc)
                hits.append({**{k: doc[k] for k in keep if k in doc}, "_formatted": formatted,
                             "_rankingScore": 0.5})
        per_page = body.get("hitsPerPage", 20)
        page = body.get("page", 1)
        return {"hits": hits[(page - 1) * per_page: page * per_page], "totalHits": len(hits), "page": page,
                "hitsPerPage": per_page, "totalPages": max(1, -(-len(hits) // per_page)), "processingTimeMs": 1,
                "query": body.get("q")}
