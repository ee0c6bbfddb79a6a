"""``python -m oidc_bridge`` is the ``oidc-bridge`` command."""

from .cli import main

raise SystemExit(main())
