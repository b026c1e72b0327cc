"""A private PostgreSQL server for the integration tests (docs/TESTING.md):

    with bn_pg.PgCluster() as pg:
        ... beiand --store pg.url ...
        pg.restart()                 # a crash (immediate shutdown) and a start on the same URL
        pg.psql("SELECT count(*) FROM jobs")

scripts/pg-cluster.sh does the work: a cluster in a temporary directory, on a free 127.0.0.1 port,
as the `postgres` user when the test runs as root (CI). The cluster is stopped and its directory
removed when the block ends, also on an exception or a SIGTERM of the test; one left by a test
that was killed outright (SIGKILL, a ctest timeout) is removed by the next PgCluster.

Without the PostgreSQL server binaries a test skips (77), except in CI (CI set), where it fails:
there scripts/setup.sh has installed them, so their absence is a bug."""
import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile

SRC = os.environ.get("BEIAN_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SCRIPT = os.path.join(SRC, "scripts", "pg-cluster.sh")
# The pid of the test that owns a cluster is in its directory's name: the sweep needs no file
# that a half-created directory would lack.
PREFIX = "beian-pg-"

_live = []


def _env():
    """Our environment without the PG* variables (PGHOST, PGUSER, PGOPTIONS…) that would steer
    the clients elsewhere; PG_BIN stays."""
    return {k: v for k, v in os.environ.items() if not (k.startswith("PG") and k[2:3].isupper())}


def pg_bin():
    """The server's binary directory as scripts/pg-cluster.sh picks it, or None."""
    if os.environ.get("PG_BIN"):
        dirs = [os.environ["PG_BIN"]]
    else:
        dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda d: [int(x) for x in d.split("/")[-2].split(".") if x.isdigit()], reverse=True)
        if shutil.which("pg_ctl"):
            dirs.append(os.path.dirname(shutil.which("pg_ctl")))
    for d in dirs:
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres", "psql")):
            return d
    return None


def require_postgres():
    """Skip (77) when this machine cannot run a test cluster; fail in CI."""
    why = None
    if pg_bin() is None:
        why = "the PostgreSQL server binaries (Debian's postgresql; set PG_BIN elsewhere) are missing"
    elif os.geteuid() == 0:
        user = os.environ.get("BEIAN_PG_USER", "postgres")
        try:
            pwd.getpwnam(user)
        except KeyError:
            why = "running as root and there is no user '%s' to run PostgreSQL as" % user
    if why is None:
        return
    if os.environ.get("CI", "") not in ("", "0", "false"):
        print("FAIL: %s; scripts/setup.sh installs them" % why)
        sys.exit(1)
    print("SKIP: %s; scripts/setup.sh installs them" % why)
    sys.exit(77)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _sweep():
    """Stop and remove the clusters of tests that are gone."""
    for d in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*-*")):
        pid = d[len(os.path.join(tempfile.gettempdir(), PREFIX)):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            subprocess.run(["bash", SCRIPT, "stop", d], env=_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            shutil.rmtree(d, ignore_errors=True)


def _sigterm(signum, frame):
    sys.exit(128 + signum)


class PgCluster:
    """A started cluster with a database `beian`: .url (postgres://USER@127.0.0.1:PORT/beian),
    .dir, .restart(), .psql(sql), .close() (what leaving the with block does)."""

    def __init__(self):
        require_postgres()
        _sweep()
        self.dir = tempfile.mkdtemp(prefix="%s%d-" % (PREFIX, os.getpid()))
        self.bin = pg_bin()
        # SIGTERM (a killed test, ctest's stop) exits through SystemExit, which unwinds the with
        # blocks and runs atexit: the clusters are stopped. Only where nobody handles it already.
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _sigterm)
        _live.append(self)
        try:
            self.url = self._script("start")
        except BaseException:
            self.close()
            raise

    def _script(self, cmd):
        r = subprocess.run(["bash", SCRIPT, cmd, self.dir], env=dict(_env(), PG_BIN=self.bin),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("scripts/pg-cluster.sh %s %s failed:\n%s" % (cmd, self.dir, r.stderr))
        return r.stdout.strip()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def restart(self):
        """Immediate shutdown (what a crash leaves: recovery replays the WAL) and a start on the
        same port, so .url stays valid."""
        self._script("restart")

    def psql(self, sql):
        """Run sql (one or more statements) as the superuser in database beian: the output,
        unaligned, without headers ('|' between columns). Raises RuntimeError on an error."""
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                            "-d", self.url, "-c", sql], env=_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (sql, r.stderr.strip()))
        return r.stdout.rstrip("\n")

    def close(self):
        if self.dir is None:
            return
        try:
            self._script("stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            if self in _live:
                _live.remove(self)


@atexit.register
def _close_all():
    for c in list(_live):
        try:
            c.close()
        except RuntimeError as e:
            print(e, file=sys.stderr)
