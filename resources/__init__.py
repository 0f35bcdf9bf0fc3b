"""Icons, styles and the example configuration shipped with OrderDesk."""
