"""Configuring is idempotent (issue #14): configuring a tree again writes the same compile flags,
so the next build has nothing to do (`make run` after `make test` used to rebuild everything:
CMake moved libzmq's `-isystem /usr/include/mit-krb5` from the include directories to the
compile options on every configure but the first). And a checkout copied with its build tree
configures (scripts/configure.sh drops a cache that names another source directory)."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import SRC, check, fail  # noqa: E402

if not shutil.which("cmake"):
    print("SKIP: no cmake")
    sys.exit(77)
work = tempfile.mkdtemp(prefix="beian-configure-")
# The sources a configure and a build of the core library read (not the models or test data).
src = os.path.join(work, "a")
os.makedirs(src)
for name in ("CMakeLists.txt", "Makefile", "bench", "cli", "daemon", "gateway", "include", "lib", "scripts",
             "tests", "workers", "packaging", "etc", "LICENSE"):
    p = os.path.join(SRC, name)
    if os.path.isdir(p):
        shutil.copytree(p, os.path.join(src, name), symlinks=True,
                        ignore=shutil.ignore_patterns("data", "__pycache__"))
    elif os.path.exists(p):
        shutil.copy2(p, src)


def configure(top):
    r = subprocess.run([os.path.join(top, "scripts", "configure.sh"), os.path.join(top, "build"),
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], capture_output=True, timeout=300)
    if r.returncode != 0:
        fail("configure %s: %s" % (top, r.stderr.decode()[-2000:]))
    return r


def flags(top):
    return {os.path.relpath(f, top): open(f).read()
            for f in sorted(glob.glob(os.path.join(top, "build", "CMakeFiles", "*.dir", "flags.make")))}


def build(top):
    r = subprocess.run(["cmake", "--build", os.path.join(top, "build"), "-j2", "--target", "tw_worker"],
                       capture_output=True, timeout=900)
    if r.returncode != 0:
        fail("build: " + r.stdout.decode()[-2000:])
    return r.stdout.decode()


configure(src)
first = flags(src)
check(len(first) > 10 and any("mit-krb5" in f for f in first.values()), "first configure: %d targets' flags" % len(first))
out = build(src)
check("Building C object" in out, "first build compiles")
configure(src)
second = flags(src)
changed = [k for k in first if first[k] != second.get(k)]
check(not changed, "a second configure writes the same compile flags (changed: %s)" % changed[:3])
out = build(src)
check("Building" not in out and "Linking" not in out, "the build after a second configure does nothing (%r)" % out[-300:])

# A new commit changes what --version prints: bn_version.c is recompiled, nothing else.
git = ["git", "-C", src, "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
if subprocess.run(git + ["init", "-q"]).returncode == 0:
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    configure(src)
    out = build(src)
    compiled = re.findall(r"Building C object (\S+)", out)
    check(compiled == ["CMakeFiles/beian_core.dir/lib/core/bn_version.c.o"],
          "after a commit only bn_version.c is compiled again (%s)" % compiled[:4])
    shutil.rmtree(os.path.join(src, ".git"))

# A copied checkout, build tree and all: plain cmake refuses the stale cache; configure.sh
# starts that tree afresh and the copy builds.
copy = os.path.join(work, "b")
shutil.copytree(src, copy, symlinks=True)
r = subprocess.run(["cmake", "-S", copy, "-B", os.path.join(copy, "build")], capture_output=True, timeout=300)
check(r.returncode != 0, "plain cmake on the copy fails on the stale cache (the trap)")
r = configure(copy)
check(b"configuring afresh" in r.stderr, "configure.sh names the stale cache and starts afresh")
home = [line for line in open(os.path.join(copy, "build", "CMakeCache.txt")) if line.startswith("CMAKE_HOME_DIRECTORY:")]
check(home == ["CMAKE_HOME_DIRECTORY:INTERNAL=%s\n" % os.path.realpath(copy)], "the copy's cache names the copy")
configure(copy)
check(flags(copy) and b"afresh" not in configure(copy).stderr, "the copy's own cache is kept on the next configure")
shutil.rmtree(work)
print("all configure checks passed")
