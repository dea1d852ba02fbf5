// Public API of @unigrad/optimizers (filled by its issue).
