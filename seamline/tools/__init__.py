"""External processes: the one runner that spawns them, their pins, how many at once."""
