"""The embedded local stack: the services and mirrors seamline needs on an offline machine."""
