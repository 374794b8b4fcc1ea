from envcapsule.cli import main

raise SystemExit(main())
