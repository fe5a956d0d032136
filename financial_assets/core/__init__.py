"""Domain-free building blocks: bar columns, errors, ticker names, trading calendars, the look-ahead guard, frame
stacking."""
