"""Running it for real (issue #14): `cmake --install` puts binaries, workers, models, data,
configuration and systemd units in their places; `cpack -G DEB` makes a Debian package whose
contents, control fields and maintainer scripts are checked with dpkg-deb, which lintian finds
no error in, and whose units `systemd-analyze verify` accepts."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, SRC, check, fail, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "beian-gateway", "beian-quality", "beian-ocr", "beian-face")
for tool in ("cpack", "dpkg-deb"):
    if not shutil.which(tool):
        print("SKIP: no %s" % tool)
        sys.exit(77)
version = re.search(r"project\(beian VERSION ([0-9.]+)", open(os.path.join(SRC, "CMakeLists.txt")).read()).group(1)
work = tempfile.mkdtemp(prefix="beian-package-")


def run(*args, **kw):
    r = subprocess.run(list(args), capture_output=True, timeout=900, **kw)
    if r.returncode != 0:
        fail("%s: %s" % (" ".join(args), (r.stdout + r.stderr).decode()[-2000:]))
    return r


# cmake --install, staged with DESTDIR: the prefix's bin/, libexec/beian/, share/beian/; the
# configuration and the units where Debian's systemd looks, whatever the prefix.
dest = os.path.join(work, "dest")
run("cmake", "--install", BIN, "--prefix", "/opt/beian", env=dict(os.environ, DESTDIR=dest))
for p in ("opt/beian/bin/beiand", "opt/beian/bin/beian", "opt/beian/bin/beian-gateway",
          "opt/beian/libexec/beian/beian-quality", "opt/beian/libexec/beian/beian-ocr", "opt/beian/libexec/beian/beian-face",
          "opt/beian/share/beian/models/ppocr_det.onnx", "opt/beian/share/beian/data/regions.tsv",
          "opt/beian/share/beian/data/layouts.json", "etc/beian/beian.json", "lib/systemd/system/beiand.service",
          "lib/systemd/system/beian-worker@.service", "lib/systemd/system/beian-gateway.service",
          "opt/beian/lib/sysusers.d/beian.conf"):
    check(os.path.exists(os.path.join(dest, p)), "cmake --install: /%s" % p)
r = run(os.path.join(dest, "opt/beian/libexec/beian/beian-ocr"), "--version")
check(r.stdout.decode().startswith("beian-ocr %s" % version), "the installed worker runs: %r" % r.stdout)

# The Debian package.
deb_dir = os.path.join(work, "deb")
run("cpack", "-G", "DEB", "-B", deb_dir, "--config", os.path.join(BIN, "CPackConfig.cmake"), cwd=BIN)
debs = [f for f in os.listdir(deb_dir) if f.endswith(".deb")]
check(debs == ["beian_%s_amd64.deb" % version] or (len(debs) == 1 and debs[0].startswith("beian_%s_" % version)),
      "cpack -G DEB made %s" % debs)
deb = os.path.join(deb_dir, debs[0])
listing = run("dpkg-deb", "--contents", deb).stdout.decode().splitlines()
entries = {}
for line in listing:
    f = line.split()
    entries[f[5].lstrip(".")] = (f[0], f[1])
want = {
    "/usr/bin/beiand": "x", "/usr/bin/beian": "x", "/usr/bin/beian-gateway": "x",
    "/usr/libexec/beian/beian-quality": "x", "/usr/libexec/beian/beian-ocr": "x", "/usr/libexec/beian/beian-face": "x",
    "/etc/beian/beian.json": "", "/lib/systemd/system/beiand.service": "", "/lib/systemd/system/beian-worker@.service": "",
    "/lib/systemd/system/beian-gateway.service": "", "/usr/lib/sysusers.d/beian.conf": "",
    "/usr/share/beian/models/ppocr_det.onnx": "", "/usr/share/beian/models/mrz.traineddata": "",
    "/usr/share/beian/models/fr_feature.onnx": "", "/usr/share/beian/data/regions.tsv": "",
    "/usr/share/beian/data/layouts.json": "", "/usr/share/doc/beian/copyright": "", "/usr/share/doc/beian/changelog.gz": "",
}
for path, mode in want.items():
    got = entries.get(path)
    check(got and got[1] == "root/root" and (got[0] == "-rwxr-xr-x" if mode else got[0] == "-rw-r--r--"),
          "dpkg-deb --contents: %s %s root/root (%s)" % (path, "0755" if mode else "0644", got))
check(not [p for p in entries if p.startswith("/usr/local") or "/build" in p or p.startswith("/home")],
      "nothing under /usr/local, no build paths")
fields = run("dpkg-deb", "-f", deb).stdout.decode()
depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
check(re.search(r"^Package: beian$", fields, re.M) and re.search(r"^Version: %s$" % re.escape(version), fields, re.M),
      "control: Package beian, Version %s" % version)
check(all(d in depends for d in ("libc6", "libzmq5", "libczmq4", "libmicrohttpd12", "libtesseract5", "adduser")),
      "control: Depends from the shared libraries (dpkg-shlibdeps) and adduser: %s" % depends[:120])
ctl = os.path.join(work, "control")
run("dpkg-deb", "-e", deb, ctl)
check(open(os.path.join(ctl, "conffiles")).read().split() == ["/etc/beian/beian.json"], "conffiles: /etc/beian/beian.json")
check(os.stat(os.path.join(ctl, "postinst")).st_mode & 0o777 == 0o755 and "systemd-sysusers beian.conf"
      in open(os.path.join(ctl, "postinst")).read(), "postinst (0755) creates the beian user")

root = os.path.join(work, "root")
run("dpkg-deb", "-x", deb, root)
r = run(os.path.join(root, "usr/bin/beiand"), "--version")
check(r.stdout.decode().startswith("beiand %s" % version), "the packaged beiand runs: %r" % r.stdout)
units = {n: open(os.path.join(root, "lib/systemd/system", n)).read()
         for n in ("beiand.service", "beian-worker@.service", "beian-gateway.service")}
for n, u in units.items():
    for line in ("Restart=always", "User=beian", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "CapabilityBoundingSet="):
        check(re.search(r"^%s$" % re.escape(line), u, re.M), "%s: %s" % (n, line))
check("StateDirectory=beian" in units["beiand.service"] and "--dir /var/lib/beian" in units["beiand.service"],
      "beiand keeps its state in the StateDirectory /var/lib/beian")
check("ExecStart=/usr/libexec/beian/beian-%i " in units["beian-worker@.service"], "beian-worker@quality|ocr|face runs beian-%i")
check(open(os.path.join(root, "usr/lib/sysusers.d/beian.conf")).read().splitlines()[-1].split()[:2] == ["u", "beian"],
      "sysusers.d: the beian user")

if shutil.which("lintian"):
    r = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True, timeout=600)
    out = r.stdout.decode()
    errors = [line for line in out.splitlines() if line.startswith("E:")]
    check(not errors, "lintian: no errors (%s)" % errors)
    for line in out.splitlines():
        print("   lintian:", line)
else:
    fail("lintian is not installed (scripts/debian-packages.txt; scripts/setup.sh installs it)")

# systemd-analyze verify on the units as packaged; the commands pointed into the extracted tree
# (verify wants them to exist), the template as an instance.
if shutil.which("systemd-analyze"):
    udir = os.path.join(work, "units")
    os.makedirs(udir)
    for n, u in units.items():
        with open(os.path.join(udir, n.replace("@.", "@ocr.")), "w") as f:
            f.write(u.replace("=/usr/", "=%s/usr/" % root))
    r = subprocess.run(["systemd-analyze", "verify"] + sorted(os.path.join(udir, n) for n in os.listdir(udir)),
                       capture_output=True, timeout=120)
    check(r.returncode == 0 and not r.stderr.strip(), "systemd-analyze verify: clean (%r)" % r.stderr.decode()[-600:])
else:
    print("systemd-analyze not available: units not verified")
shutil.rmtree(work)
print("all package checks passed")
