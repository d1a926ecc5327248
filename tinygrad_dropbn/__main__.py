"""``python -m tinygrad_dropbn``: the same command line as ``tinygrad-dropbn``."""
import sys

from .cli import main

sys.exit(main())
