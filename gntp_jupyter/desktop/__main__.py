"""``python -m gntp_jupyter.desktop`` is ``gntp-receiver``."""

import sys

from .cli import main

sys.exit(main())
