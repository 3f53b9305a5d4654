"""Allow ``python -m dasr`` (and ``torchrun -m dasr``) as well as the ``dasr`` console script."""

from dasr.cli.main import main

raise SystemExit(main())
