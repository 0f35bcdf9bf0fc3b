from orderdesk.cli import main

raise SystemExit(main())
