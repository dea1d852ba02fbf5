// Public API of @unigrad/losses (filled by its issue).
