"""The beian CLI's contract: exit codes (0 result, 1 bad input, 2 unreachable/timeout, 3 job
failed), JSON on stdout and messages on stderr, --help everywhere (each command its own usage),
--version on every binary, `beian list`, JSON-lines batches."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, SRC, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "tw_worker", "beian-gateway", "beian-quality", "beian-ocr", "beian-face")
beian = os.path.join(BIN, "beian")
work = tempfile.mkdtemp(prefix="beian-cli-")
img = os.path.join(work, "card.jpg")
open(img, "wb").write(b"card bytes")


def run(*args, timeout=60):
    return subprocess.run([beian] + list(args), capture_output=True, timeout=timeout)


r = run("--help")
check(r.returncode == 0 and r.stdout.startswith(b"usage: beian [global options]"), "beian --help → the global usage")
# Issue #14: each command's --help is its own usage (not the global one), exit 0.
for cmd in ("submit", "status", "result", "cancel", "list", "webhooks", "batch", "check", "keygen", "eval"):
    r = run(cmd, "--help")
    check(r.returncode == 0 and r.stdout.startswith(b"usage: beian " + cmd.encode()) and b"Global options" not in r.stdout,
          "beian %s --help → its own usage, 0 (%r)" % (cmd, r.stdout[:60]))
    r = run("help", cmd)
    check(r.returncode == 0 and r.stdout.startswith(b"usage: beian " + cmd.encode()), "beian help %s" % cmd)
for stage in ("quality", "ocr", "face", "real"):
    r = run("eval", stage, "--help")
    check(r.returncode == 0 and r.stdout.startswith(b"usage: beian eval"), "beian eval %s --help → 0" % stage)
r = run("submit", "--help")
check(b"--doc" in r.stdout and b"--wait" in r.stdout and b"Exit codes" in r.stdout, "submit --help names its options and the exit codes")
r = run("help", "frobnicate")
check(r.returncode == 1 and b"unknown command" in r.stderr, "beian help frobnicate → 1, unknown command")
r = run("eval")
check(r.returncode == 1 and r.stdout.startswith(b"usage: beian eval"), "beian eval without a stage → usage, 1")

# --version on every binary: the project version from CMakeLists.txt and the commit when built
# from a git checkout.
version = re.search(r"project\(beian VERSION ([0-9.]+)", open(os.path.join(SRC, "CMakeLists.txt")).read()).group(1)
head = subprocess.run(["git", "-C", SRC, "rev-parse", "--short=7", "HEAD"], capture_output=True).stdout.decode().strip()
for b in ("beiand", "beian", "beian-gateway", "beian-quality", "beian-ocr", "beian-face"):
    r = subprocess.run([os.path.join(BIN, b), "--version"], capture_output=True, timeout=30)
    m = re.fullmatch(r"(\S+) ([0-9.]+)(?: \(git ([0-9a-f]+)(-dirty)?\))?\n", r.stdout.decode())
    check(r.returncode == 0 and m and m.group(1) == b and m.group(2) == version,
          "%s --version → '%s %s …', 0 (%r)" % (b, b, version, r.stdout))
    # The commit is the one configured from: HEAD unless commits came since the last configure.
    check(not head or (m.group(3) and len(m.group(3)) >= 7), "%s --version names the git commit" % b)
r = run("frobnicate")
check(r.returncode == 1 and b"unknown command" in r.stderr, "unknown command → 1")
r = run("submit", "--doc", "id-card:front=" + os.path.join(work, "missing.jpg"))
check(r.returncode == 1 and b"missing.jpg" in r.stderr, "missing file → 1, named on stderr")
r = run("submit", "--doc", "drivers-licence=" + img)
check(r.returncode == 1 and b"unknown document" in r.stderr, "unknown document type → 1")
r = run("submit", "--doc", "id-card:top=" + img)
check(r.returncode == 1, "unknown side → 1")
r = run("submit")
check(r.returncode == 1 and b"--doc" in r.stderr, "no documents → 1")
# Issue #11: a side the document does not have, a misspelt service: an error, not a default.
for doc in ("passport:back", "business-license:back", "domain-certificate:back"):
    r = run("submit", "--doc", doc + "=" + img)
    check(r.returncode == 1 and (doc.split(":")[0] + " has no back side").encode() in r.stderr,
          "%s → 1, 'has no back side'" % doc)
r = run("check", "--doc", "passport:back=" + img)
check(r.returncode == 1 and b"passport has no back side" in r.stderr, "check: passport:back → 1")
keys = os.path.join(work, "keys")
r = run("keygen", "w1", "--dir", keys, "--services", "beian.qualty")
check(r.returncode == 1 and b"beian.qualty" in r.stderr and b"beian.quality, beian.ocr, beian.face" in r.stderr
      and not os.path.exists(os.path.join(keys, "w1.key")),
      "keygen --services beian.qualty → 1, naming it and the valid services, no key written")
r = run("keygen", "w2", "--dir", keys, "--services", "beian.quality,")
check(r.returncode == 1, "keygen: an empty service name → 1")
r = run("keygen", "w3", "--dir", keys, "--services", "beian.quality,beian.ocr,beian.face")
check(r.returncode == 0 and os.path.exists(os.path.join(keys, "w3.key")), "keygen with valid services → 0")
r = run("-e", "ipc://%s/nobody.sock" % work, "-t", "1", "submit", "--doc", "id-card=" + img)
check(r.returncode == 2 and r.stdout == b"", "unreachable broker → 2, nothing on stdout")
# Issue #11: a socket file that does not exist is named at once, not a 30 s wait for "no answer".
missing = os.path.join(work, "var", "beiand.sock")
for cmd in (["submit", "--doc", "id-card=" + img, "--key", "k1"], ["status", "0" * 32], ["result", "0" * 32, "--wait"]):
    t0 = time.time()
    r = run("-e", "ipc://" + missing, "-t", "30", *cmd)
    check(r.returncode == 2 and b"endpoint_missing" in r.stderr and missing.encode() in r.stderr and time.time() - t0 < 10,
          "beian %s: a missing ipc socket → 2 in %.1f s, naming %s (%r)" % (cmd[0], time.time() - t0, missing, r.stderr[-160:]))
r = subprocess.run([beian, "-t", "30", "status", "0" * 32], capture_output=True, timeout=60, cwd=work,
                   env={k: v for k, v in os.environ.items() if k != "BEIAN_ENDPOINT"})
check(r.returncode == 2 and b"endpoint_missing: var/beiand.sock does not exist" in r.stderr,
      "the default endpoint's missing socket is named too (%r)" % r.stderr[-120:])
r = run("status", "not-an-id")
check(r.returncode == 1, "malformed job id → 1")

st = Stack(heartbeat=200, attempts=2)
try:
    for s in ("beian.quality", "beian.ocr", "beian.face"):
        st.worker(s, supervise=True)
    r = run("-e", st.ep, "submit", "--doc", "id-card=" + img, "--json")
    ack = json.loads(r.stdout)
    check(r.returncode == 0 and len(ack["job"]) == 32, "submit without --wait prints the acknowledgement")
    r = run("-e", st.ep, "result", ack["job"], "--wait")
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "done", "result --wait → 0 and the document")
    r = run("-e", st.ep, "status", ack["job"])
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "done", "status → 0")
    r = run("-e", st.ep, "status", "0" * 32)
    check(r.returncode == 1, "status of an unknown job → 1")
    poison = os.path.join(work, "poison.jpg")
    open(poison, "wb").write(b"CRASH")
    r = run("-e", st.ep, "submit", "--doc", "id-card=" + poison, "--wait", "--json", timeout=120)
    res = json.loads(r.stdout)
    check(r.returncode == 3 and res["status"] == "failed", "a failed job → 3, with its result on stdout")
    # Issue #14: cancelling a finished job is not "job failed" (3): nothing to stop, its status on
    # stdout, "already finished" on stderr, 0.
    r = run("-e", st.ep, "cancel", ack["job"])
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "done" and b"already finished" in r.stderr,
          "cancelling a finished job → 0, its status, 'already finished' (rc %d, %r)" % (r.returncode, r.stderr[-100:]))

    # beian list: the tenant's applications, newest first, filtered and paged (beian.list).
    r = run("-e", st.ep, "list", "--json")
    jobs = json.loads(r.stdout)["jobs"]
    check(r.returncode == 0 and len(jobs) == 2 and jobs[0]["job"] == res["job"] and jobs[1]["job"] == ack["job"]
          and r.stderr == b"", "list --json → both jobs, newest first, nothing on stderr")
    r = run("-e", st.ep, "list", "--status", "failed")
    check(r.returncode == 0 and [j["job"] for j in json.loads(r.stdout)["jobs"]] == [res["job"]]
          and ("%s  failed" % res["job"]).encode() in r.stderr, "list --status failed → the failed job, a table on stderr")
    r = run("-e", st.ep, "list", "--limit", "1")
    page = json.loads(r.stdout)
    check(r.returncode == 0 and len(page["jobs"]) == 1 and page["next"] and b"--cursor" in r.stderr, "list --limit 1 → one job and a cursor")
    r = run("-e", st.ep, "list", "--limit", "1", "--cursor", page["next"], "--json")
    check(r.returncode == 0 and [j["job"] for j in json.loads(r.stdout)["jobs"]] == [ack["job"]], "list --cursor → the next page")
    r = run("-e", st.ep, "list", "--tenant", "other", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["jobs"] == [], "list --tenant other → none of default's jobs")
    for bad, why in ((["--limit", "0"], b"--limit"), (["--limit", "x"], b"--limit"), (["--status", "finished"], b"bad_request")):
        r = run("-e", st.ep, "list", *bad)
        check(r.returncode == 1 and why in r.stderr and r.stdout == b"", "list %s → 1, %s" % (" ".join(bad), why.decode()))
    # Issue #11: an unknown profile or priority is refused by the broker; issue #12: so is a
    # misspelt form key (it used to come back as a warning in the result).
    r = run("-e", st.ep, "submit", "--doc", "id-card=" + img, "--profile", "acme", "--json")
    check(r.returncode == 1 and b"unknown_profile" in r.stderr, "submit --profile acme → 1, unknown_profile")
    r = run("-e", st.ep, "submit", "--doc", "id-card=" + img, "--priority", "5", "--json")
    check(r.returncode == 1 and b"options.priority" in r.stderr, "submit --priority 5 → 1, naming options.priority")
    nmae = os.path.join(work, "nmae.json")
    json.dump({"nmae": "张三", "id_number": "11010519491231002X"}, open(nmae, "w"))
    r = run("-e", st.ep, "submit", "--doc", "id-card=" + img, "--form", nmae, "--wait", "--json", timeout=120)
    check(r.returncode == 1 and b"form_invalid" in r.stderr and b"form.nmae" in r.stderr,
          "submit: form key nmae → 1, form_invalid naming form.nmae")
    r = run("check", "--doc", "id-card=" + img, "--form", nmae, "--json", timeout=120)
    check(r.returncode == 1 and b"form_invalid" in r.stderr and b"form.nmae" in r.stderr,
          "check: the same error, the same exit code")

    # JSON-lines manifest with a form and a selfie; a bad line is reported, the rest runs.
    form = os.path.join(work, "form.json")
    json.dump({"name": "张三"}, open(form, "w"))
    with open(os.path.join(work, "apps.jsonl"), "w") as f:
        f.write(json.dumps({"id": "a1", "documents": ["id-card:front=card.jpg", "id-card:back=card.jpg"], "form": "form.json"}) + "\n")
        f.write(json.dumps({"id": "a2", "documents": ["passport=card.jpg"], "selfie": "card.jpg"}) + "\n")
        f.write(json.dumps({"id": "a3", "documents": ["passport=nope.jpg"]}) + "\n")
    out = os.path.join(work, "out")
    r = run("-e", st.ep, "batch", os.path.join(work, "apps.jsonl"), "--out", out, "--window", "2", timeout=120)
    check(r.returncode == 1 and re.search(rb"bad input\s+1\n", r.stderr), "batch: one bad application → 1, reported in the summary")
    jsons = sorted(n for n in os.listdir(out) if n.endswith(".json"))
    a3 = json.load(open(os.path.join(out, "a3.json")))
    check(jsons == ["a1.json", "a2.json", "a3.json"] and a3["status"] == "input_error"
          and a3["error"]["code"] == "file_unreadable" and a3["application_id"] == "a3",
          "batch wrote a result per good application and an input_error record (code file_unreadable) for the bad one")
    check(all(json.load(open(os.path.join(out, n)))["application_id"] == n[:-5] for n in jsons),
          "every result JSON carries its application id")
    check({"report.html", "report.csv"} <= set(os.listdir(out)), "batch wrote report.html and report.csv")
    check(re.search(rb"applications\s+3\n", r.stderr) and b"pass" in r.stderr, "batch prints a summary table")
    check(b"done a1" in r.stderr, "plain progress lines when stderr is not a terminal")

    # Manifest paths stay inside the manifest's folder (issue #11, bug 6): absolute paths, '..'
    # and symbolic links out are refused per entry (path_outside_manifest), the rest runs, and
    # nothing outside is read or uploaded unless the operator passes --allow-outside.
    import hashlib
    mdir = os.path.join(work, "agency")
    os.makedirs(os.path.join(mdir, "sub"))
    open(os.path.join(mdir, "inside.jpg"), "wb").write(b"inside bytes")
    secret = os.path.join(work, "secret.jpg")
    secret_bytes = b"SECRET outside the manifest folder"
    open(secret, "wb").write(secret_bytes)
    json.dump({"name": "outside"}, open(os.path.join(work, "outside-form.json"), "w"))
    os.symlink(secret, os.path.join(mdir, "link.jpg"))
    os.symlink(work, os.path.join(mdir, "up"))  # a directory link out of the folder
    apps = [
        ("p1", {"documents": ["id-card:front=inside.jpg"]}),
        ("p2", {"documents": ["id-card:front=sub/../inside.jpg"]}),  # '..' that stays inside is fine
        ("x1", {"documents": ["id-card:front=../secret.jpg"]}),
        ("x2", {"documents": ["id-card:front=" + secret]}),
        ("x3", {"documents": ["id-card:front=link.jpg"]}),
        ("x4", {"documents": ["id-card:front=up/secret.jpg"]}),
        ("x5", {"documents": ["passport=inside.jpg"], "selfie": "../secret.jpg"}),
        ("x6", {"documents": ["passport=inside.jpg"], "form": "../outside-form.json"}),
    ]
    with open(os.path.join(mdir, "apps.jsonl"), "w") as f:
        for i, a in apps:
            f.write(json.dumps(dict(a, id=i)) + "\n")
    secret_sha = hashlib.sha256(secret_bytes).hexdigest()
    spool = os.path.join(st.dir, "spool")
    out = os.path.join(work, "out-confined")
    r = run("-e", st.ep, "batch", os.path.join(mdir, "apps.jsonl"), "--out", out, timeout=120)
    err = r.stderr.decode()
    recs = {n[:-5]: json.load(open(os.path.join(out, n))) for n in os.listdir(out) if n.endswith(".json")}
    check(r.returncode == 1 and sorted(i for i, x in recs.items() if x["status"] == "done") == ["p1", "p2"]
          and all(recs[x]["error"]["code"] == "path_outside_manifest" for x in ("x1", "x2", "x3", "x4", "x5", "x6")),
          "batch: entries with paths outside the manifest's folder are skipped (input_error records), the others run → 1")
    check(all(re.search(r"batch: %s: bad application \(path_outside_manifest\), skipped" % x, err)
              for x in ("x1", "x2", "x3", "x4", "x5", "x6")),
          "each refused entry is reported with path_outside_manifest (absolute, '..', file and directory links, selfie, form)")
    check(re.search(r"bad input\s+6\n", err) and re.search(r"of which\s+6\s+path_outside_manifest", err),
          "the summary counts them")
    check(not os.path.exists(os.path.join(spool, secret_sha)), "the file outside was never uploaded")
    out = os.path.join(work, "out-allowed")
    r = run("-e", st.ep, "batch", os.path.join(mdir, "apps.jsonl"), "--out", out, "--allow-outside", timeout=120)
    check(r.returncode == 0 and len([n for n in os.listdir(out) if n.endswith(".json")]) == len(apps)
          and b"path_outside_manifest" not in r.stderr,
          "--allow-outside: the operator opts in and every entry runs")
    check(os.path.exists(os.path.join(spool, secret_sha)), "--allow-outside: the file outside was submitted")
    r = run("batch", "--help")
    check(b"--allow-outside" in r.stdout, "batch --help documents --allow-outside")
finally:
    st.close()
print("all CLI checks passed")
