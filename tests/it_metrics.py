"""Metrics (issue #14): `beiand --metrics ADDR` and the gateway's GET /metrics answer the broker's
beian.metrics in the Prometheus text exposition format (0.0.4) — checked here by a strict parser
of that format — and the numbers move when jobs run: queue depth and workers per service, jobs by
status and verdict, stage latency histograms, webhook backlog, store size."""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, Stack, _procs, check, free_port, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "beian-gateway", "tw_worker")

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"(%s)(?:\{(.*)\})? (\S+)(?: -?\d+)?$" % NAME)
LABELS = re.compile(r"(?:%s(?:,%s)*,?)?" % (LABEL, LABEL))
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


def parse(text):
    """Strict text-format 0.0.4 parser: {family: {"type", "help", "samples": [(name, labels, value)]}}.
    Raises ValueError on anything the format does not allow."""
    if not text.endswith("\n"):
        raise ValueError("the exposition must end with a newline")
    fams, current = {}, None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                raise ValueError("line %d: malformed %s" % (n, parts[1]))
            f = fams.setdefault(parts[2], {"type": "untyped", "help": None, "samples": []})
            if parts[1] == "TYPE":
                if f["samples"] or f.get("typed"):
                    raise ValueError("line %d: TYPE after samples or twice" % n)
                if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError("line %d: unknown type %s" % (n, parts[3]))
                f["type"], f["typed"] = parts[3], True
            else:
                if f["help"] is not None:
                    raise ValueError("line %d: HELP twice" % n)
                f["help"] = parts[3]
            current = parts[2]
            continue
        if line.startswith("#") or line == "":
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("line %d: not a sample: %r" % (n, line))
        name, body, value = m.groups()
        if body is not None and not LABELS.fullmatch(body):
            raise ValueError("line %d: malformed labels: %r" % (n, body))
        labels = dict(re.findall(LABEL, body or ""))
        if not re.fullmatch(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+|Inf)|NaN", value):
            raise ValueError("line %d: not a value: %r" % (n, value))
        v = float(value.replace("Inf", "inf"))
        fam = next((f for f in (name,) + tuple(name[:-len(s)] for s in SUFFIXES.get(fams.get(current, {}).get("type"), ())
                                                    if s and name.endswith(s)) if f == current), None)
        if fam is None:
            raise ValueError("line %d: sample %s outside its family (%s)" % (n, name, current))
        fams[fam]["samples"].append((name, labels, v))
    for name, f in fams.items():
        if f["type"] == "counter" and not name.endswith("_total"):
            raise ValueError("counter %s does not end in _total" % name)
        if f["type"] == "histogram":
            series = {}
            for s, labels, v in f["samples"]:
                key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
                series.setdefault(key, {"buckets": []})
                if s.endswith("_bucket"):
                    series[key]["buckets"].append((float(labels["le"].replace("Inf", "inf")), v))
                else:
                    series[key][s[len(name) + 1:]] = v
            for key, h in series.items():
                les = [b[0] for b in h["buckets"]]
                counts = [b[1] for b in h["buckets"]]
                if les != sorted(les) or not les or les[-1] != math.inf or counts != sorted(counts) \
                        or counts[-1] != h.get("count"):
                    raise ValueError("histogram %s%s: buckets not cumulative or +Inf != count" % (name, key))
    return fams


def value(fams, sample, **labels):
    """The value of the sample named so (a family's, or its _bucket/_sum/_count) with these labels."""
    for f in fams.values():
        for name, lab, v in f["samples"]:
            if name == sample and all(lab.get(k) == x for k, x in labels.items()):
                return v
    return None


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


# The parser itself refuses what the format does not allow.
for bad in ("x 1", "x{a=b} 1\n", "# TYPE x counter\nx 1\n", "# TYPE x gauge\nx{a=\"1\"} one\n",
            "x 1\n# TYPE x gauge\n", "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"):
    try:
        parse(bad)
        check(False, "the parser refuses %r" % bad)
    except ValueError:
        pass
check(parse('# HELP x_total a\n# TYPE x_total counter\nx_total{a="q\\"\\\\",b=""} 3\n')["x_total"]["samples"]
      == [("x_total", {"a": 'q\\"\\\\', "b": ""}, 3.0)], "the parser reads a well-formed family")

work = tempfile.mkdtemp(prefix="beian-metrics-")
r = subprocess.run([os.path.join(BIN, "beiand"), "--dir", os.path.join(work, "v"), "--metrics", "localhost"],
                   capture_output=True, timeout=30)
check(r.returncode == 1 and b"config_invalid" in r.stderr, "beiand --metrics localhost → 1, config_invalid")

# The default tenant's webhook points at a port nobody listens on, retried for long: every
# finished job's delivery stays pending, and the backlog shows them.
cfg = os.path.join(work, "beian.json")
json.dump({"webhooks": {"backoff_ms": 10000, "retry_for_ms": 600000, "timeout_ms": 500,
                        "tenants": {"default": {"url": "http://127.0.0.1:%d/hook" % free_port(), "secret": "s" * 32}}}},
          open(cfg, "w"))
mport = free_port()
st = Stack(heartbeat=200, extra=["--metrics", "127.0.0.1:%d" % mport, "--config", cfg])
try:
    murl = "http://127.0.0.1:%d/metrics" % mport
    for _ in range(100):
        try:
            status, ctype, text = get(murl)
            break
        except OSError:
            time.sleep(0.05)
    fams = parse(text)
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4"), "beiand --metrics: 200 text/plain; version=0.0.4")
    for fam, typ in (("beian_queue_depth", "gauge"), ("beian_workers", "gauge"), ("beian_jobs", "gauge"),
                     ("beian_jobs_finished_total", "counter"), ("beian_stage_duration_seconds", "histogram"),
                     ("beian_webhook_backlog", "gauge"), ("beian_store_bytes", "gauge")):
        check(fams.get(fam, {}).get("type") == typ and fams[fam]["help"], "%s is a %s with its HELP" % (fam, typ))
    check(value(fams, "beian_jobs", status="done") == 0 and not fams["beian_jobs_finished_total"]["samples"]
          and value(fams, "beian_webhook_backlog") == 0, "before any job: no job done, no webhook pending")
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % mport, timeout=10)
        check(False, "another path is 404")
    except urllib.error.HTTPError as e:
        check(e.code == 404, "another path → 404")

    # Jobs before any worker: they wait in the queue, and the queue depth shows it.
    img = os.path.join(work, "card.jpg")
    open(img, "wb").write(b"card bytes")
    beian = [os.path.join(BIN, "beian"), "-e", st.ep]
    acks = [json.loads(subprocess.run(beian + ["submit", "--doc", "id-card=" + img, "--key", "k%d" % i, "--json"],
                                      capture_output=True, timeout=60).stdout)["job"] for i in range(2)]
    fams = parse(get(murl)[2])
    check(value(fams, "beian_queue_depth", service="beian.quality") == 2 and value(fams, "beian_jobs", status="queued") == 2,
          "two jobs and no worker: queue depth 2 for beian.quality, 2 jobs queued")
    st.all_workers()
    for job in acks:
        r = subprocess.run(beian + ["result", job, "--wait"], capture_output=True, timeout=120)
        check(r.returncode == 0, "job %s done" % job[:8])
    fams = parse(get(murl)[2])
    check(all(value(fams, "beian_workers", service=s) == 1 for s in ("beian.quality", "beian.ocr", "beian.face")),
          "one worker per service")
    check(value(fams, "beian_queue_depth", service="beian.quality") == 0, "the queue drained")
    verdicts = [(lab["status"], lab["verdict"], v) for _, lab, v in fams["beian_jobs_finished_total"]["samples"]]
    check(sum(v for s, _, v in verdicts if s == "done") == 2 and value(fams, "beian_jobs", status="done") == 2,
          "jobs_finished_total and jobs{status=done} count both jobs (%s)" % verdicts)
    for s, n in (("beian.quality", 2), ("beian.ocr", 2), ("beian.face", 0)):  # no selfie: no face task
        check(value(fams, "beian_stage_duration_seconds_count", service=s) == n
              and value(fams, "beian_stage_duration_seconds_bucket", service=s, le="+Inf") == n,
              "%s: %d stage latencies observed" % (s, n))
    check(value(fams, "beian_store_bytes", part="database") > 0 and value(fams, "beian_store_bytes", part="spool") > 0,
          "store size: database and spool bytes")
    check(value(fams, "beian_webhook_backlog") == 2, "webhook backlog: both deliveries pending (receiver down)")

    # The gateway's GET /metrics: the same families, no bearer token needed.
    gport = free_port()
    gw = subprocess.Popen([os.path.join(BIN, "beian-gateway"), "--endpoint", st.ep, "--tokens",
                           os.path.join(work, "tokens"), "--listen", "127.0.0.1:%d" % gport], stdout=st.log, stderr=st.log)
    _procs.append(gw)
    for _ in range(100):
        try:
            status, ctype, text = get("http://127.0.0.1:%d/metrics" % gport)
            break
        except OSError:
            time.sleep(0.05)
    fams = parse(text)
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4") and value(fams, "beian_jobs", status="done") == 2,
          "gateway GET /metrics: the broker's metrics, parsed, without a token")
    gw.terminate()
    gw.wait()
finally:
    st.close()
print("all metrics checks passed")
