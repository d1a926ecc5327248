"""``python -m tinygrad_dropbn.lab EXPERIMENT|all``."""
import sys

from .cli import main

sys.exit(main())
