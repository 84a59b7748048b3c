"""A small caching Go module proxy (the GOPROXY protocol and the checksum database's proxy
endpoints) for image builds, whose only network is this proxy."""
