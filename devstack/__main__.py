"""`python -m devstack COMMAND`: the launcher (devstack.launcher)."""

import sys

from devstack.launcher import main

sys.exit(main())
