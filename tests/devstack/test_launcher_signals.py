"""The launcher stops on SIGINT even when a script started it in the background, where the shell starts it with
SIGINT ignored (and Python then installs no Ctrl-C handler of its own)."""

import signal
import subprocess
import sys
import textwrap

from tests.processes import ROOT

# The demo's supervising loop, without its servers: what is under test is how the launcher takes the signal.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    from devstack import launcher as devstack

    def supervise(args):
        try:
            print("ready", flush=True)
            while True:
                time.sleep(0.05)
        except (KeyboardInterrupt, devstack.Stop) as exc:
            print(f"stopped: {exc or 'SIGINT'}", flush=True)
            return 0

    devstack.COMMANDS["demo"] = supervise
    sys.exit(devstack.main(["demo"]))
    """
)


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a non-interactive shell does to its child


def test_sigint_stops_the_launcher_started_in_the_background():
    with subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint,
    ) as proc:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "stopped: SIGINT" in out
