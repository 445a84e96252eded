"""A file's code metrics: `measure` counts them from the AST, `memo` remembers them by
content (in memory and in the store), so a review measures each content once."""
