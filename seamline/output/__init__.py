"""What seamline prints: human progress on stderr, with secrets masked."""
