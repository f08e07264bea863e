import sys

from regflow.tools._cli import main

sys.exit(main())
