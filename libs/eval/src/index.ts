// Public API of @unigrad/eval (filled by its issue).
