import sys

from regflow._cli import main

sys.exit(main())
