#!/usr/bin/python3
"""The application form's schema (docs/form.schema.json) and the C validator agree (issue 12).

The schema is the published contract; bn_job_form_check (lib/core/bn_job.c) is what beiand and
`beian check` run. For a set of good and bad forms, Debian's python3-jsonschema (draft 2020-12)
and `beian check` must give the same answer, and a bad form must be named by its path in the
C error. The key lists must be the same. Then beiand refuses a bad form at submit: 400
form_invalid before anything is queued.

Skips (77) when beian/beiand are not built or python3-jsonschema is missing.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from beian_it import BIN, SRC, MdpClient, Stack, check, require_binaries  # noqa: E402

require_binaries("beian", "beiand")
try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed (scripts/debian-packages.txt)")
    sys.exit(77)

schema = json.load(open(os.path.join(SRC, "docs", "form.schema.json"), encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
check(schema["$schema"].endswith("/draft/2020-12/schema") and schema["additionalProperties"] is False,
      "draft 2020-12, additionalProperties false")

GOOD = [
    {},
    {"name": "张三", "id_number": "11010519491231002X"},
    {"name": "ANNA MARIA ERIKSSON", "id_number": "E12345678"},
    {"name": "张" * 128},
    {"id_number": "110105 19491231 002x"},
    {"company_name": "北京某某科技有限公司", "credit_code": "91350100M000100Y43", "entity_type": "有限责任公司",
     "address": "北京市海淀区某某路1号", "name": "张三"},
    {"domain": "example.com", "province": "北京"},
    {"domain": "例子.中国"},
    {"domain": "www.example.com.cn", "entity_type": "个人"},
    {"credit_code": "110108000000016"},
]
BAD = [  # (form, the path the C error must name)
    ({"nmae": "张三"}, "form.nmae"),
    ({"name": "张三", "Name": "张三"}, "form.Name"),
    ({"company": "x"}, "form.company"),
    ({"name": 5}, "form.name"),
    ({"name": None}, "form.name"),
    ({"name": ["张三"]}, "form.name"),
    ({"name": ""}, "form.name"),
    ({"name": "张" * 129}, "form.name"),
    ({"id_number": "-110105"}, "form.id_number"),
    ({"id_number": "11010519491231002X!"}, "form.id_number"),
    ({"id_number": "1" * 33}, "form.id_number"),
    ({"credit_code": "9135-0100"}, "form.credit_code"),
    ({"entity_type": {"zh": "企业"}}, "form.entity_type"),
    ({"domain": "https://example.com"}, "form.domain"),
    ({"domain": "example.com/path"}, "form.domain"),
    ({"domain": "example.com:8080"}, "form.domain"),
    ({"domain": "localhost"}, "form.domain"),
    ({"domain": "a..com"}, "form.domain"),
    ({"domain": ".com"}, "form.domain"),
    ({"domain": "exa mple.com"}, "form.domain"),
    ({"province": ""}, "form.province"),
    ({"province": 11}, "form.province"),
]

work = tempfile.mkdtemp(prefix="beian-form-")
img = os.path.join(work, "card.jpg")
open(img, "wb").write(b"not an image")  # the form is checked first; a good one runs on this quickly


def c_check(form):
    """(valid, error text) from `beian check`, the C validator."""
    path = os.path.join(work, "form.json")
    json.dump(form, open(path, "w", encoding="utf-8"), ensure_ascii=False)
    r = subprocess.run([os.path.join(BIN, "beian"), "check", "--doc", "id-card=" + img, "--form", path, "--json"],
                       capture_output=True, text=True, timeout=120)
    if "form_invalid" in r.stderr:
        check(r.returncode == 1, "form_invalid exits 1 (%s)" % r.stderr.strip()[:80])
        return False, r.stderr
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "done",
          "a valid form runs the check (exit %d, %s)" % (r.returncode, r.stderr.strip()[:200]))
    return True, ""


for form in GOOD:
    errs = [e.message for e in validator.iter_errors(form)]
    check(not errs, "schema accepts %s" % json.dumps(form, ensure_ascii=False)[:60])
    ok, err = c_check(form)
    check(ok, "C accepts %s" % json.dumps(form, ensure_ascii=False)[:60])
for form, path in BAD:
    check(not validator.is_valid(form), "schema refuses %s" % json.dumps(form, ensure_ascii=False))
    ok, err = c_check(form)
    check(not ok and ("beian check: form_invalid: %s" % path) in err, "C refuses it naming %s" % path)

# The same keys: the C error lists them.
ok, err = c_check({"nmae": "x"})
listed = re.search(r"the form's keys are ([a-z_, ]+) \(", err).group(1).split(", ")
check(listed == list(schema["properties"]), "C keys = schema properties, in order: %s" % listed)
for key in listed:  # each key alone, valid per the schema's own example above
    good = next(f for f in GOOD if key in f)
    check(c_check({key: good[key]})[0] and validator.is_valid({key: good[key]}), "key %s known to both" % key)

# The broker refuses it at submit, before anything is queued.
st = Stack()
cli = MdpClient(st.ep)
s, body = cli.submit([("id-card", "front", b"x")], form={"name": "张三", "nmae": "张三"})
check(s == "400" and body["error"]["code"] == "form_invalid" and body["error"]["message"].startswith("form.nmae:"),
      "beiand: a misspelt form key → 400 form_invalid naming form.nmae")
s, body = cli.submit([("id-card", "front", b"x")], form={"domain": "https://example.com"})
check(s == "400" and body["error"]["code"] == "form_invalid" and "form.domain" in body["error"]["message"],
      "beiand: a URL as the domain → 400 form_invalid")
s, body = cli.submit([("id-card", "front", b"x")], form={"name": "张三", "domain": "example.com", "province": "北京"},
                    timeout=30000)
check(s == "200" and "job" in body, "beiand: a good form is accepted (%s)" % s)
n = st.db().execute("select count(*) from jobs").fetchone()[0]
check(n == 1, "only the good submission was stored (%d job)" % n)
st.close()
print("it_form_schema: all passed")
