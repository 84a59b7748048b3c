"""One adapter per external tool or service; tasks and the stack call these, never a process."""
