// Public API of @unigrad/data (filled by its issue).
