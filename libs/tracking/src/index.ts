// Public API of @unigrad/tracking (filled by its issue).
