"""``python -m oidc_bridge.wecom_sim [--host H] [--port P]``: the sample corp on loopback, until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from .server import SimulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m oidc_bridge.wecom_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--auto-approve", metavar="USERID", help="skip the chooser and log this person in")
    args = parser.parse_args(argv)
    sim = SimulatorServer(host=args.host, port=args.port, quiet=False)
    sim.auto_approve = args.auto_approve
    with sim:
        d = sim.directory
        print(f"WeCom simulator on {sim.base_url}", flush=True)
        print(f"  corp_id={d.corp_id} agent_id={d.agent_id} secret={d.secret}", flush=True)
        print("  use it as api_base, oauth_base and sso_base; Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
