"""beian-gateway end to end: a portal written with nothing but the standard library's HTTP client
submits a specimen application through the real stack, polls it until done, fetches the result
and a prepared image, cancels, lists, and meets every refusal (bad token, other tenant, oversized,
bad multipart); every response is checked against docs/openapi.yaml."""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import (BIN, SRC, Stack, check, fail, gateway_token, multipart, require_binaries,  # noqa: E402
                      start_gateway)

require_binaries("beiand", "beian", "beian-gateway", "beian-quality", "beian-ocr", "beian-face")
spec_dir = os.environ.get("BEIAN_SPECIMENS", "")
front = os.path.join(spec_dir, "0000-id-card-front-clean.jpg")
back = os.path.join(spec_dir, "0001-id-card-back-clean.jpg")
selfie = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
if not (os.path.exists(front) and os.path.exists(back) and os.path.exists(selfie)):
    print("SKIP: generated specimens (BEIAN_SPECIMENS) or the facedetect sample are missing")
    sys.exit(77)
truth = json.load(open(front[:-4] + ".json"))
MAX_UPLOAD = 2 << 20  # broker.max_upload for this test: the specimens are well under it

api = yaml.safe_load(open(os.path.join(SRC, "docs", "openapi.yaml")))
resolver = jsonschema.RefResolver.from_schema(api)


def conforms(path, method, status, ctype, body):
    """The response is one docs/openapi.yaml documents, and its JSON body fits the schema."""
    responses = api["paths"][path][method]["responses"]
    if str(status) not in responses:
        fail("%s %s: status %d is not documented" % (method.upper(), path, status))
    resp = responses[str(status)]
    if "$ref" in resp:
        resp = resolver.resolve(resp["$ref"])[1]
    if ctype not in resp["content"]:
        fail("%s %s %d: content type %s is not documented" % (method.upper(), path, status, ctype))
    if ctype.endswith("json"):
        jsonschema.Draft202012Validator(resp["content"][ctype]["schema"], resolver=resolver).validate(body)


class Portal:
    """A portal's HTTP client: urllib only."""

    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, url, path, data=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.base + url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, ctype, raw, hdrs = r.status, r.headers.get_content_type(), r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, ctype, raw, hdrs = e.code, e.headers.get_content_type(), e.read(), e.headers
        body = json.loads(raw) if ctype.endswith("json") else raw
        conforms(path, method.lower(), status, ctype, body)
        if ctype == "application/problem+json":
            check(body["status"] == status and body["type"] == "urn:beian:problem:" + body["code"],
                  "problem document consistent (%d %s)" % (status, body["code"]))
        return status, body, hdrs

    def submit(self, parts, key=None, ctype=None):
        """parts: [(name, bytes)] as multipart/form-data."""
        body, mtype = multipart(parts)
        h = {"Content-Type": ctype or mtype}
        if key:
            h["Idempotency-Key"] = key
        return self.call("POST", "/v1/applications", "/v1/applications", body, h)

    def get(self, job):
        return self.call("GET", "/v1/applications/" + job, "/v1/applications/{id}")


cfg = None
st = None
try:
    st = Stack(heartbeat=500)
    cfg = os.path.join(st.dir, "beian.json")
    json.dump({"broker": {"max_upload": MAX_UPLOAD}}, open(cfg, "w"))
    st.kill_broker()
    st.args += ["--config", cfg]
    st.start_broker()
    tokens = os.path.join(st.dir, "gateway.tokens")
    tok_acme, tok_other = gateway_token(tokens, "acme"), gateway_token(tokens, "other")
    text = open(tokens).read()
    check(tok_acme.startswith("bnt_") and len(tok_acme) == 68 and tok_acme not in text and "acme blake2b:" in text,
          "--add-token prints a token once; the file holds only its hash")
    check(os.stat(tokens).st_mode & 0o777 == 0o600, "the tokens file is 0600")
    gw, base = start_gateway(st, tokens, cfg)
    port = int(base.rsplit(":", 1)[1])
    acme, other = Portal(base, tok_acme), Portal(base, tok_other)
    fdata, bdata, sdata = open(front, "rb").read(), open(back, "rb").read(), open(selfie, "rb").read()
    form = json.dumps({"name": truth["fields"]["name"], "id_number": truth["fields"]["id_number"]}).encode()

    # Refusals at the door
    for p, what in ((Portal(base, None), "no token"), (Portal(base, "bnt_" + "0" * 64), "unknown token"),
                    (Portal(base, tok_acme[:-1] + ("0" if tok_acme[-1] != "0" else "1")), "altered token")):
        s, b, h = p.call("GET", "/v1/applications", "/v1/applications")
        check(s == 401 and b["code"] == "auth_refused" and h.get("WWW-Authenticate", "").startswith("Bearer"),
              "%s: 401 auth_refused problem+json" % what)

    # Cancel: no workers yet, so the application is still queued
    s, b, _ = acme.submit([("passport", fdata)])
    check(s == 202, "a passport application accepted: %d %s" % (s, b))
    cancel_id = b["job"]
    s, b, _ = acme.get(cancel_id)
    check(s == 200 and b["status"] == "queued" and b["progress"]["done"] == 0, "unfinished: status and progress")
    s, b, _ = other.call("DELETE", "/v1/applications/" + cancel_id, "/v1/applications/{id}")
    check(s == 404 and b["code"] == "unknown_job", "another tenant cannot cancel it: 404 unknown_job")
    s, b, _ = acme.call("DELETE", "/v1/applications/" + cancel_id, "/v1/applications/{id}")
    check(s == 200 and b["status"] == "cancelled", "DELETE cancels")
    s, b, _ = acme.call("DELETE", "/v1/applications/" + cancel_id, "/v1/applications/{id}")
    check(s == 409 and b["code"] == "already_finished", "cancelling again: 409 already_finished")

    for w in ("quality", "ocr", "face"):
        st.worker("beian." + w, binary="beian-" + w, supervise=True)

    # Submit, resubmit with the same key, poll until done
    parts = [("id-card:front", fdata), ("id-card:back", bdata), ("selfie", sdata), ("form", form)]
    s, b, h = acme.submit(parts, key="portal-app-1")
    check(s == 202 and not b["duplicate"] and h["Location"] == "/v1/applications/" + b["job"],
          "POST: 202, the job id and its Location")
    job = b["job"]
    s, b, _ = acme.submit(parts, key="portal-app-1")
    check(s == 202 and b["job"] == job and b["duplicate"], "same Idempotency-Key: the same id, duplicate")
    s, b, _ = other.submit(parts[:1], key="portal-app-1")
    check(s == 202 and b["job"] != job, "the key is per tenant: another tenant's submission is its own job")
    other_job = b["job"]
    end = time.time() + 300
    while True:
        s, res, _ = acme.get(job)
        if s != 200 or res["status"] not in ("queued", "running") or time.time() > end:
            break
        time.sleep(0.3)
    check(s == 200 and res["status"] == "done" and res["verdict"] in ("pass", "review", "reshoot", "reject"),
          "polled until done: %s" % res.get("verdict"))
    check(res["documents"][0]["fields"].get("id_number", {}).get("value") == truth["fields"]["id_number"]
          and "face" in res, "the result reads the specimen's number and has the face block")
    cli = subprocess.run([os.path.join(BIN, "beian"), "-e", st.ep, "result", job, "--out", os.path.join(st.dir, "cli")],
                         capture_output=True, timeout=60)
    check(cli.returncode == 0 and json.loads(cli.stdout) == res, "the same result document as `beian result`")
    s, img, h = acme.call("GET", "/v1/applications/%s/images/d0.prepared.jpg" % job, "/v1/applications/{id}/images/{name}")
    check(s == 200 and img == open(os.path.join(st.dir, "cli", "d0.prepared.jpg"), "rb").read(),
          "the prepared image: the bytes `beian result --out` saves")
    s, b, _ = acme.call("GET", "/v1/applications/%s/images/d7.prepared.jpg" % job, "/v1/applications/{id}/images/{name}")
    check(s == 404 and b["code"] == "unknown_blob", "an image the result does not name: 404 unknown_blob")
    s, b, _ = other.get(job)
    check(s == 404 and b["code"] == "unknown_job", "another tenant's application is unknown: 404")
    s, b, _ = other.call("GET", "/v1/applications/%s/images/d0.prepared.jpg" % job, "/v1/applications/{id}/images/{name}")
    check(s == 404, "nor are its images")
    s, b, _ = acme.get("0" * 32)
    check(s == 404 and b["code"] == "unknown_job", "an unknown id: 404 unknown_job")

    # Listing, paged and tenant-scoped
    L = "/v1/applications"
    s, b, _ = acme.call("GET", L, L)
    check(s == 200 and [j["job"] for j in b["jobs"]] == [job, cancel_id] and b["next"] is None,
          "list: the tenant's two applications, newest first")
    s, b, _ = acme.call("GET", L + "?status=cancelled", L)
    check([j["job"] for j in b["jobs"]] == [cancel_id], "status=cancelled filters")
    s, p1, _ = acme.call("GET", L + "?limit=1", L)
    s2, p2, _ = acme.call("GET", L + "?limit=1&cursor=" + p1["next"], L)
    check([j["job"] for j in p1["jobs"] + p2["jobs"]] == [job, cancel_id], "limit=1 pages with the cursor")
    s, b, _ = other.call("GET", L, L)
    check([j["job"] for j in b["jobs"]] == [other_job], "another tenant lists its own only")
    for q, what in (("?status=bogus", "status"), ("?limit=0", "limit"), ("?limit=x", "limit"), ("?cursor=zz", "cursor")):
        s, b, _ = acme.call("GET", L + q, L)
        check(s == 400 and b["code"] == "bad_request", "list: a bad %s is 400 bad_request" % what)

    # Bad requests
    s, b, _ = acme.submit([("id-card:front", fdata)], ctype="text/plain")
    check(s == 400 and b["code"] == "bad_request", "a body that is not multipart: 400")
    s, b, _ = acme.submit([("id-card:front", fdata)], ctype="multipart/form-data")
    check(s == 400 and b["code"] == "bad_request", "multipart without a boundary: 400")
    s, b, _ = acme.call("POST", L, L, b"--x\r\nno headers here\r\n", {"Content-Type": "multipart/form-data; boundary=x"})
    check(s == 400 and b["code"] == "bad_request", "a truncated multipart body: 400")
    s, b, _ = acme.submit([("id-card:sideways", fdata)])
    check(s == 400 and "id-card:sideways" in b["detail"], "an unknown part name: 400 naming it")
    s, b, _ = acme.submit([("passport:back", fdata)])
    check(s == 400, "a side the document does not have: 400")
    s, b, _ = acme.submit([("id-card:front", fdata), ("form", b"[1, 2")])
    check(s == 400 and "form" in b["detail"], "a form that is not a JSON object: 400")
    s, b, _ = acme.submit([("selfie", sdata)])
    check(s == 400 and "no document" in b["detail"], "a selfie alone: 400")
    s, b, _ = acme.submit([("id-card:front", fdata)], key="k" * 201)
    check(s == 400, "an Idempotency-Key over 200 characters: 400")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("DELETE", L, headers={"Authorization": "Bearer " + tok_acme})
    r = conn.getresponse()
    check(r.status == 405 and json.loads(r.read())["code"] == "method_not_allowed", "DELETE on the collection: 405")
    conn.request("GET", "/v2/other", headers={"Authorization": "Bearer " + tok_acme})
    r = conn.getresponse()
    check(r.status == 404 and json.loads(r.read())["code"] == "not_found", "an unknown path: 404 not_found")
    conn.close()

    # Oversized: a part over broker.max_upload, and a request longer than any valid one, refused
    # at its headers (before "100 Continue": not a byte of the body is read)
    s, b, _ = acme.submit([("id-card:front", b"\xff" * (MAX_UPLOAD + 1))])
    check(s == 413 and b["code"] == "upload_too_large" and "id-card:front" in b["detail"],
          "an image over broker.max_upload: 413 upload_too_large naming the part")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", L)
    for k, v in (("Authorization", "Bearer " + tok_acme), ("Content-Type", "multipart/form-data; boundary=x"),
                 ("Content-Length", str(1 << 40)), ("Expect", "100-continue")):
        conn.putheader(k, v)
    conn.endheaders()
    r = conn.getresponse()
    body = json.loads(r.read())
    conforms(L, "post", r.status, r.headers.get_content_type(), body)
    check(r.status == 413 and body["code"] == "upload_too_large", "Content-Length of 1 TiB: 413 before the body")
    conn.close()
    s, b, _ = acme.get(job)
    check(s == 200 and b["status"] == "done", "the gateway still serves after the refusals")
    check(gw.poll() is None, "the gateway is still running")
    log = st.logtext()
    check(truth["fields"]["id_number"] not in log and tok_acme not in log, "no ID number and no token in the logs")
    gw.terminate()
    gw.wait(5)
finally:
    if st:
        st.close()
print("gateway checks passed")
