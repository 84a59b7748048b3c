"""What cache keys are made of, and the lock that serializes two runs missing the same key."""
