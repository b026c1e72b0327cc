"""The PostgreSQL test harness itself (tests/bn_pg.py, scripts/pg-cluster.sh; docs/TESTING.md):
a private cluster answers on its URL, runs as a user that is not root (CI runs as root),
keeps fsync and synchronous_commit on, keeps committed rows through a crash-like restart on the
same URL, and leaves no server, port or directory behind: after the with block, after an
exception, after a SIGTERM of the test, and (at the next start) after a SIGKILL.
Skips (77) without the PostgreSQL server binaries, fails in CI."""
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bn_pg  # noqa: E402

bn_pg.require_postgres()


def check(cond, msg):
    # beian_it's, without its ZeroMQ import: the harness is tested on its own.
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)
    print("ok -", msg)


def port_of(url):
    m = re.fullmatch(r"postgres://([a-z_][a-z0-9_-]*)@127\.0\.0\.1:(\d+)/beian", url)
    check(m is not None, "the URL has the documented form: %s" % url)
    return m.group(1), int(m.group(2))


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def running(pid):
    """Whether pid is a live process (a zombie nobody reaped is not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def postmaster(pg):
    with open(os.path.join(pg.dir, "data", "postmaster.pid")) as f:
        return int(f.readline())


def gone(d, port, pid, how):
    check(not os.path.exists(d), "%s: the cluster's directory is removed" % how)
    check(not port_open(port), "%s: nothing listens on its port any more" % how)
    for _ in range(50):  # the postmaster may still be exiting when its port is closed
        if not running(pid):
            break
        time.sleep(0.1)
    check(not running(pid), "%s: the server process has exited" % how)


with bn_pg.PgCluster() as pg:
    d = pg.dir
    user, port = port_of(pg.url)
    check(port_open(port), "the server listens on 127.0.0.1:%d" % port)
    check(pg.psql("SELECT 1") == "1", "SELECT 1 over the URL")
    check(pg.psql("SELECT current_user, current_database()") == "%s|beian" % user,
          "connected as the URL's role to database beian")

    pid = postmaster(pg)
    uid = os.stat("/proc/%d" % pid).st_uid
    check(uid != 0, "the server does not run as root (uid %d)" % uid)
    if os.geteuid() == 0:
        check(pwd.getpwuid(uid).pw_name == user == os.environ.get("BEIAN_PG_USER", "postgres"),
              "run as root, the server runs as the postgres user and the URL names it")
    else:
        check(uid == os.geteuid(), "run as a user, the server runs as that user")
    backend = int(pg.psql("SELECT pg_backend_pid()"))
    check(os.stat("/proc/%d" % backend).st_uid == uid, "its backends run as the same user")

    for name in ("fsync", "synchronous_commit", "full_page_writes"):
        check(pg.psql("SHOW %s" % name) == "on", "%s is on" % name)
    check(pg.psql("SHOW listen_addresses") == "127.0.0.1", "it listens on 127.0.0.1 only")
    check(pg.psql("SHOW unix_socket_directories") == os.path.realpath(d),
          "its unix socket is in its own directory")

    pg.psql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    pg.psql("BEGIN; INSERT INTO t VALUES (3, 'never committed')")  # psql exits: rolled back
    url = pg.url
    pg.restart()
    check(pg.url == url, "restart keeps the URL")
    check(postmaster(pg) != pid and not running(pid), "restart replaced the server process")
    with open(os.path.join(d, "server.log"), errors="replace") as f:
        log = f.read()
    check("was interrupted" in log and "redo starts" in log,
          "the restart was a crash: the new server replayed the WAL")
    check(pg.psql("SELECT id, v FROM t ORDER BY id") == "1|a\n2|b", "committed rows survive the restart")

    try:
        pg.psql("SELECT * FROM no_such_table")
        check(False, "psql() raises on an SQL error")
    except RuntimeError as e:
        check("no_such_table" in str(e), "psql() raises on an SQL error, with the server's message")
    pid = postmaster(pg)
gone(d, port, pid, "after the with block")

try:
    with bn_pg.PgCluster() as pg:
        d, (_, port), pid = pg.dir, port_of(pg.url), postmaster(pg)
        raise KeyError("boom")
except KeyError:
    pass
gone(d, port, pid, "after an exception")

# A test process that gets SIGTERM, then one that gets SIGKILL (cleaned up by the next PgCluster).
child = """
import os, sys, time
sys.path.insert(0, %r)
import bn_pg
with bn_pg.PgCluster() as pg:
    print(pg.dir, pg.url, open(os.path.join(pg.dir, "data", "postmaster.pid")).readline().strip(), flush=True)
    time.sleep(600)
""" % os.path.dirname(os.path.abspath(__file__))
for sig in (signal.SIGTERM, signal.SIGKILL):
    p = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    d, url, pid = p.stdout.readline().split()
    _, port = port_of(url)
    check(port_open(port), "a child test's cluster is up")
    p.send_signal(sig)
    p.wait(60)
    if sig == signal.SIGKILL:
        check(os.path.isdir(d), "SIGKILL leaves the child's cluster behind")
        with bn_pg.PgCluster() as pg:
            check(pg.psql("SELECT 1") == "1", "the next cluster starts")
    gone(d, port, int(pid), "after a %s of the test" % signal.Signals(sig).name)

print("PASS")
