"""``python -m customer_health``: the same command line as ``customer-health``."""

import sys

from customer_health.cli import main

sys.exit(main())
