"""The config system: one JSON5 file, a strict typed schema, includes, env substitution,
comment-preserving write-back and hot reload."""
