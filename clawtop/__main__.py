import sys

from clawtop.cli import main

sys.exit(main())
